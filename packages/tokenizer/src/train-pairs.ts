// BPE training, phase 2: statistics of adjacent symbol pairs. Every distinct pair (a, b) gets an index with its
// total count over the corpus and the list of words it occurs in, so that a merge visits only those words and
// updates the counts of the pairs around each rewrite (instead of recounting the corpus for every merge).

import type { WordTable } from './train-words';

export class PairTable {
  /** Pair index of (a, b), keyed by a · vocabSize + b (exact: ids < 2^21). */
  readonly index = new Map<number, number>();
  a: Int32Array;
  b: Int32Array;
  /** Occurrences of the pair, weighted by word counts. */
  count: Float64Array;
  /** Merge step at which the pair was last put on the `changed` list (so it goes there once per step). */
  stamp: Int32Array;
  /** Words the pair occurs in (may include words where it no longer does: merging only appends). */
  readonly where: number[][] = [];
  size = 0;

  constructor(readonly vocabSize: number) {
    const capacity = 1 << 16;
    this.a = new Int32Array(capacity);
    this.b = new Int32Array(capacity);
    this.count = new Float64Array(capacity);
    this.stamp = new Int32Array(capacity);
  }

  /** Index of the pair (a, b), created with count 0 when new. */
  of(a: number, b: number): number {
    const key = a * this.vocabSize + b;
    let p = this.index.get(key);
    if (p === undefined) {
      if (this.size === this.a.length) this.grow();
      p = this.size++;
      this.a[p] = a;
      this.b[p] = b;
      this.count[p] = 0;
      this.stamp[p] = -1;
      this.where.push([]);
      this.index.set(key, p);
    }
    return p;
  }

  /** Index of an existing pair (a, b). */
  existing(a: number, b: number): number {
    return this.index.get(a * this.vocabSize + b)!;
  }

  /** Records that word `w` contains pair p (words are visited in order, so a repeat is the last entry). */
  addWord(p: number, w: number): void {
    const list = this.where[p]!;
    if (list.length === 0 || list[list.length - 1] !== w) list.push(w);
  }

  /** Counts every adjacent pair of every word. */
  static ofWords(words: WordTable, vocabSize: number): PairTable {
    const pairs = new PairTable(vocabSize);
    const { syms, start, len, count } = words;
    for (let w = 0; w < words.size; w++) {
      const e = start[w] + len[w];
      for (let i = start[w]; i + 1 < e; i++) {
        const p = pairs.of(syms[i], syms[i + 1]);
        pairs.count[p] += count[w];
        pairs.addWord(p, w);
      }
    }
    return pairs;
  }

  private grow(): void {
    const capacity = this.a.length * 2;
    const grown = <T extends Int32Array | Float64Array>(x: T, make: (n: number) => T): T => {
      const y = make(capacity);
      y.set(x);
      return y;
    };
    this.a = grown(this.a, (n) => new Int32Array(n));
    this.b = grown(this.b, (n) => new Int32Array(n));
    this.count = grown(this.count, (n) => new Float64Array(n));
    this.stamp = grown(this.stamp, (n) => new Int32Array(n));
  }
}
