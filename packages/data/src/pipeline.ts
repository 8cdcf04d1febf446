import * as fs from 'node:fs';
import * as path from 'node:path';
import { AtomicWriter } from '@gptlab/common/node';
import type { Doc, DocStream, Stage, StageStats } from './types';
import { normalizeStage, type NormalizeOptions } from './normalize';
import { filterStage, type FilterConfig } from './filters';
import { exactDedupStage, type DuplicateRecord } from './exact-dedup';
import { nearDedupStage, resolveNearDedupOptions, type NearDedupOptions } from './near-dedup';
import { QualityClassifier, qualityStage } from './quality';
import { mixture, type MixtureOptions, type MixtureStats } from './mixture';
import { writeShards, type ShardDtype, type ShardManifest, type ShardTokenizer } from './shards';
import { funnelOf, shardsSummary, writeReport, type PipelineReport } from './report';
import { jsonlSource, type Source } from './sources';
import { sourceFromSpec } from './source-spec';
import { pipe } from './stage';
import { ShardCounter, summarizeSources } from './source-report';
import { utf8Length } from './util';

export interface StageOptions {
  /** Normalisation (default on); false to skip. */
  normalize?: NormalizeOptions | false;
  /** Heuristic filters: overrides of DEFAULT_FILTERS (default on); false to skip. */
  filter?: Partial<FilterConfig> | false;
  /** Exact dedup (default true). */
  exactDedup?: boolean;
  /** MinHash-LSH near-duplicate removal (default on, threshold 0.8); false to skip. */
  nearDedup?: NearDedupOptions | false;
  /** Quality filter (off unless a classifier, or the path of a saved one, is given). */
  quality?:
    | { classifier: QualityClassifier | string; mode?: 'pareto' | 'threshold'; threshold?: number; alpha?: number; seed?: number }
    | false;
}

/** Builds the per-source stage list in pipeline order. */
export function buildStages(
  opts: StageOptions,
  hooks: { onDuplicate?: (d: DuplicateRecord) => void; applyQuality?: boolean } = {},
): Stage[] {
  const stages: Stage[] = [];
  if (opts.normalize !== false) stages.push(normalizeStage(opts.normalize ?? {}));
  if (opts.filter !== false) stages.push(filterStage(opts.filter ?? {}));
  if (opts.exactDedup !== false) stages.push(exactDedupStage({ onDuplicate: hooks.onDuplicate }));
  if (opts.nearDedup !== false) stages.push(nearDedupStage({ ...(opts.nearDedup ?? {}), onDuplicate: hooks.onDuplicate }));
  if (opts.quality && hooks.applyQuality !== false) {
    const q = opts.quality;
    const classifier = typeof q.classifier === 'string' ? QualityClassifier.load(q.classifier) : q.classifier;
    stages.push(qualityStage({ classifier, mode: q.mode, threshold: q.threshold, alpha: q.alpha, seed: q.seed }));
  }
  return stages;
}

export interface SourceInput {
  /** A source spec (see sourceFromSpec) or a Source. */
  source: string | Source;
  /** Mixture weight; when any source has one, sources are mixed (GPT-3 style) instead of concatenated. */
  weight?: number;
  /** Apply the quality classifier to this source (default true; GPT-3 filtered only Common Crawl). */
  quality?: boolean;
  /** This source's own stage options (replacing the shared ones), e.g. from a mixture file. */
  stages?: StageOptions;
  name?: string;
}

export interface PrepareOptions extends StageOptions {
  /** Sources (default ['wordnet']). */
  sources?: (string | Source | SourceInput)[];
  tokenizer: ShardTokenizer;
  outDir: string;
  valFraction?: number;
  shardTokens?: number;
  dtype?: ShardDtype;
  /** Mixture budget and seed (used when weights are given). */
  mixture?: MixtureOptions;
  /** Report path (default outDir/report.json, plus report.svg); false for none. */
  report?: string | false;
  /** Epochs a mixture file expects per source name (reported next to the epochs taken). */
  expectedEpochs?: Record<string, number>;
  /** JSONL reading options for spec strings. */
  field?: string;
  idField?: string;
  skipBad?: boolean;
  onProgress?: (p: { docs: number; tokens: number }) => void;
}

export interface PrepareResult {
  manifest: ShardManifest;
  report: PipelineReport;
  reportPath?: string;
  svgPath?: string;
}

