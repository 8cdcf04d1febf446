import { Worker } from 'node:worker_threads';
import * as os from 'node:os';
import { SeededRandom } from './util';

/**
 * The MinHash kernel, as plain JavaScript source so that the very same code runs in the main thread (compiled once
 * with `new Function`) and in worker threads (`new Worker(src, { eval: true })`) whatever the module format
 * (ESM/CJS build, jest, tsx).
 *
 * Shingles: the text is lower-cased and split into words (maximal runs of ASCII letters/digits or non-ASCII
 * characters other than Unicode spaces and general punctuation); each word gets a 32-bit FNV-1a hash; each word
 * n-gram (n = 5 by default; a document with fewer words is one shingle) is hashed to 32 bits by a murmur3-style
 * combine + fmix32 finaliser; the shingle set is the sorted, de-duplicated array of those hashes.
 *
 * Permutations: datasketch uses h_k(x) = ((a_k·x + b_k) mod (2^61 − 1)) & (2^32 − 1), which needs 93-bit
 * products. Here h_k(x) = fmix32(x XOR s_k) with 128 random 32-bit seeds s_k: each h_k is a bijection of the
 * 32-bit space (a pseudo-random permutation), all integer work stays in 32 bits (Math.imul), and the estimator
 * P[min h_k(A) = min h_k(B)] = J(A, B) holds as for any family of independent random permutations. The test suite
 * checks unbiasedness and the binomial variance J(1−J)/k of the estimate.
 */
export const MINHASH_KERNEL_SRC = String.raw`
function fmix32(h) { h ^= h >>> 16; h = Math.imul(h, 0x85ebca6b); h ^= h >>> 13; h = Math.imul(h, 0xc2b2ae35); h ^= h >>> 16; return h >>> 0; }
var WORD = new Uint8Array(128);
for (var c0 = 48; c0 < 58; c0++) WORD[c0] = 1;
for (var c1 = 97; c1 < 123; c1++) WORD[c1] = 1;
for (var c2 = 65; c2 < 91; c2++) WORD[c2] = 1;
var wbuf = new Int32Array(4096);
var sbuf = new Uint32Array(4096);
function pushWord(h, nw) { if (nw === wbuf.length) { var t = new Int32Array(nw * 2); t.set(wbuf); wbuf = t; } wbuf[nw] = fmix32(h); return nw + 1; }
function isWordChar(c) {
  if (c < 128) return WORD[c] === 1;
  if (c === 0xa0 || c === 0x1680 || c === 0x3000 || c === 0xfeff) return false;
  if (c >= 0x2000 && c <= 0x206f) return false;
  if (c >= 0x3001 && c <= 0x3003) return false;
  return true;
}
function shingleSet(text, ngram) {
  var s = text.toLowerCase();
  var nw = 0, h = 0, inw = false;
  for (var i = 0; i < s.length; i++) {
    var c = s.charCodeAt(i);
    if (isWordChar(c)) { if (!inw) { h = 0x811c9dc5; inw = true; } h = Math.imul(h ^ c, 16777619); }
    else if (inw) { nw = pushWord(h, nw); inw = false; }
  }
  if (inw) nw = pushWord(h, nw);
  if (nw === 0) return new Uint32Array(0);
  var ns = nw >= ngram ? nw - ngram + 1 : 1;
  if (sbuf.length < ns) sbuf = new Uint32Array(ns * 2);
  for (var a = 0; a < ns; a++) {
    var x = 0x9747b28c | 0, e = a + ngram < nw ? a + ngram : nw;
    for (var j = a; j < e; j++) { x = (Math.imul(((x << 13) | (x >>> 19)) ^ wbuf[j], 5) + 0xe6546b64) | 0; }
    sbuf[a] = fmix32(x ^ (e - a));
  }
  var out = sbuf.slice(0, ns);
  out.sort();
  var u = 0;
  for (var k = 0; k < ns; k++) if (k === 0 || out[k] !== out[k - 1]) out[u++] = out[k];
  return u === ns ? out : out.slice(0, u);
}
function signature(sh, seeds, out, off) {
  var P = seeds.length, n = sh.length, k, i;
  for (k = 0; k < P; k++) {
    var s = seeds[k], m = 0xffffffff;
    for (i = 0; i < n; i++) {
      var h = sh[i] ^ s;
      h ^= h >>> 16; h = Math.imul(h, 0x85ebca6b); h ^= h >>> 13; h = Math.imul(h, 0xc2b2ae35); h ^= h >>> 16;
      h = h >>> 0;
      if (h < m) m = h;
    }
    out[off + k] = m;
  }
}
function computeBatch(texts, ngram, seeds) {
  var n = texts.length, P = seeds.length;
  var sigs = new Uint32Array(n * P);
  var offsets = new Uint32Array(n + 1);
  var sets = new Array(n), total = 0;
  for (var d = 0; d < n; d++) { var sh = shingleSet(texts[d], ngram); sets[d] = sh; total += sh.length; signature(sh, seeds, sigs, d * P); offsets[d + 1] = total; }
  var data = new Uint32Array(total);
  for (var d2 = 0; d2 < n; d2++) data.set(sets[d2], offsets[d2]);
  return { sigs: sigs, offsets: offsets, data: data };
}
`;

