// Matrix products on the fast path of the active backend.
//
// tfjs-backend-wasm 4.22 runs a plain 2-D matMul through XNNPACK (20–30 GFLOP/s here) but a transposed
// operand at 0.6–3 GFLOP/s and any batched (3-D/4-D) product at ~2 GFLOP/s. Training needs transposed
// products in every gradient, and attention needs batched ones. So on plain wasm we transpose explicitly
// (memory-bound, cheap) and keep gradients made of untransposed products; on backends with fast kernels (tensorflow,
// or wasm/cpu with @gptlab/tensor-native) the flags go straight to the kernel.
import { tf } from '../tf';
import { customGradOp } from './custom-grad';

export type MatMulStrategy = 'flags' | 'explicit-transpose';

let strategyOverride: MatMulStrategy | null = null;
let nativeFast = false;

/** Set by the backend loader: true when native kernels handle transposed and batched products. */
export function setNativeMatMul(active: boolean): void {
  nativeFast = active;
}

/** Forces a strategy (benchmarks and tests compare them); null restores the automatic choice. */
export function setMatMulStrategy(s: MatMulStrategy | null): void {
  strategyOverride = s;
}

export function matMulStrategy(): MatMulStrategy {
  if (strategyOverride) return strategyOverride;
  if (nativeFast || tf.getBackend() === 'tensorflow') return 'flags';
  return 'explicit-transpose';
}

function swapLast2(t: tf.Tensor): tf.Tensor {
  const r = t.shape.length;
  const perm = [...Array(r).keys()];
  perm[r - 1] = r - 2;
  perm[r - 2] = r - 1;
  return tf.transpose(t, perm);
}

/** 2-D product a·b with optional transposes, on the fast path. */
export function matMul2d(a: tf.Tensor2D, b: tf.Tensor2D, transposeA = false, transposeB = false): tf.Tensor2D {
  if (matMulStrategy() === 'flags') return tf.matMul(a, b, transposeA, transposeB);
  return tf.tidy(() => canonicalProduct(transposeA ? tf.transpose(a) : a, transposeB ? tf.transpose(b) : b)) as tf.Tensor2D;
}

function rawProduct(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
  return tf.matMul(a as tf.Tensor3D, b as tf.Tensor3D);
}

/**
 * a·b for canonical (untransposed) operands, with a gradient that is itself made of canonical products and
 * explicit transposes, so backprop never reaches tfjs-wasm's slow transposed kernels.
 */
const canonicalProduct = customGradOp((a: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
  save([a, b]);
  return {
    value: rawProduct(a, b),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [sa, sb] = saved as [tf.Tensor, tf.Tensor];
      return [rawProduct(dy, swapLast2(sb)), rawProduct(swapLast2(sa), dy)];
    },
  };
}) as (a: tf.Tensor, b: tf.Tensor) => tf.Tensor;

/**
 * Product over leading batch axes: a [..., M, K] · b [..., K, N] (after the optional transposes), equal
 * leading shapes (rank 2 is a plain matrix product). Measured on plain wasm: splitting the batch into 2-D
 * products is slower still (per-call overhead at attention sizes), so the batched kernel is kept and only
 * the transposes are made explicit; @gptlab/tensor-native replaces the kernel itself.
 */
export function batchMatMul(a: tf.Tensor, b: tf.Tensor, transposeA = false, transposeB = false): tf.Tensor {
  if (a.rank < 2 || a.rank !== b.rank) throw new Error(`batchMatMul: ranks ${a.rank} and ${b.rank} must be equal and ≥ 2`);
  if (matMulStrategy() === 'flags') return tf.matMul(a as tf.Tensor3D, b as tf.Tensor3D, transposeA, transposeB);
  return tf.tidy(() => canonicalProduct(transposeA ? swapLast2(a) : a, transposeB ? swapLast2(b) : b));
}
