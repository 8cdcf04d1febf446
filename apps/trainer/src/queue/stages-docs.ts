// The per-chunk stages of a queued run: clean (normalise + filter), minhash (content hashes, shingles,
// signatures, band keys by partition), filter (apply the cluster decisions) and tokenise. Each reads and writes
// whole objects in the run's storage under names fixed by the chunk, so a retried task rewrites the same bytes.
import {
  arraySource,
  bandKeys,
  collect,
  computeMinHashBatch,
  contentHash,
  filterStage,
  normalizeStage,
  permutationSeeds,
  pipe,
  type Doc,
  type StageStats,
} from '@gptlab/data';
import { BPETokenizer } from '@gptlab/tokenizer';
import { KEEP, type RunSpec } from './protocol';
import { bytesOf, u32, type TaskStorage } from './storage';

/** A document as the intermediate JSONL files hold it (`raw`: the input line, for dedup's verbatim output). */
export interface StoredDoc {
  id: string;
  text: string;
  raw?: string;
  invalidUtf8?: number;
}

export function docLines(docs: StoredDoc[]): string {
  return docs.map((d) => JSON.stringify(d) + '\n').join('');
}

export async function readDocs(store: TaskStorage, key: string): Promise<StoredDoc[]> {
  const text = (await store.read(key)).toString('utf8');
  return text
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as StoredDoc);
}

/** Storage keys of a chunk's files. */
export const chunkKey = {
  input: (k: string) => `in/${k}.jsonl`,
  clean: (k: string) => `clean/${k}.jsonl`,
  hashes: (k: string) => `hash/${k}.json`,
  shingles: (k: string) => `sh/${k}.bin`,
  signatures: (k: string) => `sig/${k}.bin`,
  bands: (p: number, k: string) => `bands/${p}/${k}.bin`,
  keep: (k: string) => `keep/${k}.bin`,
  kept: (k: string) => `kept/${k}.jsonl`,
  tokens: (k: string) => `tok/${k}.bin`,
};

/** The partition of a band bucket: every entry of one bucket lands in the same partition. */
export function bucketPartition(band: number, foldedKey: number, partitions: number): number {
  return (Math.imul(foldedKey ^ Math.imul(band + 1, 0x9e3779b1), 0x85ebca6b) >>> 0) % partitions;
}

/** normalise (+ filter): the same Stage objects the local pipeline runs, on one chunk. */
export async function cleanTask(store: TaskStorage, spec: RunSpec, chunk: number): Promise<{ docs: number; stages: StageStats[] }> {
  const k = spec.chunks[chunk]!.key;
  const input = await readDocs(store, chunkKey.input(k));
  const docs: Doc[] = input.map((d) => ({ id: d.id, text: d.text, meta: { raw: d.raw, invalidUtf8: d.invalidUtf8 } }));
  const stages = [normalizeStage({ dropEmpty: spec.dropEmpty }), ...(spec.filter ? [filterStage({})] : [])];
  const out = await collect(pipe(arraySource(docs), ...stages));
  const stored: StoredDoc[] = out.map((d) => ({
    id: d.id,
    text: d.text,
    ...(d.meta?.raw !== undefined ? { raw: d.meta.raw as string } : {}),
  }));
  await store.write(chunkKey.clean(k), docLines(stored));
  return { docs: stored.length, stages: stages.map((s) => s.stats) };
}

/**
 * Content hashes (exact dedup) and, with near dedup, shingle sets, signatures and band entries
 * (band, folded key, document) split by bucket partition. Keys are folded to 30 bits as MemoryLshIndex does,
 * so the candidate pairs are exactly the local run's.
 */
