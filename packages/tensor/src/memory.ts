// Memory discipline helpers: tf.tidy cannot span an await, so async loops dispose explicitly.
import { tf } from './tf';

/** Disposes every tensor found in a value (tensor, array, or record of tensors); ignores the rest. */
export function disposeAll(value: unknown): void {
  if (value == null) return;
  if (value instanceof tf.Tensor) {
    if (!value.isDisposed) value.dispose();
  } else if (Array.isArray(value)) {
    for (const v of value) disposeAll(v);
  } else if (typeof value === 'object') {
    for (const v of Object.values(value as Record<string, unknown>)) disposeAll(v);
  }
}

/** Number of live tensors (tf.memory().numTensors). */
export function liveTensors(): number {
  return tf.memory().numTensors;
}

/**
 * Runs `fn` and throws if it leaves more live tensors than it found (beyond `allowed`): for tests and for
 * debugging loops that must be leak-free.
 */
export async function assertNoLeak<T>(fn: () => T | Promise<T>, label = 'block', allowed = 0): Promise<T> {
  const before = liveTensors();
  const result = await fn();
  const after = liveTensors();
  if (after - before > allowed) throw new Error(`${label} leaked ${after - before} tensors (${before} → ${after})`);
  return result;
}

/**
 * The values of a float32 tensor without a copy where the backend allows it: on wasm a view into the heap
 * (valid until the next tensor allocation: read it at once, never keep it, never write to it); elsewhere
 * dataSync(). For loops over large tensors (optimizer steps, gradient export) that would otherwise allocate
 * a fresh array per read.
 */
export function readFloat32(t: tf.Tensor): Float32Array {
  if (t.dtype !== 'float32') throw new Error(`readFloat32: tensor is ${t.dtype}, not float32`);
  if (tf.getBackend() === 'wasm') {
    const b = tf.backend() as unknown as { typedArrayFromHeap?(info: tf.TensorInfo): tf.TypedArray };
    if (typeof b.typedArrayFromHeap === 'function') {
      const v = b.typedArrayFromHeap({ dataId: t.dataId, shape: t.shape, dtype: t.dtype });
      if (v instanceof Float32Array) return v;
    }
  }
  return t.dataSync() as Float32Array;
}
