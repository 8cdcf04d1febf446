// Fault tolerance comes from BullMQ: a worker killed with -9 mid-task leaves a stalled job that another worker
// retries, SIGTERM finishes the task in hand, and bad setups fail fast with a clear message.
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { Queue } from 'bullmq';
import { dedupJsonl } from '@gptlab/data';
import { QUEUE_NAME, checkReachable, redisConnection } from '../src/queue/protocol';
import { tmpDir } from './helpers';
import * as qh from './queue-helpers';

// Short locks so that a dead worker's task comes back within a few seconds (long enough for a loaded machine).
const FAST = ['--lock-ms', '3000', '--stalled-ms', '1000'];

qh.describeWithRedis('queued data pipeline: dead and stopping workers', () => {
  let redis: qh.RedisServer;
  const procs: qh.Spawned[] = [];
  const dir = tmpDir('queue-faults');
  let corpus: string;
  let expected: Buffer;
  const worker = (...extra: string[]) => {
    const w = qh.spawnTrain(['data', 'worker', '--queue', redis.url, ...FAST, ...extra]);
    procs.push(w);
    return w;
  };
  const dedup = (name: string) => {
    const q = qh.spawnTrain(qh.queuedDedupArgs(corpus, path.join(dir, name), redis.url, '--chunk-docs', '80', '--partitions', '2'));
    procs.push(q);
    return q;
  };
  /** A worker that pauses in each task, a queued dedup, and the id of the task the worker is holding. */
  const runUntilTaskStarts = async (pauseMs: string, out: string) => {
    const w = worker('--task-pause-ms', pauseMs);
    await w.waitFor(/waiting for tasks/);
    const q = dedup(out);
    await w.waitFor(/task (\S+) started/);
    return { w, q, taskId: /task (\S+) started/.exec(w.out())![1]! };
  };
  beforeAll(async () => {
    redis = await qh.startRedis();
    corpus = qh.writeDupCorpus(dir, 300);
    await dedupJsonl({ input: corpus, out: path.join(dir, 'local.jsonl') });
    expected = fs.readFileSync(path.join(dir, 'local.jsonl'));
  }, 90000);
  afterAll(async () => {
    await qh.killAll(procs);
    await redis?.stop();
  });

  test('a worker killed with -9 mid-task: the stalled task runs again on another worker, the output is unchanged', async () => {
    const { w: doomed, q, taskId } = await runUntilTaskStarts('5000', 'killed.jsonl');
    doomed.proc.kill('SIGKILL');
    expect(await doomed.exited).toBeNull();
    const rescuer = worker();
    await qh.expectExit0(q);
    expect(fs.readFileSync(path.join(dir, 'killed.jsonl'))).toEqual(expected);
    expect(rescuer.out()).toContain(`task ${taskId} started (attempt 2)`);
    const s = qh.spawnTrain(['data', 'status', '--queue', redis.url, '--json']);
    expect(await s.exited).toBe(0);
    const clean = JSON.parse(s.out()).runs[0].stages.find((x: { stage: string }) => x.stage === 'clean');
    expect(clean.retried).toBe(1);
    rescuer.proc.kill('SIGTERM');
    expect(await rescuer.exited).toBe(0);
  }, 120000);

  test('SIGTERM finishes the task in hand, then the worker exits 0', async () => {
    const { w: stopping, q, taskId } = await runUntilTaskStarts('1500', 'sigterm.jsonl');
    stopping.proc.kill('SIGTERM');
    expect(await stopping.exited).toBe(0);
    expect(stopping.out()).toMatch(/SIGTERM: finishing the current task/);
    expect(stopping.out()).toContain(`task ${taskId} done`);
    // nothing else was taken: the next worker does the rest, without retrying the finished task
    const next = worker();
    await qh.expectExit0(q);
    expect(fs.readFileSync(path.join(dir, 'sigterm.jsonl'))).toEqual(expected);
    expect(next.out()).not.toContain(`task ${taskId} started`);
    next.proc.kill('SIGTERM');
    expect(await next.exited).toBe(0);
  }, 120000);

  test('a worker refuses a task written by another version', async () => {
    const w = worker();
    await w.waitFor(/waiting for tasks/);
    const queue = new Queue(QUEUE_NAME, { connection: redisConnection(redis.url) });
    try {
      const job = await queue.add(
        'clean',
        { v: 99, run: 'x', store: dir, specKey: 'spec/clean.json', stage: 'clean', index: 0 },
        { attempts: 3 },
      );
      await w.waitFor(/failed: task \S+ has format version 99; this worker reads version 1/);
      const after = await queue.getJob(job.id!);
      expect(await after!.getState()).toBe('failed');
      expect(after!.attemptsMade).toBe(1); // not retried: no version of it would succeed
    } finally {
      await queue.close();
    }
    w.proc.kill('SIGTERM');
    expect(await w.exited).toBe(0);
  }, 120000);
});

describe('queued data pipeline: bad input', () => {
  test('an unreachable Redis URL fails at once, naming the URL, in the commands that take --queue', async () => {
    const dir = tmpDir('queue-bad');
    const corpus = qh.writeDupCorpus(dir, 20);
    const q = qh.spawnTrain(['data', 'dedup', '--input', corpus, '--queue', 'redis://127.0.0.1:9']);
    expect(await q.exited).toBe(1);
    expect(q.out()).toMatch(/cannot reach Redis at redis:\/\/127\.0\.0\.1:9: connect ECONNREFUSED/);
    const w = qh.spawnTrain(['data', 'worker', '--queue', 'redis://127.0.0.1:9']);
    expect(await w.exited).toBe(1);
    expect(w.out()).toMatch(/cannot reach Redis at redis:\/\/127\.0\.0\.1:9/);
    const bad = qh.spawnTrain(['data', 'status', '--queue', 'http://x']);
    expect(await bad.exited).not.toBe(0);
    expect(bad.out()).toMatch(/--queue http:\/\/x: expected a redis:\/\/HOST:PORT URL/);
  }, 90000);

  test('a server that accepts but never answers fails within the 3 s limit, naming the URL', async () => {
    const silent = net.createServer(() => undefined);
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const url = `redis://127.0.0.1:${(silent.address() as net.AddressInfo).port}`;
    const t0 = Date.now();
    try {
      await expect(checkReachable(url)).rejects.toThrow(`cannot reach Redis at ${url}: no answer within 3s`);
      expect(Date.now() - t0).toBeLessThan(6000);
    } finally {
      silent.close();
    }
  }, 30000);
});