export async function minhashTask(store: TaskStorage, spec: RunSpec, chunk: number): Promise<{ noShingles: number }> {
  const c = spec.chunks[chunk]!;
  const docs = await readDocs(store, chunkKey.clean(c.key));
  // [id, content hash] per document: all the clusters stage needs to name duplicates and find exact ones
  await store.write(chunkKey.hashes(c.key), JSON.stringify(docs.map((d) => [d.id, contentHash(d.text)])));
  const p = spec.near;
  if (!p) return { noShingles: 0 };
  const batch = computeMinHashBatch(
    docs.map((d) => d.text),
    p.ngram,
    permutationSeeds(p.numPerm, p.seed),
  );
  const header = new Uint32Array([docs.length]);
  await store.write(chunkKey.shingles(c.key), Buffer.concat([bytesOf(header), bytesOf(batch.offsets), bytesOf(batch.data)]));
  await store.write(chunkKey.signatures(c.key), bytesOf(batch.sigs));
  const parts: number[][] = Array.from({ length: spec.partitions }, () => []);
  const keys = new Float64Array(p.bands);
  let noShingles = 0;
  for (let d = 0; d < docs.length; d++) {
    // documents without shingles are kept and never indexed (as in the local near-dedup stage)
    if (batch.offsets[d + 1] === batch.offsets[d]) {
      noShingles++;
      continue;
    }
    bandKeys(batch.sigs, d * p.numPerm, p.bands, p.rows, keys);
    for (let b = 0; b < p.bands; b++) {
      const folded = keys[b]! & 0x3fffffff;
      parts[bucketPartition(b, folded, spec.partitions)]!.push(b, folded, c.firstDoc + d);
    }
  }
  for (let q = 0; q < spec.partitions; q++) await store.write(chunkKey.bands(q, c.key), bytesOf(new Uint32Array(parts[q]!)));
  return { noShingles };
}

/** Shingle sets of a chunk, as written by minhashTask. */
export function parseShingles(buf: Buffer): { offsets: Uint32Array; data: Uint32Array } {
  const all = u32(buf);
  const n = all[0]!;
  return { offsets: all.subarray(1, n + 2), data: all.subarray(n + 2) };
}

/** Keeps the documents the clusters stage kept; counts the bytes each kind of removal took (for the report). */
export async function filterTask(store: TaskStorage, spec: RunSpec, chunk: number): Promise<{ kept: number; bytes: number[] }> {
  const k = spec.chunks[chunk]!.key;
  const docs = await readDocs(store, chunkKey.clean(k));
  const keep = await store.read(chunkKey.keep(k));
  if (keep.length !== docs.length) throw new Error(`keep mask of chunk ${k} has ${keep.length} entries for ${docs.length} documents`);
  const bytes = [0, 0, 0, 0];
  docs.forEach((d, i) => (bytes[keep[i]!]! += Buffer.byteLength(d.text, 'utf8')));
  const kept = docs.filter((_, i) => keep[i] === KEEP.kept);
  await store.write(chunkKey.kept(k), docLines(kept));
  return { kept: kept.length, bytes };
}

export const TOKENIZER_KEY = 'tokenizer.json';
const tokenizers = new Map<string, BPETokenizer>();

/** Token ids of the kept documents: [n, length of each document, ids...] as uint32. */
export async function tokeniseTask(store: TaskStorage, spec: RunSpec, chunk: number): Promise<{ tokens: number }> {
  const k = spec.chunks[chunk]!.key;
  // one parse per run and worker process (the tokenizer is copied into the run's storage by the coordinator)
  let tok = tokenizers.get(spec.run);
  if (!tok) tokenizers.set(spec.run, (tok = BPETokenizer.fromJSON((await store.read(TOKENIZER_KEY)).toString('utf8'))));
  const docs = await readDocs(store, chunkKey.kept(k));
  const ids = docs.map((d) => tok.encode(d.text));
  const total = ids.reduce((a, x) => a + x.length, 0);
  const out = new Uint32Array(1 + docs.length + total);
  out[0] = docs.length;
  let o = 1 + docs.length;
  ids.forEach((x, i) => {
    out[1 + i] = x.length;
    out.set(x, o);
    o += x.length;
  });
  await store.write(chunkKey.tokens(k), bytesOf(out));
  return { tokens: total };
}

/** The token ids of each document of a tokenised chunk. */
export function parseTokens(buf: Buffer): Uint32Array[] {
  const all = u32(buf);
  const n = all[0]!;
  const out: Uint32Array[] = [];
  let o = 1 + n;
  for (let i = 0; i < n; i++) {
    out.push(all.subarray(o, o + all[1 + i]!));
    o += all[1 + i]!;
  }
  return out;
}
