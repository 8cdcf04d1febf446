// `gptlab-train data worker`: a BullMQ worker that runs stage tasks of any queued run until stopped. SIGTERM
// (or Ctrl-C) stops taking new tasks and finishes the ones in hand; a worker killed outright leaves its task
// locked until the lock expires, when another worker's stalled-job check puts it back in the queue.
import * as os from 'node:os';
import { UnrecoverableError, Worker, type Job } from 'bullmq';
import type { CommandIO } from '../cli/command';
import { QUEUE_NAME, TASK_VERSION, checkReachable, redisConnection, type RunSpec, type TaskData } from './protocol';
import { openStorage } from './storage';
import { cleanTask, filterTask, minhashTask, tokeniseTask } from './stages-docs';
import { bucketsTask, clustersTask, verifyTask } from './stages-lsh';

export interface WorkerOptions {
  url: string;
  concurrency: number;
  /** How long a task's lock lasts without renewal (a killed worker's task is retried after this). */
  lockMs: number;
  /** How often this worker looks for stalled tasks of dead workers. */
  stalledMs: number;
  /** Wait this long at the start of every task (demonstrations and tests of killing a worker mid-task). */
  pauseMs: number;
  /** Stop after this many tasks (0: run until stopped). */
  maxTasks?: number;
}

const specs = new Map<string, RunSpec>();

/** Runs one task: reads the run's settings from storage (once per stage) and calls the stage's function. */
export async function runTask(data: TaskData): Promise<unknown> {
  const store = openStorage(data.store);
  const cacheKey = `${data.store}/${data.specKey}`;
  let spec = specs.get(cacheKey);
  if (!spec) specs.set(cacheKey, (spec = JSON.parse((await store.read(data.specKey)).toString('utf8')) as RunSpec));
  switch (data.stage) {
    case 'clean':
      return cleanTask(store, spec, data.index);
    case 'minhash':
      return minhashTask(store, spec, data.index);
    case 'buckets':
      return bucketsTask(store, spec, data.index);
    case 'verify':
      return verifyTask(store, spec, data.index);
    case 'clusters':
      return clustersTask(store, spec);
    case 'filter':
      return filterTask(store, spec, data.index);
    case 'tokenise':
      return tokeniseTask(store, spec, data.index);
    default:
      throw new UnrecoverableError(`unknown stage "${String(data.stage)}"`);
  }
}

export async function runWorker(opts: WorkerOptions, io: Pick<CommandIO, 'stderr'>): Promise<number> {
  await checkReachable(opts.url);
  const log = (s: string) => io.stderr(`worker ${process.pid}: ${s}\n`);
  let done = 0;
  let stop: () => void = () => undefined;
  const stopped = new Promise<void>((resolve) => (stop = resolve));
  const processor = async (job: Job<TaskData>) => {
    const data = job.data;
    // A task written by another version may mean something else: refuse it rather than guess.
    if (data?.v !== TASK_VERSION)
      throw new UnrecoverableError(`task ${job.id} has format version ${String(data?.v)}; this worker reads version ${TASK_VERSION}`);
    // A stage's barrier: its children are done; their results go back to the coordinator.
    if (data.stage === 'barrier') return job.getChildrenValues();
    log(`task ${job.id} started (attempt ${job.attemptsStarted})`);
    if (opts.pauseMs > 0) await new Promise((r) => setTimeout(r, opts.pauseMs));
    const t0 = performance.now();
    const result = await runTask(data);
    log(`task ${job.id} done in ${Math.round(performance.now() - t0)} ms`);
    if (opts.maxTasks && ++done >= opts.maxTasks) stop();
    return result;
  };
  const worker = new Worker<TaskData>(QUEUE_NAME, processor, {
    connection: redisConnection(opts.url),
    // named, so that `data status` lists the worker processes by host and pid
    name: `${os.hostname()}:${process.pid}`,
    concurrency: opts.concurrency,
    lockDuration: opts.lockMs,
    stalledInterval: opts.stalledMs,
    // a task whose worker died twice is still retried once more before the run fails
    maxStalledCount: 2,
  });
  worker.on('failed', (job, err) => log(`task ${job?.id ?? '?'} failed: ${err.message}`));
  worker.on('error', (err) => log(`error: ${err.message}`));
  const onSignal = (sig: string) => () => {
    log(`${sig}: finishing the current task, then stopping`);
    stop();
  };
  const onTerm = onSignal('SIGTERM');
  const onInt = onSignal('SIGINT');
  process.once('SIGTERM', onTerm);
  process.once('SIGINT', onInt);
  log(`waiting for tasks on ${opts.url} (concurrency ${opts.concurrency})`);
  try {
    await stopped;
    await worker.close();
  } finally {
    process.off('SIGTERM', onTerm);
    process.off('SIGINT', onInt);
  }
  log('stopped');
  return 0;
}
