// The BPE model: byte-level vocabulary + ranked merges, applied to one pre-tokenised piece at a time.
// Everything in the hot path works on integer token ids: a piece is UTF-8 encoded straight into byte-token ids,
// pairs are looked up in an open-addressing hash table (typed arrays, no string keys), and the lowest-ranked
// pair is merged until none is left (GPT-2's `bpe()`; leftmost first among equal ranks).

import { MinHeap } from '@gptlab/common';
import { BYTE_TO_CHAR, byteLevelToBytes, textEncoder, utf8Encode } from './bytes';

const NONE = 0x7fffffff;

export interface BPEModelOptions {
  /** Token string (byte-level alphabet) → id. */
  vocab: Map<string, number>;
  /** Merges in rank order, each [left, right] as token strings. */
  merges: Array<[string, string]>;
  /** Used in error messages: the files the vocab/merges came from. */
  vocabSource?: string;
  mergesSource?: string;
  /** 1-based line number of each merge in its file (for error messages). */
  mergeLines?: number[];
  /** Overrides the "file:line" prefix of errors about merge `rank`. */
  mergeLocation?: (rank: number) => string;
}

function hashPair(a: number, b: number): number {
  let h = (Math.imul(a, 0x9e3779b1) + b) | 0;
  h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d);
  h ^= h >>> 12;
  h = Math.imul(h, 0x297a2d39);
  return h ^ (h >>> 15);
}

export class BPEModel {
  /** id → token string in the byte-level alphabet (undefined for ids that are not BPE tokens). */
  readonly tokens: (string | undefined)[];
  readonly vocab: Map<string, number>;
  readonly merges: ReadonlyArray<readonly [string, string]>;
  /** id of the byte-level token of each byte. */
  readonly byteToId: Int32Array;
  /** ids that merges produce (or bytes): reachable by encoding. */
  readonly reachable: Uint8Array;

  // Merge table: (a, b) → rank and merged id.
  private readonly mA: Int32Array;
  private readonly mB: Int32Array;
  private readonly mRank: Int32Array;
  private readonly mOut: Int32Array;
  private readonly mMask: number;

  // Scratch space for encodePiece.
  private sym = new Int32Array(256);
  private rank = new Int32Array(256);
  private prev = new Int32Array(0);
  private next = new Int32Array(0);
  private readonly heap = new MinHeap(256);
  private utf8 = new Uint8Array(1024);

