// Kernels tfjs-backend-wasm 4.22 lacks but training needs. The wasm backend keeps tensors in its heap;
// these kernels read inputs and write outputs there directly (no copies through JS arrays).
import { tf } from '../tf';
import { unsortedSegmentSumConfig } from './unsorted-segment-sum';

let registered = false;

export function registerWasmKernels(): void {
  if (registered) return;
  registered = true;
  for (const config of [unsortedSegmentSumConfig]) {
    const exists = tf.getKernel(config.kernelName, 'wasm');
    if (!exists) tf.registerKernel(config);
  }
}
