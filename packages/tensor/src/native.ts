// Hook for the optional native kernels (@gptlab/tensor-native). When that package is installed and built,
// it registers faster kernels for the active backend; GPTLAB_NATIVE=0 turns it off.
import { createRequire } from 'node:module';
import { tf } from './tf';

const req = createRequire(__filename);

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

export async function loadNative(backend: string): Promise<NativeStatus> {
  if (process.env.GPTLAB_NATIVE === '0') return { active: false, detail: 'GPTLAB_NATIVE=0', threads: 0 };
  let mod: NativeModule;
  try {
    mod = req('@gptlab/tensor-native') as NativeModule;
  } catch {
    return { active: false, detail: 'not installed', threads: 0 };
  }
  if (typeof mod.register !== 'function') return { active: false, detail: 'no register()', threads: 0 };
  try {
    const r = mod.register(tf, backend);
    return { active: true, detail: r.detail, threads: r.threads };
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    return { active: false, detail: msg.split('\n')[0]!.slice(0, 200), threads: 0 };
  }
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