  constructor(opts: BPEModelOptions) {
    const vocabSrc = opts.vocabSource ?? 'vocab';
    const mergesSrc = opts.mergesSource ?? 'merges';
    this.vocab = opts.vocab;
    let maxId = -1;
    for (const id of opts.vocab.values()) if (id > maxId) maxId = id;
    this.tokens = new Array(maxId + 1);
    for (const [tok, id] of opts.vocab) {
      const prev = this.tokens[id];
      if (prev !== undefined) {
        throw new Error(`${vocabSrc}: id ${id} is used by two tokens, ${JSON.stringify(prev)} and ${JSON.stringify(tok)}`);
      }
      this.tokens[id] = tok;
    }
    this.byteToId = new Int32Array(256);
    this.reachable = new Uint8Array(maxId + 1);
    for (let b = 0; b < 256; b++) {
      const id = opts.vocab.get(BYTE_TO_CHAR[b]);
      if (id === undefined) {
        throw new Error(
          `${vocabSrc}: the byte-level token ${JSON.stringify(BYTE_TO_CHAR[b])} (byte 0x${b.toString(16).padStart(2, '0')}) is missing; a byte-level BPE vocabulary must contain all 256 byte tokens`,
        );
      }
      this.byteToId[b] = id;
      this.reachable[id] = 1;
    }
    const nm = opts.merges.length;
    let cap = 16;
    while (cap < nm * 2) cap *= 2;
    this.mA = new Int32Array(cap).fill(-1);
    this.mB = new Int32Array(cap);
    this.mRank = new Int32Array(cap);
    this.mOut = new Int32Array(cap);
    this.mMask = cap - 1;
    this.merges = opts.merges;
    for (let r = 0; r < nm; r++) {
      const [x, y] = opts.merges[r];
      const where = opts.mergeLocation ? opts.mergeLocation(r) : `${mergesSrc}:${opts.mergeLines ? opts.mergeLines[r] : r + 1}`;
      const a = opts.vocab.get(x);
      const b = opts.vocab.get(y);
      if (a === undefined) throw new Error(`${where}: unknown symbol ${JSON.stringify(x)} (not in ${vocabSrc})`);
      if (b === undefined) throw new Error(`${where}: unknown symbol ${JSON.stringify(y)} (not in ${vocabSrc})`);
      const out = opts.vocab.get(x + y);
      if (out === undefined) {
        throw new Error(
          `${where}: merge result ${JSON.stringify(x + y)} of "${x} ${y}" is not in ${vocabSrc} (mismatched vocab and merges files?)`,
        );
      }
      let s = hashPair(a, b) & this.mMask;
      while (this.mA[s] !== -1) {
        if (this.mA[s] === a && this.mB[s] === b) {
          const r0 = this.mRank[s];
          const first = opts.mergeLocation ? opts.mergeLocation(r0) : `line ${opts.mergeLines ? opts.mergeLines[r0] : r0 + 1}`;
          throw new Error(`${where}: duplicate merge "${x} ${y}" (first at ${first})`);
        }
        s = (s + 1) & this.mMask;
      }
      this.mA[s] = a;
      this.mB[s] = b;
      this.mRank[s] = r;
      this.mOut[s] = out;
      this.reachable[out] = 1;
    }
  }

  /** Number of ids (max id + 1). */
  get size(): number {
    return this.tokens.length;
  }

  /** Bytes of an ordinary token, or null when the token string is not in the byte-level alphabet. */
  tokenBytes(id: number): Uint8Array | null {
    const t = this.tokens[id];
    return t === undefined ? null : byteLevelToBytes(t);
  }

  /** Rank of merging (a, b), or -1. */
  mergeRank(a: number, b: number): number {
    const s = this.slot(a, b);
    return s < 0 ? -1 : this.mRank[s];
  }

  private slot(a: number, b: number): number {
    const mA = this.mA;
    let s = hashPair(a, b) & this.mMask;
    for (;;) {
      const x = mA[s];
      if (x === a && this.mB[s] === b) return s;
      if (x === -1) return -1;
      s = (s + 1) & this.mMask;
    }
  }

  /**
   * Encodes `text[start, end)` (one pre-tokenised piece), writing its ids to `out` from index `at`; returns the
   * new end. `out` must have room for 3 * (end - start) ids after `at` (a piece has at most one id per byte).
   */
  encodePiece(text: string, start: number, end: number, out: Int32Array, at: number): number {
    if (this.utf8.length < (end - start) * 3) this.utf8 = new Uint8Array((end - start) * 3 + 64);
    const n = utf8Encode(text, start, end, this.utf8);
    return this.encodeBytes(this.utf8, n, out, at);
  }

