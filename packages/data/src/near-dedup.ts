import type { Doc, Stage } from './types';
import { createStage } from './stage';
import { MinHashPool, estimateJaccard, jaccardSorted, type MinHashBatch } from './minhash';
import { MemoryLshIndex, SqliteLshIndex, UnionFind, bandKeys, optimalLshParams, type LshIndex } from './lsh';
import type { DuplicateRecord } from './exact-dedup';

export interface NearDedupOptions {
  /** Jaccard similarity threshold on word n-gram shingle sets (default 0.8). */
  threshold?: number;
  /** MinHash permutations (default 128). */
  numPerm?: number;
  /** Words per shingle (default 5). */
  ngram?: number;
  /** Seed of the permutations (default 1). */
  seed?: number;
  /** LSH bands and rows; default chosen by optimalLshParams(threshold, numPerm, ...weights). */
  bands?: number;
  rows?: number;
  /** (false-positive weight, false-negative weight) for choosing bands × rows. Default (0.05, 0.95) with
   * verification (candidates are checked exactly, so favour recall), (0.5, 0.5) without. */
  weights?: [number, number];
  /** Verify candidate pairs by the exact Jaccard of their shingle sets (default true); otherwise the MinHash
   * estimate decides. */
  verify?: boolean;
  /** Worker threads computing signatures (default: cores, at most 4; 0 = main thread). */
  workers?: number;
  /** Where the LSH buckets and shingle sets live (default 'memory'). */
  index?: 'memory' | 'sqlite';
  /** SQLite file for index 'sqlite' (default: a temporary file, removed afterwards). */
  sqlitePath?: string;
  /** Documents per worker batch (default 256) and most characters per batch (default 1,000,000). */
  batchDocs?: number;
  batchChars?: number;
  /** Called for every removed document with the kept document of its cluster. */
  onDuplicate?: (d: DuplicateRecord) => void;
}

export interface ResolvedNearDedup {
  threshold: number;
  numPerm: number;
  ngram: number;
  seed: number;
  bands: number;
  rows: number;
  verify: boolean;
  weights: [number, number];
}

export function resolveNearDedupOptions(opts: NearDedupOptions = {}): ResolvedNearDedup {
  const threshold = opts.threshold ?? 0.8;
  const numPerm = opts.numPerm ?? 128;
  const verify = opts.verify ?? true;
  const weights: [number, number] = opts.weights ?? (verify ? [0.05, 0.95] : [0.5, 0.5]);
  let bands = opts.bands;
  let rows = opts.rows;
  if (bands === undefined || rows === undefined) {
    const p = optimalLshParams(threshold, numPerm, weights[0], weights[1]);
    bands ??= p.bands;
    rows ??= p.rows;
  }
  if (bands * rows > numPerm) throw new Error(`bands × rows = ${bands} × ${rows} exceeds numPerm ${numPerm}`);
  if (bands < 1 || rows < 1) throw new Error(`bands and rows must be ≥ 1 (got ${bands} × ${rows})`);
  return { threshold, numPerm, ngram: opts.ngram ?? 5, seed: opts.seed ?? 1, bands, rows, verify, weights };
}

/**
 * Near-duplicate removal with MinHash LSH. Streaming semantics: every document (kept or removed) is indexed; a
 * document whose candidates include an earlier document with similarity ≥ threshold (exact Jaccard of the shingle
 * sets when `verify`, the MinHash estimate otherwise) joins that document's cluster (union-find) and is removed;
 * the kept document of a cluster is its first document, reported as `duplicateOf`.
 */
