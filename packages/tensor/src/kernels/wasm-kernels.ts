// Kernels @gptlab/tensor adds to tfjs-backend-wasm 4.22: one it lacks but training needs (UnsortedSegmentSum,
// the gradient of gather), and faster replacements for the ones that keep plain wasm far from its XNNPACK
// matMul peak (BatchMatMul with transposes or batches, Transpose, Slice, Sum, Identity, GatherV2), and the fused GELU, LayerNorm
// and cross-entropy kernels @gptlab/tensor's ops run when a backend has them. The wasm backend keeps
// tensors in its heap; these kernels read inputs and write outputs there directly (no copies through JS).
// GPTLAB_WASM_KERNELS=0 keeps the backend's own kernels (for comparisons).
import { envVar } from '../env';
import { tf } from '../tf';
import { unsortedSegmentSumConfig } from './unsorted-segment-sum';
import { makeWasmBatchMatMul } from './wasm-batch-matmul';
import { makeWasmGather, makeWasmIdentity, makeWasmSlice, makeWasmSum, makeWasmTranspose } from './wasm-layout';
import { isWasmBackendLike } from './wasm-heap';
import { wasmFusedKernels } from './wasm-fused';

let missingRegistered = false;

/** Kernels the wasm backend lacks; registered before the backend initialises. */
export function registerWasmKernels(): void {
  if (missingRegistered) return;
  missingRegistered = true;
  for (const config of [unsortedSegmentSumConfig]) {
    const exists = tf.getKernel(config.kernelName, 'wasm');
    if (!exists) tf.registerKernel(config);
  }
}

const REPLACEMENTS: [string, (original: tf.KernelFunc) => tf.KernelFunc][] = [
  ['BatchMatMul', makeWasmBatchMatMul],
  ['Transpose', makeWasmTranspose],
  ['Slice', makeWasmSlice],
  ['Sum', makeWasmSum],
  ['Identity', makeWasmIdentity],
  ['GatherV2', makeWasmGather],
];

const MARK = Symbol.for('gptlab.wasm.kernel');
let fastActive = false;

/**
 * Replaces the slow wasm kernels once the wasm backend is initialised (the originals stay as fallbacks for
 * the layouts and dtypes the replacements do not cover). Returns whether they are active.
 */
export function registerWasmFastKernels(): boolean {
  if (envVar('GPTLAB_WASM_KERNELS') === '0') return false;
  if (!isWasmBackendLike(tf.findBackend('wasm'))) return false;
  for (const [name, make] of REPLACEMENTS) {
    const original = tf.getKernel(name, 'wasm');
    if (!original || (original.kernelFunc as unknown as Record<symbol, unknown>)[MARK]) continue;
    const kernelFunc = make(original.kernelFunc);
    (kernelFunc as unknown as Record<symbol, unknown>)[MARK] = true;
    tf.unregisterKernel(name, 'wasm');
    tf.registerKernel({ ...original, kernelFunc });
  }
  // The fused GELU / LayerNorm / cross-entropy kernels (tensor-native, when built, replaces them).
  for (const config of wasmFusedKernels) if (!tf.getKernel(config.kernelName, 'wasm')) tf.registerKernel(config);
  fastActive = true;
  return true;
}

/** Whether the fast wasm kernels are registered. */
export function wasmFastKernelsActive(): boolean {
  return fastActive;
}