const WORKER_SRC = `
const { parentPort, workerData } = require('node:worker_threads');
${MINHASH_KERNEL_SRC}
const seeds = new Uint32Array(workerData.seeds);
parentPort.on('message', (msg) => {
  try {
    const r = computeBatch(msg.texts, workerData.ngram, seeds);
    parentPort.postMessage({ id: msg.id, sigs: r.sigs, offsets: r.offsets, data: r.data }, [r.sigs.buffer, r.offsets.buffer, r.data.buffer]);
  } catch (e) {
    parentPort.postMessage({ id: msg.id, error: String(e && e.stack || e) });
  }
});
`;

export interface MinHashBatch {
  /** n × numPerm signature values. */
  sigs: Uint32Array;
  /** Shingle set of document d = data[offsets[d] .. offsets[d+1]) (sorted, unique 32-bit shingle hashes). */
  offsets: Uint32Array;
  data: Uint32Array;
}

interface Kernel {
  shingleSet(text: string, ngram: number): Uint32Array;
  signature(sh: Uint32Array, seeds: Uint32Array, out: Uint32Array, off: number): void;
  computeBatch(texts: string[], ngram: number, seeds: Uint32Array): MinHashBatch;
}

let kernel: Kernel | null = null;
function getKernel(): Kernel {
  kernel ??= new Function(`${MINHASH_KERNEL_SRC}; return { shingleSet: shingleSet, signature: signature, computeBatch: computeBatch };`)() as Kernel;
  return kernel;
}

/** The permutation seeds for `numPerm` permutations (deterministic in `seed`). */
export function permutationSeeds(numPerm: number, seed = 1): Uint32Array {
  if (!Number.isInteger(numPerm) || numPerm < 2) throw new Error(`numPerm must be an integer ≥ 2, got ${numPerm}`);
  const rng = new SeededRandom(seed ^ 0x5bd1e995);
  const s = new Uint32Array(numPerm);
  for (let i = 0; i < numPerm; i++) s[i] = rng.nextU32();
  return s;
}

/** The sorted, unique 32-bit hashes of the word n-grams of `text` (see MINHASH_KERNEL_SRC). */
export function shingleSet(text: string, ngram = 5): Uint32Array {
  return getKernel().shingleSet(text, ngram);
}

/** MinHash signature of a shingle set. */
export function minhashSignature(shingles: Uint32Array, seeds: Uint32Array): Uint32Array {
  const out = new Uint32Array(seeds.length);
  getKernel().signature(shingles, seeds, out, 0);
  return out;
}

/** Shingles + signatures of many texts in the calling thread. */
export function computeMinHashBatch(texts: string[], ngram: number, seeds: Uint32Array): MinHashBatch {
  return getKernel().computeBatch(texts, ngram, seeds);
}

