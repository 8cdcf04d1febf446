// Hook for the optional native kernels (@gptlab/tensor-native). When that package is installed and built,
// it registers faster kernels for the active backend (loaded by backend-node.ts; GPTLAB_NATIVE=0 turns it
// off); the ops ask here whether a fused kernel is registered. Browser-safe.
import { tf } from './tf';

export interface NativeStatus {
  active: boolean;
  /** Why not, or what is on (e.g. "avx2+fma, 2 threads"). */
  detail: string;
  threads: number;
}

/** The contract @gptlab/tensor-native implements. */
export interface NativeModule {
  /** Registers kernels for `backend` into this tfjs instance; returns a description, or throws. */
  register(tfjs: typeof tf, backend: string): { detail: string; threads: number };
}

/**
 * Whether @gptlab/tensor-native registered the fused kernel `name` (e.g. 'GptlabGelu') for the active
 * backend; ops then run it through tf.engine().runKernel instead of composing tfjs ops.
 */
export function hasNativeKernel(name: string): boolean {
  return tf.getKernel(name, tf.getBackend()) !== undefined;
}

/** Runs a kernel by name on the active backend (the fused kernels have no tfjs op wrapper). */
export function runNativeKernel(
  name: string,
  inputs: Record<string, tf.Tensor>,
  attrs: Record<string, unknown> = {},
): tf.Tensor | tf.Tensor[] {
  return tf.engine().runKernel(name, inputs as unknown as tf.NamedTensorMap, attrs as tf.NamedAttrMap) as tf.Tensor | tf.Tensor[];
}
