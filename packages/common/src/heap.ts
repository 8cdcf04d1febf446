// A binary min-heap of float64 keys in one growable typed array. Callers that need payloads pack them into
// the key (e.g. rank · 2^21 + position in BPE merging), which keeps the hot loops free of objects.

export class MinHeap {
  private keys: Float64Array;
  private n = 0;
  constructor(capacity = 16) {
    this.keys = new Float64Array(Math.max(1, capacity));
  }
  get size(): number {
    return this.n;
  }
  clear(): void {
    this.n = 0;
  }
  /** The smallest key; undefined behaviour when empty (check size). */
  peek(): number {
    return this.keys[0]!;
  }
  push(key: number): void {
    if (this.n === this.keys.length) {
      const grown = new Float64Array(this.keys.length * 2);
      grown.set(this.keys);
      this.keys = grown;
    }
    const h = this.keys;
    let i = this.n++;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (h[p]! <= key) break;
      h[i] = h[p]!;
      i = p;
    }
    h[i] = key;
  }
  /** Removes and returns the smallest key. */
  pop(): number {
    const h = this.keys;
    const top = h[0]!;
    const last = h[--this.n]!;
    if (this.n > 0) this.siftDown(0, last);
    return top;
  }
  /** Replaces the smallest key with `key` (cheaper than pop + push). */
  replaceTop(key: number): void {
    this.siftDown(0, key);
  }
  private siftDown(i: number, key: number): void {
    const h = this.keys;
    const n = this.n;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && h[r]! < h[l]! ? r : l;
      if (h[c]! >= key) break;
      h[i] = h[c]!;
      i = c;
    }
    h[i] = key;
  }
}

/**
 * The k-th largest finite-or-+∞ value of `x` (−∞ entries are skipped), or −∞ when fewer than k such values exist.
 * A size-k min-heap: O(n log k), no copy of `x`.
 */
export function kthLargest(x: ArrayLike<number>, k: number): number {
  if (k < 1) throw new RangeError(`kthLargest: k must be >= 1, got ${k}`);
  const heap = new MinHeap(k);
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    if (v === -Infinity) continue;
    if (heap.size < k) heap.push(v);
    else if (v > heap.peek()) heap.replaceTop(v);
  }
  return heap.size < k ? -Infinity : heap.peek();
}
