// Beam candidates of one row without processors, in one pass over the vocabulary after the max: the row's
// log-sum-exp and its best k token ids. Exactly logSumExp + topKIndices of search.ts (same float64 sum in the
// same order, same ranking: value descending, ties by lower id, -Infinity skipped), fused because beam search
// runs it on every beam every step over GPT-2's 50k logits.

/** The best `k` ids of `raw` (value descending, ties by lower id; -Infinity never) and log Σ exp(raw). */
export function rowCandidates(raw: Float32Array, k: number): { lse: number; ids: number[] } {
  const n = raw.length;
  let max = -Infinity;
  for (let i = 0; i < n; i++) if (raw[i]! > max) max = raw[i]!;
  if (!Number.isFinite(max)) throw new Error(`model returned logits with maximum ${max}`);
  const ids = new Int32Array(k);
  const vals = new Float64Array(k);
  let have = 0;
  let floor = -Infinity; // the k-th best value once k are held: only larger values enter
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const v = raw[i]!;
    sum += Math.exp(v - max);
    if (v === -Infinity || (have === k && !(v > floor))) continue;
    // insertion point: after every held value >= v (earlier ids win ties)
    let at = have < k ? have : k - 1;
    while (at > 0 && vals[at - 1]! < v) {
      ids[at] = ids[at - 1]!;
      vals[at] = vals[at - 1]!;
      at--;
    }
    ids[at] = i;
    vals[at] = v;
    if (have < k) have++;
    if (have === k) floor = vals[k - 1]!;
  }
  return { lse: max + Math.log(sum), ids: Array.from(ids.subarray(0, have)) };
}
