// Additive attention masks [Tq, Tk]: 0 where a query may attend to a key, MASK_VALUE where it may not, added to
// the scores before the softmax. The Tq queries are the last Tq of the Tk positions (query r sits at key position
// Tk − Tq + r), as when new tokens follow the cached ones in incremental decoding.
import { tf } from '../tf';
import { MASK_VALUE } from './causal-mask';

/**
 * A fresh [Tq, Tk] mask the caller owns. `keep` is a row-major Tq·Tk array of 0/1 (1 = attend; e.g. a sparse
 * pattern's elementMask); without it the mask is causal (key position ≤ query position). For the square causal
 * mask of a whole sequence, causalMask(T) returns a cached one.
 */
export function additiveMask(tq: number, tk: number, keep?: ArrayLike<number> | null): tf.Tensor2D {
  if (!Number.isInteger(tq) || !Number.isInteger(tk) || tq < 0 || tk < 0) {
    throw new Error(`additiveMask: Tq and Tk must be non-negative integers, got ${tq} and ${tk}`);
  }
  const bias = new Float32Array(tq * tk);
  if (keep != null) {
    if (keep.length !== tq * tk)
      throw new Error(`additiveMask: keep has ${keep.length} entries, expected Tq·Tk = ${tq}·${tk} = ${tq * tk}`);
    for (let i = 0; i < bias.length; i++) if (!keep[i]) bias[i] = MASK_VALUE;
  } else {
    if (tk < tq)
      throw new Error(`additiveMask: a causal mask needs Tk ≥ Tq (queries are the last Tq positions), got Tq = ${tq}, Tk = ${tk}`);
    const past = tk - tq;
    for (let r = 0; r < tq; r++) bias.fill(MASK_VALUE, r * tk + past + r + 1, (r + 1) * tk);
  }
  return tf.tensor2d(bias, [tq, tk]);
}
