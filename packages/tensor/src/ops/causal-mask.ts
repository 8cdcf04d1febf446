// Additive causal mask [T, T]: 0 where key ≤ query, a large negative number above the diagonal.
// Cached per (backend, T): every attention layer of every step reuses one tensor.
import { tf } from '../tf';

/** Added to masked scores; finite so a fully masked row cannot produce NaN. */
export const MASK_VALUE = -1e9;

const cache = new Map<string, tf.Tensor2D>();

export function causalMask(t: number): tf.Tensor2D {
  const key = `${tf.getBackend()}:${t}`;
  let m = cache.get(key);
  if (!m || m.isDisposed) {
    m = tf.tidy(() => {
      const lower = tf.linalg.bandPart(tf.ones([t, t]), -1, 0);
      return tf.mul(tf.sub(1, lower), MASK_VALUE) as tf.Tensor2D;
    });
    tf.keep(m);
    cache.set(key, m);
  }
  return m;
}

/** Frees cached masks (e.g. before switching backend in tests). */
export function clearCausalMaskCache(): void {
  for (const m of cache.values()) m.dispose();
  cache.clear();
}