function toSourceInput(
  s: string | Source | SourceInput,
  o: PrepareOptions,
): { src: Source; weight?: number; quality: boolean; name: string; stages?: StageOptions } {
  const si: SourceInput = typeof s === 'string' || !('source' in s) ? { source: s as string | Source } : s;
  const src =
    typeof si.source === 'string' ? sourceFromSpec(si.source, { field: o.field, idField: o.idField, skipBad: o.skipBad }) : si.source;
  return { src, weight: si.weight, quality: si.quality ?? true, name: si.name ?? src.name, stages: si.stages };
}

/**
 * The tokenizer with a one-entry cache: a token-weighted mixture counts a document's tokens just before
 * writeShards encodes the same string, which then costs nothing.
 */
function cachingTokenizer(tok: ShardTokenizer): ShardTokenizer {
  let lastText: string | null = null;
  let lastIds: ArrayLike<number> = [];
  return {
    get vocabSize() {
      return tok.vocabSize;
    },
    get eosId() {
      return tok.eosId;
    },
    hash: () => tok.hash(),
    encode: (text: string) => {
      if (text !== lastText) {
        lastIds = tok.encode(text);
        lastText = text;
      }
      return lastIds;
    },
  } as ShardTokenizer;
}

/**
 * The whole pipeline: each source → normalise → filter → exact dedup → near dedup → quality (per source, as in
 * GPT-3), then a weighted mixture (or concatenation) → token shards + manifest + report (JSON + SVG funnel).
 */
export async function prepare(opts: PrepareOptions): Promise<PrepareResult> {
  const t0 = performance.now();
  const inputs = (opts.sources ?? ['wordnet']).map((s) => toSourceInput(s, opts));
  if (inputs.length === 0) throw new Error('prepare: no sources given');
  if (opts.nearDedup !== false) resolveNearDedupOptions(opts.nearDedup ?? {}); // validate early
  const stageRuns: { source: string; stages: Stage[] }[] = [];
  const open = (i: number): DocStream => {
    const inp = inputs[i]!;
    const stages = buildStages(inp.stages ?? opts, { applyQuality: inp.quality });
    // the report keeps the stages of each source's first pass (a mixture may re-read a source)
    if (!stageRuns.some((r) => r.source === inp.name)) stageRuns.push({ source: inp.name, stages });
    return pipe(inp.src, ...stages);
  };
  const weighted = inputs.some((s) => s.weight !== undefined);
  let stream: DocStream;
  let mixStats: MixtureStats | undefined;
  let current = ''; // the source being concatenated (writeShards takes each document before the next is read)
  const tokenizer = cachingTokenizer(opts.tokenizer);
  if (weighted) {
    const byTokens = opts.mixture?.by === 'tokens' || opts.mixture?.totalTokens !== undefined;
    const m = mixture(
      inputs.map((s, i) => ({ name: s.name, weight: s.weight ?? 1, open: () => open(i) })),
      { ...opts.mixture, ...(byTokens ? { measure: (d: Doc) => tokenizer.encode(d.text).length + 1 } : {}) },
    );
    stream = m.stream;
    mixStats = m.stats;
  } else {
    stream = {
      async *[Symbol.asyncIterator]() {
        for (let i = 0; i < inputs.length; i++) {
          current = inputs[i]!.name;
          yield* open(i);
        }
      },
    };
  }
  const counter = new ShardCounter();
  const manifest = await writeShards(stream, {
    tokenizer,
    outDir: opts.outDir,
    valFraction: opts.valFraction,
    shardTokens: opts.shardTokens,
    dtype: opts.dtype,
    onProgress: (p) => {
      counter.add(weighted ? String(p.doc.meta?.mixture) : current, p.docTokens, utf8Length(p.doc.text));
      opts.onProgress?.(p);
    },
  });
  const stages: (StageStats & { source?: string })[] = stageRuns.flatMap((r) => r.stages.map((s) => ({ source: r.source, ...s.stats })));
  const report: PipelineReport = {
    createdAt: new Date().toISOString(),
    sources: inputs.map((s) => ({ ...s.src.stats, badExamples: [...s.src.stats.badExamples] })),
    stages,
    funnel: funnelOf(stages),
    perSource: summarizeSources(inputs, stageRuns, counter, mixStats, opts.expectedEpochs),
    ...(mixStats ? { mixture: mixStats } : {}),
    shards: shardsSummary(manifest, opts.outDir),
    totalTimeMs: performance.now() - t0,
  };
  const res: PrepareResult = { manifest, report };
  if (opts.report !== false) {
    const rp = opts.report ?? path.join(opts.outDir, 'report.json');
    res.svgPath = writeReport(report, rp);
    res.reportPath = rp;
  }
  return res;
}

