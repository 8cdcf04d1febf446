// Causal attention, softmax(scale·q·kᵀ + causal mask)·v, as one op. With @gptlab/tensor-native it runs the
// flash-style kernel (FlashAttention, Dao et al. 2022): an online softmax over key blocks forward, keeping only
// the output and each query row's log-sum-exp; the gradient recomputes the probabilities block by block, so
// neither direction holds the [T, Tk] probabilities (n = 4096: ~0.1 GB instead of a few GB per layer). Without
// it the op is the plain composition, the same ops and values as the model's attention before this op existed.
import { tf } from '../tf';
import { customGradOp } from './custom-grad';
import { hasNativeKernel, runNativeKernel } from '../native';
import { batchMatMul } from './matmul';
import { causalMask } from './causal-mask';
import { additiveMask } from './mask';

const KERNEL = 'GptlabCausalAttention';
const GRAD_KERNEL = 'GptlabCausalAttentionGrad';

/** Throws unless q is [..., T, D] and k, v are [..., Tk, D] with the same leading axes and Tk ≥ T. */
function checkShapes(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor): void {
  const r = q.rank;
  const lead = (t: tf.Tensor) => t.shape.slice(0, r - 2).join(',');
  const ok =
    r >= 2 &&
    k.rank === r &&
    v.rank === r &&
    lead(k) === lead(q) &&
    lead(v) === lead(q) &&
    k.shape[r - 1] === q.shape[r - 1] &&
    v.shape[r - 1] === q.shape[r - 1] &&
    v.shape[r - 2] === k.shape[r - 2];
  if (!ok) {
    throw new Error(`causalAttention: q [${q.shape}], k [${k.shape}], v [${v.shape}] must be [..., T, D], [..., Tk, D], [..., Tk, D]`);
  }
  if (k.shape[r - 2]! < q.shape[r - 2]!) {
    throw new Error(
      `causalAttention: needs Tk ≥ T (the queries are the last T positions), got T = ${q.shape[r - 2]}, Tk = ${k.shape[r - 2]}`,
    );
  }
}

/** The plain composition: scores, additive causal mask, softmax, weighted sum of the values. */
function composedAttention(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, scale: number): tf.Tensor {
  return tf.tidy(() => {
    const t = q.shape[q.rank - 2]!;
    const tk = k.shape[k.rank - 2]!;
    const scores = batchMatMul(tf.mul(q, scale), k, false, true);
    const mask = tk === t ? causalMask(t) : additiveMask(t, tk);
    return batchMatMul(tf.softmax(tf.add(scores, mask)), v);
  });
}

// tf.customGrad passes only tensors, so the scale is bound per op instance (one per scale, cached).
function makeNativeAttention(scale: number) {
  return customGradOp((q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, save: tf.GradSaveFunc) => {
    const [out, lse] = runNativeKernel(KERNEL, { q, k, v }, { scale }) as [tf.Tensor, tf.Tensor];
    save([q, k, v, out, lse]);
    return {
      value: out,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [qs, ks, vs, os, ls] = saved as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
        return runNativeKernel(GRAD_KERNEL, { q: qs, k: ks, v: vs, o: os, lse: ls, dy }, { scale }) as tf.Tensor[];
      },
    };
  }) as (q: tf.Tensor, k: tf.Tensor, v: tf.Tensor) => tf.Tensor;
}

const nativeByScale = new Map<number, ReturnType<typeof makeNativeAttention>>();

/** Whether causalAttention runs the native flash-style kernel on the active backend. */
export function hasFusedCausalAttention(): boolean {
  return hasNativeKernel(KERNEL);
}

/**
 * softmax(scale·q·kᵀ + causal mask)·v for q [..., T, D] and k, v [..., Tk, D] (Tk ≥ T: query i is position
 * Tk − T + i and sees the keys up to it). scale defaults to 1/√D. Differentiable in q, k and v.
 */
export function causalAttention(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, scale = 1 / Math.sqrt(q.shape[q.rank - 1]!)): tf.Tensor {
  checkShapes(q, k, v);
  const float = q.dtype === 'float32' && k.dtype === 'float32' && v.dtype === 'float32';
  if (float && hasFusedCausalAttention()) {
    let f = nativeByScale.get(scale);
    if (!f) {
      f = makeNativeAttention(scale);
      nativeByScale.set(scale, f);
    }
    return f(q, k, v);
  }
  return composedAttention(q, k, v, scale);
}
