// `data dedup|prepare --queue`: split the input into chunk tasks, run the stages on the workers, then write the
// same outputs as the local run (kept lines; token shards + manifest) from the stages' files.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { AtomicWriter } from '@gptlab/common/node';
import {
  funnelOf,
  jsonlSource,
  resolveNearDedupOptions,
  shardsSummary,
  sourceFromSpec,
  writeReport,
  writeShards,
  type Doc,
  type DuplicateRecord,
  type ShardManifest,
  type ShardTokenizer,
  type SourceStats,
  type StageStats,
} from '@gptlab/data';
import type { CommandIO } from '../cli/command';
import { StageRunner } from './flow';
import type { ChunkInfo, NearParams, RunSpec } from './protocol';
import { SharedDirStorage, type TaskStorage } from './storage';
import { TOKENIZER_KEY, chunkKey, docLines, parseTokens, readDocs, type StoredDoc } from './stages-docs';
import { CLUSTERS_KEY, type ClusterCounts } from './stages-lsh';
import { dedupStageStats, mergeStageStats } from './report-stats';

export interface QueuedOptions {
  url: string;
  /** Intermediate files: a directory every worker can read (default: .gptlab-queue next to the output file or
   * directory, removed after a successful run unless other runs use it). */
  workDir?: string;
  /** Documents per chunk task (default 5000). */
  chunkDocs?: number;
  /** Bucket / verification partitions (default 4). */
  partitions?: number;
  /** Keep the intermediate files after a successful run (default: removed). */
  keepWork?: boolean;
  io: Pick<CommandIO, 'stderr'>;
}

/** Reads the sources once and writes chunk files of at most `chunkDocs` documents (a chunk never spans sources). */
async function splitInput(store: TaskStorage, sources: AsyncIterable<Doc>[], chunkDocs: number): Promise<ChunkInfo[]> {
  const chunks: ChunkInfo[] = [];
  let buf: StoredDoc[] = [];
  const flush = async (source: number) => {
    if (!buf.length) return;
    const key = String(chunks.length).padStart(6, '0');
    await store.write(chunkKey.input(key), docLines(buf));
    chunks.push({ key, source, firstDoc: 0, docs: 0 });
    buf = [];
  };
  for (let s = 0; s < sources.length; s++) {
    for await (const d of sources[s]!) {
      const raw = d.meta?.raw;
      const invalid = Number(d.meta?.invalidUtf8 ?? 0);
      buf.push({ id: d.id, text: d.text, ...(typeof raw === 'string' ? { raw } : {}), ...(invalid ? { invalidUtf8: invalid } : {}) });
      if (buf.length >= chunkDocs) await flush(s);
    }
    await flush(s);
  }
  return chunks;
}

interface StageOutputs {
  clean: StageStats[];
  clusters: ClusterCounts & { noShingles: number };
  /** Bytes of cleaned text by keep-mask value (index 1 kept, 2 exact, 3 near). */
  bytes: number[];
  duplicates: DuplicateRecord[];
}

/** clean → minhash → (buckets → verify) → clusters → filter; fills in the chunks' document offsets. */
async function runStages(runner: StageRunner, store: TaskStorage): Promise<StageOutputs> {
  const spec = runner.spec;
  const n = spec.chunks.length;
  const cleaned = await runner.run<{ docs: number; stages: StageStats[] }>('clean', n);
  let first = 0;
  cleaned.forEach((r, i) => {
    spec.chunks[i]!.firstDoc = first;
    spec.chunks[i]!.docs = r.docs;
    first += r.docs;
  });
  const hashed = await runner.run<{ noShingles: number }>('minhash', n);
  const noShingles = hashed.reduce((t, h) => t + h.noShingles, 0);
  if (spec.near) {
    await runner.run('buckets', spec.partitions);
    await runner.run('verify', spec.partitions);
  }
  const [clusters] = await runner.run<ClusterCounts>('clusters', 1);
  const filtered = await runner.run<{ kept: number; bytes: number[] }>('filter', n);
  const bytes = [0, 0, 0, 0];
  for (const f of filtered) f.bytes.forEach((b, i) => (bytes[i]! += b));
  const { duplicates } = JSON.parse((await store.read(CLUSTERS_KEY)).toString('utf8')) as { duplicates: DuplicateRecord[] };
  return { clean: mergeStageStats(cleaned.map((c) => c.stages)), clusters: { ...clusters!, noShingles }, bytes, duplicates };
}