export interface DedupJsonlOptions {
  /** Input JSONL file. */
  input: string;
  /** Text field (default 'text') and id field (default 'id'; lines without one are named `${input}:${line}`). */
  field?: string;
  idField?: string;
  /** Jaccard threshold (default 0.8). */
  threshold?: number;
  /** Output JSONL of the kept lines (verbatim). */
  out?: string;
  /** Report JSON (plus an SVG funnel next to it). */
  report?: string;
  /** Skip and count malformed lines instead of failing with file:line. */
  skipBad?: boolean;
  /** Exact dedup before the near-dup pass (default true). */
  exact?: boolean;
  /** Normalise text before hashing (default true; the output lines are written unchanged). */
  normalize?: boolean;
  numPerm?: number;
  ngram?: number;
  bands?: number;
  rows?: number;
  verify?: boolean;
  workers?: number;
  index?: 'memory' | 'sqlite';
  sqlitePath?: string;
  seed?: number;
}

export interface DedupJsonlResult {
  docs: number;
  kept: number;
  removed: number;
  exactDuplicates: number;
  nearDuplicates: number;
  badLines: number;
  duplicates: DuplicateRecord[];
  params: { threshold: number; numPerm: number; ngram: number; bands: number; rows: number; verify: boolean };
  stages: StageStats[];
  timeMs: number;
}

/**
 * `gptlab-train data dedup`: removes exact and near duplicates from a JSONL file, writes the kept lines
 * unchanged to `out` and a report whose `duplicates` names every removed document and the kept document it
 * duplicates. Outputs are written atomically; nothing is written when the input is bad.
 */
export async function dedupJsonl(opts: DedupJsonlOptions): Promise<DedupJsonlResult> {
  const t0 = performance.now();
  const nd = resolveNearDedupOptions({
    threshold: opts.threshold,
    numPerm: opts.numPerm,
    ngram: opts.ngram,
    bands: opts.bands,
    rows: opts.rows,
    verify: opts.verify,
    seed: opts.seed,
  });
  const src = jsonlSource(opts.input, { field: opts.field, idField: opts.idField, skipBad: opts.skipBad, keepRaw: true });
  const duplicates: DuplicateRecord[] = [];
  const onDuplicate = (d: DuplicateRecord) => duplicates.push(d);
  const stages: Stage[] = [];
  if (opts.normalize !== false) stages.push(normalizeStage({ dropEmpty: false }));
  if (opts.exact !== false) stages.push(exactDedupStage({ onDuplicate }));
  stages.push(
    nearDedupStage({
      threshold: nd.threshold,
      numPerm: nd.numPerm,
      ngram: nd.ngram,
      bands: nd.bands,
      rows: nd.rows,
      verify: nd.verify,
      seed: nd.seed,
      workers: opts.workers,
      index: opts.index,
      sqlitePath: opts.sqlitePath,
      onDuplicate,
    }),
  );
  const writer = opts.out ? new AtomicWriter(opts.out) : null;
  let kept = 0;
  try {
    for await (const doc of pipe(src, ...stages) as AsyncIterable<Doc>) {
      kept++;
      writer?.write(String(doc.meta?.raw) + '\n');
    }
    if (src.stats.docs === 0)
      throw new Error(
        `dedup: ${opts.input} contains no documents${src.stats.badRecords ? ` (${src.stats.badRecords} bad lines skipped)` : ''}`,
      );
    writer?.commit();
  } catch (e) {
    writer?.abort();
    throw e;
  }
  const result: DedupJsonlResult = {
    docs: src.stats.docs,
    kept,
    removed: duplicates.length,
    exactDuplicates: duplicates.filter((d) => d.kind === 'exact').length,
    nearDuplicates: duplicates.filter((d) => d.kind === 'near').length,
    badLines: src.stats.badRecords,
    duplicates,
    params: { threshold: nd.threshold, numPerm: nd.numPerm, ngram: nd.ngram, bands: nd.bands, rows: nd.rows, verify: nd.verify },
    stages: stages.map((s) => s.stats),
    timeMs: performance.now() - t0,
  };
  if (opts.report) {
    const { duplicates: dups, ...rest } = result;
    const funnel = funnelOf(result.stages);
    writeReport(
      {
        input: opts.input,
        out: opts.out ?? null,
        ...rest,
        badExamples: src.stats.badExamples,
        invalidUtf8: src.stats.invalidUtf8,
        funnel,
        duplicates: dups,
      },
      opts.report,
      funnel,
    );
  }
  if (opts.out && !fs.existsSync(opts.out)) throw new Error(`dedup: failed to write ${opts.out}`);
  return result;
}
