// The encoder's word cache: pre-tokenised piece → its token ids. Text is mostly made of a few thousand distinct
// words, so after warm-up nearly every piece is a hit and BPE merging runs only for new words (tiktoken and
// GPT-2's encoder.py cache the same way). Open addressing over a 32-bit hash of the piece's UTF-16 code units,
// with keys and values in typed-array pools, so that a hit allocates nothing (no substring, no array). When a
// pool or the entry budget is full the cache is emptied at once rather than evicting piece by piece.
import type { BPEModel } from './model';
import { describe } from './io';

/** Default capacity in pieces: 65,536 entries take about 9 MB. */
export const DEFAULT_CACHE_ENTRIES = 1 << 16;
/** Pieces longer than this (UTF-16 units) are encoded without the cache: they are rare and would fill the pools. */
const MAX_KEY_UNITS = 48;
const EMPTY = new Int32Array(0);

/** The encoder's growable output: ids[0, n) are the ids written so far. */
export class IdBuffer {
  ids: Int32Array = new Int32Array(1 << 14);
  /** Grows `ids` (keeping its contents) to hold at least `n` ids; returns it. */
  reserve(n: number): Int32Array {
    if (n > this.ids.length) {
      const grown = new Int32Array(Math.max(n, this.ids.length * 2));
      grown.set(this.ids);
      this.ids = grown;
    }
    return this.ids;
  }
  /** Gives back memory after a very large text: keeps at most 4M ids (16 MB) between calls. */
  trim(): void {
    if (this.ids.length > 1 << 22) this.ids = new Int32Array(1 << 14);
  }
}

export class PieceCache {
  private readonly slots: number;
  private readonly maxEntries: number;
  private readonly keyPoolSize: number;
  private readonly idPoolSize: number;
  // Per slot: hash, key (offset and length into keyUnits; length 0 = empty slot), value (offset and length into ids).
  // Allocated on first use.
  private hash = EMPTY;
  private keyOff = EMPTY;
  private keyLen = EMPTY;
  private valOff = EMPTY;
  private valLen = EMPTY;
  private keyUnits = new Uint16Array(0);
  private ids = EMPTY;
  private keyTop = 0;
  private idTop = 0;
  private entries = 0;

  /** `capacity` pieces (0 disables the cache). */
  constructor(capacity = DEFAULT_CACHE_ENTRIES) {
    if (!Number.isInteger(capacity) || capacity < 0 || capacity > 1 << 24) {
      throw new RangeError(`BPETokenizer: cacheEntries must be an integer in [0, 2^24], got ${describe(capacity)}`);
    }
    let slots = 2;
    while (slots < capacity * 2) slots *= 2; // load factor ≤ 1/2 keeps probe sequences short
    this.slots = slots;
    this.maxEntries = capacity;
    this.keyPoolSize = Math.max(MAX_KEY_UNITS, capacity * 32);
    this.idPoolSize = Math.max(3 * MAX_KEY_UNITS, capacity * 8); // a piece has at most 3 ids per UTF-16 unit
  }

  /** Empties the cache. */
  clear(): void {
    this.keyLen.fill(0);
    this.keyTop = 0;
    this.idTop = 0;
    this.entries = 0;
  }

  /**
   * Encodes the pieces text[bounds[k], bounds[k + 1]) for k < n with `model`, through the cache, writing ids into
   * `out` from `at`; returns the new end.
   */
  encodePieces(text: string, bounds: Int32Array, n: number, model: BPEModel, out: IdBuffer, at: number): number {
    if (this.hash.length === 0) this.allocate();
    const hash = this.hash;
    const keyOff = this.keyOff;
    const keyLen = this.keyLen;
    const valOff = this.valOff;
    const valLen = this.valLen;
    const keyUnits = this.keyUnits;
    const ids = this.ids;
    const mask = this.slots - 1;
    const enabled = this.maxEntries > 0;
    const len = text.length;
    let buf = out.ids;
    let cap = buf.length;
    for (let k = 0; k < n; k++) {
      const s = bounds[k];
      const e = bounds[k + 1];
      const plen = e - s;
      if (at + 3 * plen > cap) {
        buf = out.reserve(at + 3 * plen + (len - e) + 1024);
        cap = buf.length;
      }
      if (plen > MAX_KEY_UNITS || !enabled) {
        at = model.encodePiece(text, s, e, buf, at);
        continue;
      }
      // FNV-1a over the code units, folded.
      let h = 0x811c9dc5 ^ plen;
      for (let i = s; i < e; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
      h ^= h >>> 16;
      let slot = h & mask;
      let found = false;
      for (;;) {
        const kl = keyLen[slot];
        if (kl === 0) break;
        if (kl === plen && hash[slot] === h) {
          const ko = keyOff[slot] - s;
          let i = s;
          while (i < e && keyUnits[ko + i] === text.charCodeAt(i)) i++;
          if (i === e) {
            found = true;
            break;
          }
        }
        slot = (slot + 1) & mask;
      }
      if (found) {
        const vo = valOff[slot];
        const vl = valLen[slot];
        if (vl === 1) buf[at++] = ids[vo];
        else for (let i = 0; i < vl; i++) buf[at++] = ids[vo + i];
        continue;
      }
      const t0 = at;
      at = model.encodePiece(text, s, e, buf, at);
      const vl = at - t0;
      if (this.entries >= this.maxEntries || this.keyTop + plen > this.keyPoolSize || this.idTop + vl > this.idPoolSize) {
        this.clear();
        slot = h & mask; // the table is empty now
      }
      hash[slot] = h;
      keyOff[slot] = this.keyTop;
      keyLen[slot] = plen;
      for (let i = 0; i < plen; i++) keyUnits[this.keyTop + i] = text.charCodeAt(s + i);
      this.keyTop += plen;
      valOff[slot] = this.idTop;
      valLen[slot] = vl;
      for (let i = 0; i < vl; i++) ids[this.idTop + i] = buf[t0 + i];
      this.idTop += vl;
      this.entries++;
    }
    return at;
  }

  private allocate(): void {
    this.hash = new Int32Array(this.slots);
    this.keyOff = new Int32Array(this.slots);
    this.keyLen = new Int32Array(this.slots);
    this.valOff = new Int32Array(this.slots);
    this.valLen = new Int32Array(this.slots);
    this.keyUnits = new Uint16Array(this.keyPoolSize);
    this.ids = new Int32Array(this.idPoolSize);
  }
}
