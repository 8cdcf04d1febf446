// Matrix products on the fast path of the active backend.
//
// tfjs-backend-wasm 4.22 runs a plain 2-D matMul through XNNPACK (20–30 GFLOP/s here) but a transposed
// operand at 0.6–3 GFLOP/s and any batched (3-D/4-D) product at ~2 GFLOP/s. Training needs transposed
// products in every gradient, and attention needs batched ones. Where a backend has fast kernels for them
// (tensorflow; wasm with @gptlab/tensor's own BatchMatMul, see kernels/wasm-batch-matmul.ts; wasm/cpu with
// @gptlab/tensor-native) the flags go straight to the kernel ('flags'). Otherwise (cpu, or wasm with
// GPTLAB_WASM_KERNELS=0) operands are transposed explicitly and gradients are made of untransposed products.
import { tf } from '../tf';
import { customGradOp } from './custom-grad';

export type MatMulStrategy = 'flags' | 'explicit-transpose';

let strategyOverride: MatMulStrategy | null = null;
let fastKernels = false;

/** Set by the backend loader: true when the backend's kernels handle transposed and batched products fast. */
export function setFastMatMul(active: boolean): void {
  fastKernels = active;
}

/** @deprecated the name before plain wasm had fast kernels too; use setFastMatMul. */
export const setNativeMatMul = setFastMatMul;

/** Forces a strategy (benchmarks and tests compare them); null restores the automatic choice. */
export function setMatMulStrategy(s: MatMulStrategy | null): void {
  strategyOverride = s;
}

export function matMulStrategy(): MatMulStrategy {
  if (strategyOverride) return strategyOverride;
  if (fastKernels || tf.getBackend() === 'tensorflow') return 'flags';
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
 * leading shapes (rank 2 is a plain matrix product). With fast kernels the flags go to the kernel (on plain
 * wasm, @gptlab/tensor's BatchMatMul runs each matrix through XNNPACK on aliases of the batch's memory);
 * otherwise the transposes are made explicit.
 */
export function batchMatMul(a: tf.Tensor, b: tf.Tensor, transposeA = false, transposeB = false): tf.Tensor {
  if (a.rank < 2 || a.rank !== b.rank) throw new Error(`batchMatMul: ranks ${a.rank} and ${b.rank} must be equal and ≥ 2`);
  if (matMulStrategy() === 'flags') return tf.matMul(a as tf.Tensor3D, b as tf.Tensor3D, transposeA, transposeB);
  return tf.tidy(() => canonicalProduct(transposeA ? swapLast2(a) : a, transposeB ? swapLast2(b) : b));
}