/** Exact Jaccard similarity of two sorted unique arrays. Two empty sets have similarity 1. */
export function jaccardSorted(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const na = a.length;
  const nb = b.length;
  if (na === 0 && nb === 0) return 1;
  let i = 0;
  let j = 0;
  let inter = 0;
  while (i < na && j < nb) {
    const x = a[i]!;
    const y = b[j]!;
    if (x === y) {
      inter++;
      i++;
      j++;
    } else if (x < y) i++;
    else j++;
  }
  return inter / (na + nb - inter);
}

/** Fraction of equal positions in two signatures: the MinHash estimate of Jaccard similarity. */
export function estimateJaccard(a: ArrayLike<number>, b: ArrayLike<number>, aOff = 0, bOff = 0, len = a.length - aOff): number {
  let eq = 0;
  for (let k = 0; k < len; k++) if (a[aOff + k] === b[bOff + k]) eq++;
  return eq / len;
}

export interface MinHashPoolOptions {
  /** Number of worker threads; 0 computes in the calling thread. Default: available cores (at most 4). */
  workers?: number;
  numPerm?: number;
  ngram?: number;
  seed?: number;
}

export function defaultWorkerCount(): number {
  const cores = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  return Math.max(1, Math.min(4, cores));
}

/** Computes MinHash signatures of batches of texts in worker threads. */
export class MinHashPool {
  readonly numPerm: number;
  readonly ngram: number;
  readonly seeds: Uint32Array;
  readonly workerCount: number;
  private workers: Worker[] = [];
  private pending: Array<Map<number, { resolve: (b: MinHashBatch) => void; reject: (e: Error) => void }>> = [];
  private nextId = 0;
  private closed = false;

  constructor(opts: MinHashPoolOptions = {}) {
    this.numPerm = opts.numPerm ?? 128;
    this.ngram = opts.ngram ?? 5;
    if (!Number.isInteger(this.ngram) || this.ngram < 1) throw new Error(`ngram must be an integer ≥ 1, got ${this.ngram}`);
    this.seeds = permutationSeeds(this.numPerm, opts.seed ?? 1);
    this.workerCount = opts.workers ?? defaultWorkerCount();
    for (let w = 0; w < this.workerCount; w++) {
      const worker = new Worker(WORKER_SRC, { eval: true, workerData: { seeds: Array.from(this.seeds), ngram: this.ngram } });
      const pending = new Map<number, { resolve: (b: MinHashBatch) => void; reject: (e: Error) => void }>();
      worker.on('message', (msg: { id: number; error?: string } & MinHashBatch) => {
        const p = pending.get(msg.id);
        if (!p) return;
        pending.delete(msg.id);
        if (pending.size === 0) worker.unref();
        if (msg.error) p.reject(new Error(`MinHash worker failed: ${msg.error}`));
        else p.resolve({ sigs: msg.sigs, offsets: msg.offsets, data: msg.data });
      });
      worker.on('error', (e) => {
        for (const p of pending.values()) p.reject(e);
        pending.clear();
      });
      worker.unref();
      this.workers.push(worker);
      this.pending.push(pending);
    }
  }

  /** Shingle sets and signatures of `texts` (in order). */
  compute(texts: string[]): Promise<MinHashBatch> {
    if (this.closed) return Promise.reject(new Error('MinHashPool is closed'));
    if (this.workerCount === 0) {
      try {
        return Promise.resolve(computeMinHashBatch(texts, this.ngram, this.seeds));
      } catch (e) {
        return Promise.reject(e as Error);
      }
    }
    let best = 0;
    for (let w = 1; w < this.workers.length; w++) if (this.pending[w]!.size < this.pending[best]!.size) best = w;
    const id = this.nextId++;
    return new Promise<MinHashBatch>((resolve, reject) => {
      const pending = this.pending[best]!;
      if (pending.size === 0) this.workers[best]!.ref(); // keep the process alive while work is outstanding
      pending.set(id, { resolve, reject });
      this.workers[best]!.postMessage({ id, texts });
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(this.workers.map((w) => w.terminate()));
    for (const p of this.pending) {
      for (const q of p.values()) q.reject(new Error('MinHashPool closed'));
      p.clear();
    }
  }
}