/** Opens storage and the queue for a new run, runs `body`, and cleans up. */
async function withRun<T>(
  o: QueuedOptions,
  outPath: string,
  spec: Omit<RunSpec, 'run' | 'store' | 'chunks' | 'partitions'>,
  body: (runner: StageRunner, store: TaskStorage) => Promise<T>,
): Promise<T> {
  const run = `r${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
  const base = o.workDir ?? path.join(path.dirname(path.resolve(outPath)), '.gptlab-queue');
  const root = path.join(base, run);
  const store = new SharedDirStorage(root);
  const full: RunSpec = { ...spec, run, store: store.location, chunks: [], partitions: o.partitions ?? 4 };
  const runner = await StageRunner.open({ url: o.url, store, spec: full, io: o.io });
  o.io.stderr(`queue: run ${run} on ${o.url}, intermediate files in ${root}\n`);
  try {
    const out = await body(runner, store);
    if (!o.keepWork) {
      fs.rmSync(root, { recursive: true, force: true });
      // the default directory goes too once no other run uses it (a failed run's files stay for a look)
      if (o.workDir === undefined && fs.readdirSync(base).length === 0) fs.rmdirSync(base);
    }
    return out;
  } finally {
    await runner.close();
  }
}

export interface QueuedDedupOptions extends QueuedOptions {
  input: string;
  field?: string;
  idField?: string;
  skipBad?: boolean;
  out?: string;
  report?: string;
  near: { threshold?: number; numPerm?: number; ngram?: number; verify?: boolean; seed?: number };
}

export interface QueuedDedupResult extends ClusterCounts {
  kept: number;
  removed: number;
  badLines: number;
  params: NearParams;
  timeMs: number;
}

/** dedupJsonl on the queue: the same kept lines (verbatim, in order) and the same duplicate records. */
export async function queuedDedup(o: QueuedDedupOptions): Promise<QueuedDedupResult> {
  const t0 = performance.now();
  const { weights: _w, ...near } = resolveNearDedupOptions(o.near);
  const src = jsonlSource(o.input, { field: o.field, idField: o.idField, skipBad: o.skipBad, keepRaw: true });
  return withRun(o, o.out ?? o.input, { kind: 'dedup', dropEmpty: false, filter: false, near }, async (runner, store) => {
    runner.spec.chunks = await splitInput(store, [src], o.chunkDocs ?? 5000);
    if (src.stats.docs === 0)
      throw new Error(
        `dedup: ${o.input} contains no documents${src.stats.badRecords ? ` (${src.stats.badRecords} bad lines skipped)` : ''}`,
      );
    const r = await runStages(runner, store);
    let kept = 0;
    if (o.out) {
      const w = new AtomicWriter(o.out);
      try {
        for (const c of runner.spec.chunks)
          for (const d of await readDocs(store, chunkKey.kept(c.key))) {
            w.write(d.raw + '\n');
            kept++;
          }
        w.commit();
      } catch (e) {
        w.abort();
        throw e;
      }
    } else kept = r.clusters.docs - r.clusters.exactDuplicates - r.clusters.nearDuplicates;
    const result: QueuedDedupResult = {
      ...r.clusters,
      kept,
      removed: r.duplicates.length,
      badLines: src.stats.badRecords,
      params: near,
      timeMs: performance.now() - t0,
    };
    if (o.report) {
      const stages = [...r.clean, ...dedupStageStats(r.clean, r.clusters, r.bytes, near)];
      const funnel = funnelOf(stages);
      const { docs: _d, ...rest } = result;
      writeReport(
        {
          input: o.input,
          out: o.out ?? null,
          docs: src.stats.docs,
          ...rest,
          queue: { url: o.url, run: runner.spec.run },
          stages,
          badExamples: src.stats.badExamples,
          invalidUtf8: src.stats.invalidUtf8,
          funnel,
          duplicates: r.duplicates,
        },
        o.report,
        funnel,
      );
    }
    return result;
  });
}

export interface QueuedPrepareOptions extends QueuedOptions {
  sources: string[];
  field?: string;
  skipBad?: boolean;
  tokenizer: ShardTokenizer;
  tokenizerFile: string;
  out: string;
  valFraction?: number;
  shardTokens?: number;
  filter: boolean;
  /** Near-dedup threshold, or null for none. */
  nearThreshold: number | null;
}

/** prepare() on the queue (sources concatenated; no mixture weights or quality classifier): the same shards. */
export async function queuedPrepare(o: QueuedPrepareOptions): Promise<{ manifest: ShardManifest; reportPath: string }> {
  const t0 = performance.now();
  const near = o.nearThreshold === null ? null : (({ weights: _w, ...p }) => p)(resolveNearDedupOptions({ threshold: o.nearThreshold }));
  const sources = o.sources.map((s) => sourceFromSpec(s, { field: o.field, skipBad: o.skipBad }));
  return withRun(o, o.out, { kind: 'prepare', dropEmpty: true, filter: o.filter, near }, async (runner, store) => {
    await store.write(TOKENIZER_KEY, fs.readFileSync(o.tokenizerFile));
    runner.spec.chunks = await splitInput(store, sources, o.chunkDocs ?? 5000);
    const r = await runStages(runner, store);
    await runner.run('tokenise', runner.spec.chunks.length);
    // writeShards assigns splits and shard files exactly as prepare() does; the ids come from the tokenise tasks
    let next: Uint32Array = new Uint32Array(0);
    const pretokenised: ShardTokenizer = {
      vocabSize: o.tokenizer.vocabSize,
      eosId: o.tokenizer.eosId,
      hash: () => o.tokenizer.hash(),
      encode: () => next,
    };
    const chunks = runner.spec.chunks;
    const stream: AsyncIterable<Doc> = {
      async *[Symbol.asyncIterator]() {
        for (const c of chunks) {
          const docs = await readDocs(store, chunkKey.kept(c.key));
          const ids = parseTokens(await store.read(chunkKey.tokens(c.key)));
          for (let i = 0; i < docs.length; i++) {
            next = ids[i]!;
            yield { id: docs[i]!.id, text: docs[i]!.text };
          }
        }
      },
    };
    const manifest = await writeShards(stream, {
      tokenizer: pretokenised,
      outDir: o.out,
      valFraction: o.valFraction,
      shardTokens: o.shardTokens,
    });
    const stages = [...r.clean, ...dedupStageStats(r.clean, r.clusters, r.bytes, near)];
    const reportPath = path.join(o.out, 'report.json');
    writeReport(
      {
        createdAt: new Date().toISOString(),
        sources: sources.map((s): SourceStats => ({ ...s.stats, badExamples: [...s.stats.badExamples] })),
        stages,
        funnel: funnelOf(stages),
        queue: { url: o.url, run: runner.spec.run },
        shards: shardsSummary(manifest, o.out),
        totalTimeMs: performance.now() - t0,
      },
      reportPath,
    );
    return { manifest, reportPath };
  });
}