  /** Encodes `bytes[0, n)` as one piece, writing ids to `out` from `at` (room for n ids); returns the new end. */
  encodeBytes(bytes: ArrayLike<number>, n: number, out: Int32Array, at: number): number {
    const b2i = this.byteToId;
    if (n === 1) {
      out[at] = b2i[bytes[0]];
      return at + 1;
    }
    if (n > 96) return this.encodeLong(bytes, n, out, at);
    if (this.sym.length < n) {
      this.sym = new Int32Array(n * 2);
      this.rank = new Int32Array(n * 2);
    }
    const sym = this.sym;
    const rank = this.rank;
    for (let i = 0; i < n; i++) sym[i] = b2i[bytes[i]];
    // rank[i]: rank of the pair (sym[i], sym[i+1]) or NONE.
    for (let i = 0; i + 1 < n; i++) rank[i] = this.mergeRankOrNone(sym[i], sym[i + 1]);
    let len = n;
    for (;;) {
      let best = NONE;
      let bi = -1;
      for (let i = 0; i + 1 < len; i++) {
        if (rank[i] < best) {
          best = rank[i];
          bi = i;
        }
      }
      if (bi < 0) break;
      sym[bi] = this.mOut[this.slot(sym[bi], sym[bi + 1])];
      for (let i = bi + 1; i + 1 < len; i++) {
        sym[i] = sym[i + 1];
        rank[i] = rank[i + 1];
      }
      len--;
      if (bi + 1 < len) rank[bi] = this.mergeRankOrNone(sym[bi], sym[bi + 1]);
      else rank[bi] = NONE;
      if (bi > 0) rank[bi - 1] = this.mergeRankOrNone(sym[bi - 1], sym[bi]);
    }
    for (let i = 0; i < len; i++) out[at++] = sym[i];
    return at;
  }

  private mergeRankOrNone(a: number, b: number): number {
    const s = this.slot(a, b);
    return s < 0 ? NONE : this.mRank[s];
  }

  /**
   * Long pieces: doubly linked symbols + a min-heap of merge candidates with lazy invalidation, O(n log n).
   * A candidate is one float64 key, rank · 2^31 + position — exact while ranks stay below 2^22 (4M merges; real
   * vocabularies have a few hundred thousand): the lowest rank pops first, then the leftmost, as GPT-2's `bpe()`.
   */
  private encodeLong(bytes: ArrayLike<number>, n: number, out: Int32Array, at: number): number {
    if (this.prev.length < n) {
      this.prev = new Int32Array(n);
      this.next = new Int32Array(n);
    }
    if (this.sym.length < n) {
      this.sym = new Int32Array(n);
      this.rank = new Int32Array(n);
    }
    const sym = this.sym;
    const prev = this.prev;
    const next = this.next;
    const heap = this.heap;
    heap.clear();
    const POS = 2 ** 31;
    for (let i = 0; i < n; i++) {
      sym[i] = this.byteToId[bytes[i]];
      prev[i] = i - 1;
      next[i] = i + 1 < n ? i + 1 : -1;
    }
    for (let i = 0; i + 1 < n; i++) {
      const r = this.mergeRank(sym[i], sym[i + 1]);
      if (r >= 0) heap.push(r * POS + i);
    }
    while (heap.size > 0) {
      const key = heap.pop();
      const r = Math.floor(key / POS);
      const i = key - r * POS;
      const j = next[i];
      if (sym[i] < 0 || j < 0) continue; // i was merged away, or has no right neighbour any more
      const s = this.slot(sym[i], sym[j]);
      if (s < 0 || this.mRank[s] !== r) continue; // stale entry
      sym[i] = this.mOut[s];
      sym[j] = -1;
      const k = next[j];
      next[i] = k;
      if (k >= 0) prev[k] = i;
      const p = prev[i];
      if (p >= 0) {
        const rp = this.mergeRank(sym[p], sym[i]);
        if (rp >= 0) heap.push(rp * POS + p);
      }
      if (k >= 0) {
        const rk = this.mergeRank(sym[i], sym[k]);
        if (rk >= 0) heap.push(rk * POS + i);
      }
    }
    for (let i = 0; i >= 0; i = next[i]) out[at++] = sym[i];
    return at;
  }

  /** Encodes a whole string as one piece (no pre-tokenisation); for tests and tools. */
  encodeWord(word: string): number[] {
    const bytes = textEncoder.encode(word);
    const out = new Int32Array(bytes.length);
    const n = bytes.length > 0 ? this.encodeBytes(bytes, bytes.length, out, 0) : 0;
    return Array.from(out.subarray(0, n));
  }
}
