// Causal self-attention of one block (nanoGPT's CausalSelfAttention, Hugging Face GPT-2 weights):
//   q | k | v = c_attn(x)                 fused C → 3C projection, heads are consecutive slices of width C/H
//   y = softmax(q·kᵀ/√(C/H) + mask) · v   the causal mask, or a sparse pattern's; attention dropout on the probs
//   out = c_proj(merge heads(y))
// With cached keys/values the new queries are the last positions; a sparse layer over a whole sequence runs the
// block-sparse kernel instead, whose cost grows with the kept blocks.
import { tf, additiveMask, batchMatMul, causalAttention, causalMask, hasFusedCausalAttention } from '@gptlab/tensor';
import { conv1d, type AttentionWeights } from './layers';
import { blockSparseAttention, elementMask, type AttentionPattern } from './sparse';

/**
 * Queries from which dense causal layers run the native flash-style kernel (@gptlab/tensor's causalAttention):
 * from 256 on it is faster than matMul + softmax + matMul (1.3× at [8, 4, 256, 64], 1.6–2.5× at 1024–4096) and
 * its memory grows with T instead of T². Below, the [T, T] tensors are small and both take about the same time
 * (0.9–1.1× at 128, AVX2), so short-context training keeps the plain path and its exact numerics.
 */
const FUSED_ATTENTION_MIN_T = 256;

export interface AttentionOptions {
  nHead: number;
  /** This layer's cached keys and values [B, H, past, D], or nulls (nothing cached yet). */
  past?: [tf.Tensor4D | null, tf.Tensor4D | null];
  /** A sparse pattern; null = dense causal attention. */
  pattern: AttentionPattern | null;
  /** Attention dropout on the probabilities (the identity when off). */
  dropout: (probs: tf.Tensor) => tf.Tensor;
  /** Whether `dropout` drops anything: it needs the full probability matrix, so the block-sparse kernel is skipped. */
  dropoutActive: boolean;
  /** Return this head's probabilities [B, Tq, Tk]. */
  probsHead?: number;
  /**
   * An additive mask broadcast to [B, H, Tq, Tk] that replaces the causal / pattern one: batched decoding, where
   * each row has its own length and padded key slots (BatchedKVCache.keyMask).
   */
  mask?: tf.Tensor;
}

export interface AttentionResult {
  /** [B, T, C], before the residual add. */
  y: tf.Tensor;
  /** All keys and values so far (cached ones first) [B, H, past + T, D]: what the cache keeps. */
  k: tf.Tensor4D;
  v: tf.Tensor4D;
  probs?: tf.Tensor3D;
}

export function causalSelfAttention(x: tf.Tensor, w: AttentionWeights, o: AttentionOptions): AttentionResult {
  const [B, T, C] = x.shape as [number, number, number];
  const H = o.nHead;
  const D = C / H;
  // [B, T, 3C] → [B, 3H, T, D]: q heads, then k heads, then v heads.
  const qkv = tf.transpose(tf.reshape(conv1d(x, w.c_attn), [B, T, 3 * H, D]), [0, 2, 1, 3]) as tf.Tensor4D;
  const [q, k0, v0] = splitHeads(qkv, H);
  let k = k0;
  let v = v0;
  const [pastK, pastV] = o.past ?? [null, null];
  if (pastK && pastV) {
    k = tf.concat([pastK, k], 2) as tf.Tensor4D;
    v = tf.concat([pastV, v], 2) as tf.Tensor4D;
  }
  const Tk = k.shape[2];
  const scale = 1 / Math.sqrt(D);
  let y: tf.Tensor;
  let probs: tf.Tensor3D | undefined;
  if (o.pattern && Tk === T && o.probsHead === undefined && !o.dropoutActive && !o.mask) {
    y = blockSparseAttention(q, k, v, o.pattern, { scale });
  } else if (
    !o.pattern &&
    T >= FUSED_ATTENTION_MIN_T &&
    o.probsHead === undefined &&
    !o.dropoutActive &&
    !o.mask &&
    hasFusedCausalAttention()
  ) {
    // Native flash-style kernel: the same values without keeping the [T, Tk] probabilities for backward.
    y = causalAttention(q, k, v, scale);
  } else {
    let scores = batchMatMul(tf.mul(q, scale), k, false, true); // [B, H, T, Tk]
    const mask = o.mask ?? attentionMask(o.pattern, T, Tk);
    if (mask) scores = tf.add(scores, mask);
    const p = tf.softmax(scores);
    if (o.probsHead !== undefined) {
      probs = tf.reshape(tf.slice(p, [0, o.probsHead, 0, 0], [B, 1, T, Tk]), [B, T, Tk]) as tf.Tensor3D;
    }
    y = batchMatMul(o.dropout(p), v);
  }
  const merged = tf.reshape(tf.transpose(y, [0, 2, 1, 3]), [B, T, C]);
  return { y: conv1d(merged, w.c_proj), k, v, probs };
}

interface MultiOutputOp {
  forwardFunc: () => tf.Tensor[];
  backwardsFunc: (dys: tf.Tensor | tf.Tensor[]) => Record<string, () => tf.Tensor>;
  inputs: Record<string, tf.Tensor>;
}

/**
 * qkv [B, 3H, T, D] → q, k, v [B, H, T, D]: three slices whose gradient is one concat. Three tf.slice ops would
 * each backpropagate a zero-padded [B, 3H, T, D] copy, then two adds; tf.split's wasm kernel is ~20× slower than
 * the slices (the same values every way).
 */
export function splitHeads(qkv: tf.Tensor4D, H: number): [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D] {
  const [B, , T, D] = qkv.shape;
  // tf.customGrad allows one output; the engine's runKernelFunc (what customGrad calls; typed private in
  // tfjs 4.22) takes several, and hands their gradients to backwardsFunc as one array.
  const engine = tf.engine() as unknown as { runKernelFunc(params: MultiOutputOp): tf.Tensor[] };
  return engine.runKernelFunc({
    forwardFunc: () => [0, 1, 2].map((i) => tf.slice(qkv, [0, i * H, 0, 0], [B, H, T, D])),
    backwardsFunc: (dys: tf.Tensor | tf.Tensor[]) => ({ qkv: () => tf.concat(dys as tf.Tensor[], 1) }),
    inputs: { qkv },
  }) as unknown as [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D];
}

/** Additive mask [Tq, Tk] for the last Tq of Tk positions, or null when nothing is masked. */
function attentionMask(pattern: AttentionPattern | null, tq: number, tk: number): tf.Tensor | null {
  const past = tk - tq;
  if (pattern) return additiveMask(tq, tk, elementMask(pattern, tq, tk, past));
  if (tq === 1) return null; // one new query sees every cached key
  return past === 0 ? causalMask(tq) : additiveMask(tq, tk);
}
