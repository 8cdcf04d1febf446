// The computation of one row group of a block layout: gather its query blocks and kept key/value blocks,
// then attention inside them — normalised with a hand-written gradient (blockRowsAttention), or as the
// unnormalised softmax parts that strided.ts merges with a second part.
import { tf, batchMatMul, customGradOp } from '@gptlab/tensor';
import { gatherBlocks } from './gather-blocks';
import type { Group } from './plan';

/**
 * The group's operands from the block views [BH, nb, blk·D] of q, k, v: its query blocks [BH·g, blk, D] and
 * their kept key and value blocks [BH·g, m·blk, D].
 */
export function gatherGroup(
  group: Group,
  qb: tf.Tensor3D,
  kb: tf.Tensor3D,
  vb: tf.Tensor3D,
  BH: number,
  bs: number,
  D: number,
): { q: tf.Tensor; k: tf.Tensor; v: tf.Tensor } {
  const g = group.rows.length;
  const rows = g * BH;
  const qg = g === qb.shape[1] ? qb : gatherBlocks(qb, group.rows);
  return {
    q: tf.reshape(qg, [rows, bs, D]),
    k: tf.reshape(gatherBlocks(kb, group.keyIdx), [rows, group.m * bs, D]),
    v: tf.reshape(gatherBlocks(vb, group.keyIdx), [rows, group.m * bs, D]),
  };
}

/** max over the last axis (keepDims) treated as a constant: the stabiliser of a softmax cancels analytically. */
const stopGradMax = customGradOp((x: tf.Tensor) => ({
  value: tf.max(x, -1, true),
  gradFunc: (_dy: tf.Tensor) => tf.zerosLike(x),
})) as (x: tf.Tensor) => tf.Tensor;

/** Softmax pieces of one part: stabiliser m, Σ exp(s − m) and the unnormalised Σ exp(s − m)·v. */
export function softmaxParts(s: tf.Tensor, v: tf.Tensor): { m: tf.Tensor; z: tf.Tensor; o: tf.Tensor } {
  const m = stopGradMax(s);
  const e = tf.exp(tf.sub(s, m));
  return { m, z: tf.sum(e, -1, true), o: batchMatMul(e, v) };
}

/**
 * Attention of query blocks against their gathered key/value blocks, with a hand-written gradient:
 * q [BH·g, blk, D], k, v [BH·g, m·blk, D], bias [g, blk, m·blk] (shared by the BH batch entries) → [BH·g, blk, D].
 * Only q, k, v and the probabilities are kept for backward (tfjs autodiff would keep every intermediate and its
 * gradient until the end of the backward pass):
 *   dP = dO·vᵀ, dS = P ⊙ (dP − Σ dP ⊙ P), dq = dS·k, dk = dSᵀ·q, dv = Pᵀ·dO.
 */
export function blockRowsAttention(
  q: tf.Tensor,
  k: tf.Tensor,
  v: tf.Tensor,
  bias: tf.Tensor3D | null,
  BH: number,
  onProbs?: (p: tf.Tensor) => void,
): tf.Tensor {
  const [bhg, blk] = q.shape as [number, number, number];
  const cols = k.shape[1]!;
  const g = bhg / BH;
  const op = customGradOp((qq: tf.Tensor, kk: tf.Tensor, vv: tf.Tensor, save: tf.GradSaveFunc) => {
    const probs = tf.tidy(() => {
      let s = batchMatMul(qq, kk, false, true);
      if (bias) s = tf.reshape(tf.add(tf.reshape(s, [BH, g, blk, cols]), bias), [bhg, blk, cols]);
      return tf.softmax(s);
    });
    onProbs?.(probs);
    save([qq, kk, vv, probs]);
    return {
      value: batchMatMul(probs, vv),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sq, sk, sv, p] = saved as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
        const dp = batchMatMul(dy, sv, false, true);
        const ds = tf.mul(p, tf.sub(dp, tf.sum(tf.mul(dp, p), -1, true)));
        return [batchMatMul(ds, sk), batchMatMul(ds, sq, true, false), batchMatMul(p, dy, true, false)];
      },
    };
  }) as (q: tf.Tensor, k: tf.Tensor, v: tf.Tensor) => tf.Tensor;
  return op(q, k, v);
}

/** Zero-pads the time axis of [B, H, T, D] to Tp (a whole number of blocks); a no-op when T = Tp. */
export function padTime(t: tf.Tensor, Tp: number): tf.Tensor4D {
  const T = t.shape[2]!;
  return (
    Tp > T
      ? tf.pad(t, [
          [0, 0],
          [0, 0],
          [0, Tp - T],
          [0, 0],
        ])
      : t
  ) as tf.Tensor4D;
}

/** Inverse of padTime: the first T positions of [B, H, Tp, D]. */
export function cropTime(t: tf.Tensor4D, T: number): tf.Tensor4D {
  const [B, H, Tp, D] = t.shape;
  return Tp > T ? tf.slice(t, [0, 0, 0, 0], [B, H, T, D]) : t;
}
