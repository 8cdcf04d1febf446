// data dedup|prepare --queue on a real redis-server with two spawned workers: the outputs are the local run's,
// byte for byte, and `data status` shows every stage's progress.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BPETokenizer, ENDOFTEXT } from '@gptlab/tokenizer';
import { dedupJsonl, prepare } from '@gptlab/data';
import { tmpDir } from './helpers';
import {
  describeWithRedis,
  killAll,
  queuedDedupArgs,
  expectExit0,
  spawnTrain,
  startRedis,
  writeDupCorpus,
  type RedisServer,
  type Spawned,
} from './queue-helpers';

const sortedJson = (xs: unknown[]) => xs.map((x) => JSON.stringify(x, Object.keys(x as object).sort())).sort();

describeWithRedis('data pipeline on BullMQ: same outputs as the local run', () => {
  let redis: RedisServer;
  let workers: Spawned[] = [];
  const dir = tmpDir('queue');
  let corpus: string;
  beforeAll(async () => {
    redis = await startRedis();
    corpus = writeDupCorpus(dir);
    workers = [0, 1].map(() => spawnTrain(['data', 'worker', '--queue', redis.url]));
    await Promise.all(workers.map((w) => w.waitFor(/waiting for tasks/)));
  }, 90000);
  afterAll(async () => {
    await killAll(workers);
    await redis?.stop();
  });

  test('dedup: the same kept lines and the same duplicate records', async () => {
    const local = await dedupJsonl({ input: corpus, out: path.join(dir, 'local.jsonl'), report: path.join(dir, 'local.json') });
    expect(local.exactDuplicates).toBeGreaterThan(0);
    expect(local.nearDuplicates).toBeGreaterThan(0);
    const q = spawnTrain(
      queuedDedupArgs(
        corpus,
        path.join(dir, 'q.jsonl'),
        redis.url,
        '--report',
        path.join(dir, 'q.json'),
        '--chunk-docs',
        '60',
        '--partitions',
        '3',
      ),
    );
    await expectExit0(q);
    expect(q.out()).toMatch(new RegExp(`${local.docs} documents → ${local.kept} kept`));
    expect(fs.readFileSync(path.join(dir, 'q.jsonl'))).toEqual(fs.readFileSync(path.join(dir, 'local.jsonl')));
    const report = JSON.parse(fs.readFileSync(path.join(dir, 'q.json'), 'utf8'));
    expect(sortedJson(report.duplicates)).toEqual(sortedJson(local.duplicates));
    const near = (ss: { name: string; extra: Record<string, unknown> }[]) => ss.find((s) => s.name === 'near-dedup')!.extra;
    for (const k of ['candidatePairs', 'verifiedPairs', 'rejectedCandidates', 'clusterMerges', 'noShingles'])
      expect([k, near(report.stages)[k]]).toEqual([k, near(local.stages)[k]]);
    // the intermediate files are removed after a successful run
    expect(fs.existsSync(path.join(dir, '.gptlab-queue'))).toBe(false);
  }, 120000);

  test('prepare: the same shard files and manifest from two sources', async () => {
    const texts = fs
      .readFileSync(corpus, 'utf8')
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { text: string }).text);
    const tok = BPETokenizer.train(texts, { vocabSize: 300, specialTokens: [ENDOFTEXT], minFrequency: 2 });
    const tokFile = path.join(dir, 'tok.json');
    tok.save(tokFile);
    const para = path.join(dir, 'more.txt');
    fs.writeFileSync(para, texts.slice(100, 220).join('\n\n') + '\n');
    const sources = [corpus, `paragraphs:${para}`];
    await prepare({
      sources,
      tokenizer: tok,
      outDir: path.join(dir, 'local'),
      valFraction: 0.1,
      shardTokens: 1500,
      nearDedup: { threshold: 0.8 },
    });
    const q = spawnTrain([
      'data',
      'prepare',
      '--source',
      sources.join(','),
      '--tokenizer',
      tokFile,
      '--out',
      path.join(dir, 'queued'),
      '--val-fraction',
      '0.1',
      '--shard-tokens',
      '1500',
      '--queue',
      redis.url,
      '--chunk-docs',
      '50',
    ]);
    await expectExit0(q);
    const manifest = (d: string) => {
      const { createdAt: _c, ...m } = JSON.parse(fs.readFileSync(path.join(dir, d, 'manifest.json'), 'utf8'));
      return m;
    };
    const m = manifest('local');
    expect(manifest('queued')).toEqual(m);
    const files = [...m.splits.train.shards, ...m.splits.val.shards].map((s: { file: string }) => s.file);
    expect(files.length).toBeGreaterThan(3);
    for (const f of files)
      expect([f, fs.readFileSync(path.join(dir, 'queued', f))]).toEqual([f, fs.readFileSync(path.join(dir, 'local', f))]);
    const funnel = (d: string) =>
      JSON.parse(fs.readFileSync(path.join(dir, d, 'report.json'), 'utf8')).funnel.map(({ timeMs: _t, ...s }: { timeMs: number }) => s);
    expect(funnel('queued')).toEqual(funnel('local'));
  }, 120000);

  test('data status --queue shows progress per stage', async () => {
    const s = spawnTrain(['data', 'status', '--queue', redis.url, '--json']);
    await expectExit0(s);
    const status = JSON.parse(s.out());
    const newest = status.runs[0];
    expect(newest.stages.map((x: { stage: string }) => x.stage)).toEqual([
      'clean',
      'minhash',
      'buckets',
      'verify',
      'clusters',
      'filter',
      'tokenise',
    ]);
    for (const st of newest.stages) expect(st.done).toBe(st.total);
    expect(status.runs).toHaveLength(2);
    // the two worker processes, by host:pid
    expect(status.workers).toEqual(workers.map((w) => `${os.hostname()}:${w.proc.pid}`).sort());
    const text = spawnTrain(['data', 'status', '--queue', redis.url]);
    expect(await text.exited).toBe(0);
    expect(text.out()).toMatch(/^\s+minhash\s+\d+\/\d+\s+0\s+0\s+0\s+0$/m);
  }, 90000);
});
