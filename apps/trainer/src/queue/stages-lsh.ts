// The cross-chunk stages of near-duplicate removal: band buckets → candidate pairs (per bucket partition),
// candidate verification (per partition of the later document), and the union-find clusters (one task, in
// document order, so that every decision — kept or removed, duplicateOf, via — is the local run's).
import { UnionFind, estimateJaccard, jaccardSorted, type DuplicateRecord } from '@gptlab/data';
import { KEEP, type ChunkInfo, type RunSpec } from './protocol';
import { bytesOf, u32, type TaskStorage } from './storage';
import { chunkKey, parseShingles } from './stages-docs';

const pairsKey = (p: number, v: number) => `pairs/${p}/${v}.bin`;
const edgesKey = (v: number) => `edges/${v}.bin`;
export const CLUSTERS_KEY = 'clusters.json';

/** The chunk holding global document `doc` (chunks are in document order). */
function chunkOf(chunks: ChunkInfo[], doc: number): number {
  let lo = 0;
  let hi = chunks.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (chunks[mid]!.firstDoc <= doc) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/**
 * Groups one partition's band entries by (source, band, key) and writes every pair of documents sharing a
 * bucket (earlier, later), split by the later document so that one verify task sees all of a document's pairs.
 */
export async function bucketsTask(store: TaskStorage, spec: RunSpec, part: number): Promise<{ buckets: number; pairs: number }> {
  const buckets = new Map<number, number[]>();
  for (const c of spec.chunks) {
    const e = u32(await store.read(chunkKey.bands(part, c.key)));
    for (let i = 0; i < e.length; i += 3) {
      // source · 2^37 + band · 2^30 + 30-bit key stays below 2^53: an exact Map key
      const key = c.source * 2 ** 37 + e[i]! * 2 ** 30 + e[i + 1]!;
      const list = buckets.get(key);
      if (list) list.push(e[i + 2]!);
      else buckets.set(key, [e[i + 2]!]);
    }
  }
  const out: number[][] = Array.from({ length: spec.partitions }, () => []);
  let pairs = 0;
  for (const docs of buckets.values()) {
    for (let j = 1; j < docs.length; j++) {
      const later = docs[j]!;
      const dest = out[later % spec.partitions]!;
      for (let i = 0; i < j; i++) dest.push(docs[i]!, later);
      pairs += j;
    }
  }
  for (let v = 0; v < spec.partitions; v++) await store.write(pairsKey(part, v), bytesOf(new Uint32Array(out[v]!)));
  return { buckets: buckets.size, pairs };
}

/** Similarity of every distinct candidate pair of one partition: exact Jaccard of the shingle sets, or the
 * MinHash estimate with verification off. Writes (earlier, later, similarity) triples as float64. */
export async function verifyTask(store: TaskStorage, spec: RunSpec, part: number): Promise<{ candidates: number }> {
  const p = spec.near!;
  const keys: number[] = [];
  for (let q = 0; q < spec.partitions; q++) {
    const pr = u32(await store.read(pairsKey(q, part)));
    for (let i = 0; i < pr.length; i += 2) keys.push(pr[i + 1]! * 2 ** 32 + pr[i]!);
  }
  const sorted = Float64Array.from(keys).sort();
  const sh = new Map<number, ReturnType<typeof parseShingles>>();
  const sigs = new Map<number, Uint32Array>();
  const load = async (doc: number) => {
    const ci = chunkOf(spec.chunks, doc);
    const local = doc - spec.chunks[ci]!.firstDoc;
    if (p.verify) {
      if (!sh.has(ci)) sh.set(ci, parseShingles(await store.read(chunkKey.shingles(spec.chunks[ci]!.key))));
      const s = sh.get(ci)!;
      return s.data.subarray(s.offsets[local]!, s.offsets[local + 1]!);
    }
    if (!sigs.has(ci)) sigs.set(ci, u32(await store.read(chunkKey.signatures(spec.chunks[ci]!.key))));
    return sigs.get(ci)!.subarray(local * p.numPerm, (local + 1) * p.numPerm);
  };
  const edges: number[] = [];
  for (let i = 0; i < sorted.length; i++) {
    if (i > 0 && sorted[i] === sorted[i - 1]) continue;
    const later = Math.floor(sorted[i]! / 2 ** 32);
    const earlier = sorted[i]! - later * 2 ** 32;
    const a = await load(later);
    const b = await load(earlier);
    edges.push(earlier, later, p.verify ? jaccardSorted(a, b) : estimateJaccard(a, b));
  }
  await store.write(edgesKey(part), bytesOf(new Float64Array(edges)));
  return { candidates: edges.length / 3 };
}

export interface ClusterCounts {
  docs: number;
  exactDuplicates: number;
  nearDuplicates: number;
  candidatePairs: number;
  verifiedPairs: number;
  rejectedCandidates: number;
  clusterMerges: number;
}

/**
 * Exact duplicates (first document of each text, per source), then the local near-dedup stage's decisions
 * replayed in document order over the verified edges: the same union-find, the same roots, the same records.
 */
export async function clustersTask(store: TaskStorage, spec: RunSpec): Promise<ClusterCounts> {
  const ids: string[] = [];
  const exactOf: number[] = [];
  const firstOfText = new Map<string, number>();
  for (const c of spec.chunks) {
    for (const [id, hash] of JSON.parse((await store.read(chunkKey.hashes(c.key))).toString('utf8')) as [string, string][]) {
      const key = `${c.source}:${hash}`;
      const first = firstOfText.get(key);
      exactOf.push(first ?? -1);
      if (first === undefined) firstOfText.set(key, ids.length);
      ids.push(id);
    }
  }
  const n = ids.length;
  // candidate edges grouped by the later document, earlier documents ascending (the LSH index's query order)
  const byLater = new Map<number, { earlier: number; sim: number }[]>();
  if (spec.near)
    for (let v = 0; v < spec.partitions; v++) {
      const e = new Float64Array(u32(await store.read(edgesKey(v))).buffer);
      for (let i = 0; i < e.length; i += 3) {
        const list = byLater.get(e[i + 1]!) ?? [];
        list.push({ earlier: e[i]!, sim: e[i + 2]! });
        byLater.set(e[i + 1]!, list);
      }
    }
  const counts: ClusterCounts = {
    docs: n,
    exactDuplicates: 0,
    nearDuplicates: 0,
    candidatePairs: 0,
    verifiedPairs: 0,
    rejectedCandidates: 0,
    clusterMerges: 0,
  };
  const keep = new Uint8Array(n);
  const duplicates: DuplicateRecord[] = [];
  const uf = new UnionFind();
  const threshold = spec.near?.threshold ?? Infinity;
  for (let d = 0; d < n; d++) {
    const me = uf.add();
    if (exactOf[d]! >= 0) {
      keep[d] = KEEP.exact;
      counts.exactDuplicates++;
      duplicates.push({ id: ids[d]!, duplicateOf: ids[exactOf[d]!]!, kind: 'exact' });
      continue;
    }
    let bestSim = -1;
    let bestDoc = -1;
    let matchedRoot = -1;
    // exact duplicates never reach the local near-dedup stage, so they are nobody's candidate
    const cands = (byLater.get(d) ?? []).filter((c) => exactOf[c.earlier]! < 0).sort((a, b) => a.earlier - b.earlier);
    for (const c of cands) {
      counts.candidatePairs++;
      if (spec.near!.verify) counts.verifiedPairs++;
      if (c.sim >= threshold) {
        const rootBefore = uf.find(c.earlier);
        if (matchedRoot >= 0 && rootBefore !== uf.find(me)) counts.clusterMerges++;
        uf.union(me, c.earlier);
        matchedRoot = uf.find(me);
        if (c.sim > bestSim) {
          bestSim = c.sim;
          bestDoc = c.earlier;
        }
      } else counts.rejectedCandidates++;
    }
    if (matchedRoot < 0) {
      keep[d] = KEEP.kept;
      continue;
    }
    keep[d] = KEEP.near;
    counts.nearDuplicates++;
    const root = uf.find(me);
    const rec: DuplicateRecord = { id: ids[d]!, duplicateOf: ids[root]!, kind: 'near' };
    if (spec.near!.verify) rec.jaccard = Number(bestSim.toFixed(4));
    else rec.estimated = Number(bestSim.toFixed(4));
    if (bestDoc !== root) rec.via = ids[bestDoc]!;
    duplicates.push(rec);
  }
  for (const c of spec.chunks) await store.write(chunkKey.keep(c.key), keep.subarray(c.firstDoc, c.firstDoc + c.docs));
  await store.write(CLUSTERS_KEY, JSON.stringify({ counts, duplicates }));
  return counts;
}
