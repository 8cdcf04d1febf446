// @gptlab/tensor's platform-independent API, shared by the Node entry (index.ts) and the browser entry
// (browser.ts), which differ only in the backend platform they install and the BACKENDS they export.
export { tf } from './tf';
export type { Tensor, Scalar, Tensor1D, Tensor2D, Tensor3D, Tensor4D, Variable } from './tf';
export {
  initBackend,
  initBackendInfo,
  backendInfo,
  describeBackend,
  setBackendPlatform,
  type BackendName,
  type BackendInfo,
  type BackendPlatform,
  type InitOptions,
} from './backend';
export type { NativeModule, NativeStatus } from './native';
export { gelu } from './ops/gelu';
export { layerNorm, LAYER_NORM_EPS } from './ops/layer-norm';
export { crossEntropy, IGNORE_INDEX } from './ops/cross-entropy';
export { causalMask, clearCausalMaskCache, MASK_VALUE } from './ops/causal-mask';
export { additiveMask } from './ops/mask';
export { dropout } from './ops/dropout';
export { causalAttention, hasFusedCausalAttention } from './ops/attention';
export { linear } from './ops/linear';
export {
  matMul2d,
  batchMatMul,
  matMulStrategy,
  setMatMulStrategy,
  setFastMatMul,
  setNativeMatMul,
  type MatMulStrategy,
} from './ops/matmul';
export { measureMatMul, matMulPeakGflops, type MatMulMeasurement } from './peak';
export { disposeAll, liveTensors, assertNoLeak, readFloat32 } from './memory';
// One seeded PRNG for the whole project (re-exported so `import { Rng } from '@gptlab/tensor'` keeps working).
export { Rng, mixSeed } from '@gptlab/common';
export { customGradOp } from './ops/custom-grad';
