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
