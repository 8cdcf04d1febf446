// Small numeric helpers over plain arrays (float64 accumulation).

/** log-softmax in float64. Rows that are all -Infinity give all -Infinity. */
export function logSoftmax(x: ArrayLike<number>): Float64Array {
  const n = x.length;
  const out = new Float64Array(n);
  let max = -Infinity;
  for (let i = 0; i < n; i++) if (x[i] > max) max = x[i];
  if (max === -Infinity) return out.fill(-Infinity);
  if (!Number.isFinite(max)) throw new Error(`logits contain ${max}`);
  let sum = 0;
  for (let i = 0; i < n; i++) sum += Math.exp(x[i] - max);
  const lse = max + Math.log(sum);
  for (let i = 0; i < n; i++) out[i] = x[i] - lse;
  return out;
}

/** softmax in float64 (probabilities summing to 1). */
export function softmax(x: ArrayLike<number>): Float64Array {
  const lp = logSoftmax(x);
  for (let i = 0; i < lp.length; i++) lp[i] = Math.exp(lp[i]);
  return lp;
}

/** Index of the largest value; the lowest index wins exact ties (as numpy/torch argmax). -1 if all -Infinity. */
export function argmax(x: ArrayLike<number>): number {
  let best = -1;
  let bestV = -Infinity;
  for (let i = 0; i < x.length; i++) {
    if (x[i] > bestV) {
      bestV = x[i];
      best = i;
    }
  }
  return best;
}

/** Indices sorted by value descending, ties by index ascending. */
export function argsortDesc(x: ArrayLike<number>): number[] {
  const idx = Array.from({ length: x.length }, (_, i) => i);
  idx.sort((a, b) => x[b] - x[a] || a - b);
  return idx;
}

/**
 * The k largest finite-or-not (> -Infinity) entries as indices, sorted by value descending then index
 * ascending. O(n·log k) with a small binary-insertion buffer; used for beam candidate selection.
 */
export function topKIndices(x: ArrayLike<number>, k: number): number[] {
  const idx: number[] = [];
  const val: number[] = [];
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    if (v === -Infinity) continue;
    if (idx.length === k && !(v > val[k - 1])) continue; // ties keep the earlier (lower) index
    // find insertion point: after all entries with value >= v
    let lo = 0;
    let hi = val.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (val[mid] >= v) lo = mid + 1;
      else hi = mid;
    }
    idx.splice(lo, 0, i);
    val.splice(lo, 0, v);
    if (idx.length > k) {
      idx.pop();
      val.pop();
    }
  }
  return idx;
}
