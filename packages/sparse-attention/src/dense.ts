// Dense softmax attention: the reference block-sparse attention is checked against, and the dense baseline.
import { tf, batchMatMul, additiveMask } from '@gptlab/tensor';
import { checkQKV, resolveScale, type AttentionOptions, type AttentionWithProbs } from './options';

/**
 * Dense softmax attention: softmax(q·kᵀ·scale + mask) · v over [B, H, Tq, D] × [B, H, Tk, D]. `mask` is a row-major
 * [Tq, Tk] Uint8Array (1 = attend, e.g. from elementMask); null/undefined means causal (query r sits at position
 * Tk − Tq + r). Builds the full Tq×Tk score tensor: this is the reference and the dense baseline.
 */
export function denseAttention(
  q: tf.Tensor4D,
  k: tf.Tensor4D,
  v: tf.Tensor4D,
  mask?: Uint8Array | null,
  opts?: AttentionOptions & { returnProbs?: false },
): tf.Tensor4D;
export function denseAttention(
  q: tf.Tensor4D,
  k: tf.Tensor4D,
  v: tf.Tensor4D,
  mask: Uint8Array | null | undefined,
  opts: AttentionOptions & { returnProbs: true },
): AttentionWithProbs;
export function denseAttention(
  q: tf.Tensor4D,
  k: tf.Tensor4D,
  v: tf.Tensor4D,
  mask?: Uint8Array | null,
  opts?: AttentionOptions,
): tf.Tensor4D | AttentionWithProbs {
  const where = 'denseAttention';
  checkQKV(q, k, v, where);
  const tq = q.shape[2];
  const tk = k.shape[2];
  const scale = resolveScale(opts, q.shape[3], where);
  if (mask != null && mask.length !== tq * tk) {
    throw new Error(`${where}: mask has ${mask.length} entries, expected Tq·Tk = ${tq}·${tk} = ${tq * tk}`);
  }
  const [out, probs] = tf.tidy(() => {
    const b = additiveMask(tq, tk, mask);
    const scores = tf.add(tf.mul(batchMatMul(q, k, false, true), scale), b);
    const p = tf.softmax(scores);
    const o = batchMatMul(p, v) as tf.Tensor4D;
    return opts?.returnProbs ? [o, p as tf.Tensor4D] : [o];
  });
  return opts?.returnProbs ? { output: out!, probs: probs! } : out!;
}
