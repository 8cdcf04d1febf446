// The MinHash kernel: word n-gram shingles and signatures. It runs in the calling thread and in the worker
// threads of MinHashPool (minhash-worker.ts).
//
// Shingles: the text is lower-cased and split into words (maximal runs of ASCII letters/digits or non-ASCII
// characters other than Unicode spaces and general punctuation); each word gets a 32-bit FNV-1a hash; each word
// n-gram (n = 5 by default; a document with fewer words is one shingle) is hashed to 32 bits by a murmur3-style
// combine + fmix32 finaliser; the shingle set is the sorted, de-duplicated array of those hashes.
//
// Permutations: datasketch uses h_k(x) = ((a_k·x + b_k) mod (2^61 − 1)) & (2^32 − 1), which needs 93-bit
// products. Here h_k(x) = fmix32(x XOR s_k) with random 32-bit seeds s_k: each h_k is a bijection of the 32-bit
// space (a pseudo-random permutation), all integer work stays in 32 bits (Math.imul), and the estimator
// P[min h_k(A) = min h_k(B)] = J(A, B) holds as for any family of independent random permutations. The test suite
// checks unbiasedness and the binomial variance J(1−J)/k of the estimate.

import { fmix32 } from './util';

export interface MinHashBatch {
  /** n × numPerm signature values. */
  sigs: Uint32Array;
  /** Shingle set of document d = data[offsets[d] .. offsets[d+1]) (sorted, unique 32-bit shingle hashes). */
  offsets: Uint32Array;
  data: Uint32Array;
}

// ASCII letters and digits; other ASCII characters separate words.
const ASCII_WORD = new Uint8Array(128);
for (let c = 48; c < 58; c++) ASCII_WORD[c] = 1;
for (let c = 65; c < 91; c++) ASCII_WORD[c] = 1;
for (let c = 97; c < 123; c++) ASCII_WORD[c] = 1;

function isWordChar(c: number): boolean {
  if (c < 128) return ASCII_WORD[c] === 1;
  if (c === 0xa0 || c === 0x1680 || c === 0x3000 || c === 0xfeff) return false; // Unicode spaces
  if (c >= 0x2000 && c <= 0x206f) return false; // general punctuation (and the spaces U+2000–U+200B)
  if (c >= 0x3001 && c <= 0x3003) return false; // 、。〃
  return true;
}

// Scratch buffers, reused across calls (grown when a document needs more).
let wordHashes = new Int32Array(4096);
let shingleBuf = new Uint32Array(4096);

function pushWord(h: number, n: number): number {
  if (n === wordHashes.length) {
    const grown = new Int32Array(n * 2);
    grown.set(wordHashes);
    wordHashes = grown;
  }
  wordHashes[n] = fmix32(h);
  return n + 1;
}

/** The sorted, unique 32-bit hashes of the word n-grams of `text`. */
export function shingleSet(text: string, ngram: number): Uint32Array {
  const s = text.toLowerCase();
  let nw = 0;
  let h = 0;
  let inWord = false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (isWordChar(c)) {
      if (!inWord) {
        h = 0x811c9dc5;
        inWord = true;
      }
      h = Math.imul(h ^ c, 16777619);
    } else if (inWord) {
      nw = pushWord(h, nw);
      inWord = false;
    }
  }
  if (inWord) nw = pushWord(h, nw);
  if (nw === 0) return new Uint32Array(0);
  const ns = nw >= ngram ? nw - ngram + 1 : 1;
  if (shingleBuf.length < ns) shingleBuf = new Uint32Array(ns * 2);
  for (let a = 0; a < ns; a++) {
    let x = 0x9747b28c | 0;
    const e = a + ngram < nw ? a + ngram : nw;
    for (let j = a; j < e; j++) x = (Math.imul(((x << 13) | (x >>> 19)) ^ wordHashes[j]!, 5) + 0xe6546b64) | 0;
    shingleBuf[a] = fmix32(x ^ (e - a));
  }
  const out = shingleBuf.slice(0, ns);
  out.sort();
  let u = 0;
  for (let k = 0; k < ns; k++) if (k === 0 || out[k] !== out[k - 1]) out[u++] = out[k]!;
  return u === ns ? out : out.slice(0, u);
}

/** Writes the MinHash signature of shingle set `sh` (one minimum per seed) into out[off, off + seeds.length). */
export function signature(sh: Uint32Array, seeds: Uint32Array, out: Uint32Array, off: number): void {
  const n = sh.length;
  for (let k = 0; k < seeds.length; k++) {
    const s = seeds[k]!;
    let m = 0xffffffff;
    for (let i = 0; i < n; i++) {
      // fmix32(sh[i] ^ s), inlined: this is the innermost loop of deduplication
      let h = sh[i]! ^ s;
      h ^= h >>> 16;
      h = Math.imul(h, 0x85ebca6b);
      h ^= h >>> 13;
      h = Math.imul(h, 0xc2b2ae35);
      h ^= h >>> 16;
      h = h >>> 0;
      if (h < m) m = h;
    }
    out[off + k] = m;
  }
}

/** Shingle sets and signatures of `texts`, in flat typed arrays (cheap to transfer between threads). */
export function computeBatch(texts: readonly string[], ngram: number, seeds: Uint32Array): MinHashBatch {
  const n = texts.length;
  const P = seeds.length;
  const sigs = new Uint32Array(n * P);
  const offsets = new Uint32Array(n + 1);
  const sets: Uint32Array[] = new Array(n);
  let total = 0;
  for (let d = 0; d < n; d++) {
    const sh = shingleSet(texts[d]!, ngram);
    sets[d] = sh;
    total += sh.length;
    signature(sh, seeds, sigs, d * P);
    offsets[d + 1] = total;
  }
  const data = new Uint32Array(total);
  for (let d = 0; d < n; d++) data.set(sets[d]!, offsets[d]!);
  return { sigs, offsets, data };
}