export function nearDedupStage(opts: NearDedupOptions = {}): Stage {
  const p = resolveNearDedupOptions(opts);
  return createStage('near-dedup', async function* (input, ctx) {
    const extra = ctx.stats.extra;
    Object.assign(extra, {
      threshold: p.threshold,
      numPerm: p.numPerm,
      ngram: p.ngram,
      bands: p.bands,
      rows: p.rows,
      verify: p.verify,
      weights: p.weights,
      index: opts.index ?? 'memory',
    });
    // Work done, reported in the stage's stats.extra when the stream ends.
    const work = { candidatePairs: 0, verifiedPairs: 0, rejectedCandidates: 0, clusterMerges: 0, noShingles: 0, signatureWallMs: 0 };
    const pool = new MinHashPool({ workers: opts.workers, numPerm: p.numPerm, ngram: p.ngram, seed: p.seed });
    extra.workers = pool.workerCount;
    const index: LshIndex = opts.index === 'sqlite' ? new SqliteLshIndex(p.bands, { path: opts.sqlitePath }) : new MemoryLshIndex(p.bands);
    const uf = new UnionFind();
    const keys = new Float64Array(p.bands);
    const batchDocs = opts.batchDocs ?? 256;
    const batchChars = opts.batchChars ?? 1_000_000;
    const maxInFlight = Math.max(2, pool.workerCount * 2);

    const processBatch = (docs: Doc[], r: MinHashBatch): Doc[] => {
      const kept: Doc[] = [];
      index.batch(() => {
        for (let d = 0; d < docs.length; d++) {
          const doc = docs[d]!;
          const sh = r.data.subarray(r.offsets[d]!, r.offsets[d + 1]!);
          if (sh.length === 0) {
            work.noShingles++;
            kept.push(doc);
            continue;
          }
          const sigOff = d * p.numPerm;
          bandKeys(r.sigs, sigOff, p.bands, p.rows, keys);
          const cands = index.query(keys);
          const me = uf.add();
          let bestSim = -1;
          let bestDoc = -1;
          let matchedRoot = -1;
          const sig = p.verify ? null : r.sigs.slice(sigOff, sigOff + p.numPerm);
          for (const c of cands) {
            work.candidatePairs++;
            const sim = p.verify ? jaccardSorted(sh, index.shingles(c)) : estimateJaccard(sig!, index.signature(c));
            if (p.verify) work.verifiedPairs++;
            if (sim >= p.threshold) {
              const rootBefore = uf.find(c);
              if (matchedRoot >= 0 && rootBefore !== uf.find(me)) work.clusterMerges++;
              uf.union(me, c);
              matchedRoot = uf.find(me);
              if (sim > bestSim) {
                bestSim = sim;
                bestDoc = c;
              }
            } else work.rejectedCandidates++;
          }
          // `sh` is a view into the batch's buffer (kept alive as long as any of its documents is indexed)
          index.insert(me, doc.id, keys, p.verify ? sh : null, sig);
          if (matchedRoot < 0) {
            kept.push(doc);
            continue;
          }
          const root = uf.find(me);
          const keptId = index.id(root);
          const viaId = index.id(bestDoc);
          const rec: DuplicateRecord = { id: doc.id, duplicateOf: keptId, kind: 'near' };
          if (p.verify) rec.jaccard = Number(bestSim.toFixed(4));
          else rec.estimated = Number(bestSim.toFixed(4));
          if (bestDoc !== root) rec.via = viaId;
          ctx.drop(doc, 'near_duplicate', `J=${bestSim.toFixed(3)} with ${viaId}; kept ${keptId}`);
          opts.onDuplicate?.(rec);
        }
      });
      return kept;
    };

    const queue: { docs: Doc[]; promise: Promise<MinHashBatch>; t0: number }[] = [];
    let batch: Doc[] = [];
    let chars = 0;
    const dispatch = () => {
      const docs = batch;
      queue.push({ docs, promise: pool.compute(docs.map((x) => x.text)), t0: performance.now() });
      batch = [];
      chars = 0;
    };
    // Attach a no-op catch so a rejected batch further down the queue is not reported as unhandled before we await it.
    const take = async () => {
      const item = queue.shift()!;
      const r = await item.promise;
      work.signatureWallMs += performance.now() - item.t0;
      return processBatch(item.docs, r);
    };
    try {
      for await (const doc of input) {
        batch.push(doc);
        chars += doc.text.length;
        if (batch.length >= batchDocs || chars >= batchChars) {
          dispatch();
          queue[queue.length - 1]!.promise.catch(() => undefined);
          if (queue.length >= maxInFlight) yield* await take();
        }
      }
      if (batch.length) dispatch();
      while (queue.length) yield* await take();
    } finally {
      await pool.close();
      index.close();
      Object.assign(extra, { ...work, signatureWallMs: Math.round(work.signatureWallMs) });
    }
  });
}
