// Gradient clipping by global norm (Pascanu et al. 2013; GPT-3 clips at 1.0), with PyTorch's
// clip_grad_norm_ rule: scale = min(1, maxNorm / (norm + 1e-6)).
import { tf } from '@gptlab/tensor';

/** √(Σ‖g‖²) over all gradients, as a number (reads one scalar back). */
export async function globalNorm(grads: Record<string, tf.Tensor>): Promise<number> {
  const sq = tf.tidy(() => tf.addN(Object.values(grads).map((g) => tf.sum(tf.square(g)))));
  try {
    const [v] = await sq.data();
    return Math.sqrt(v!);
  } finally {
    sq.dispose();
  }
}

/** The factor clipping multiplies gradients by: min(1, maxNorm / (norm + 1e-6)); 1 when maxNorm ≤ 0 or the norm is not finite. */
export function clipScale(norm: number, maxNorm: number): number {
  if (!Number.isFinite(norm) || !(maxNorm > 0)) return 1;
  return Math.min(1, maxNorm / (norm + 1e-6));
}

/**
 * Clips in place (replaces and disposes the tensors of `grads` when they are scaled) and returns the norm
 * before clipping. A non-finite norm is returned without scaling (the caller stops the run).
 */
export async function clipByGlobalNorm(grads: Record<string, tf.Tensor>, maxNorm: number): Promise<number> {
  const norm = await globalNorm(grads);
  const scale = clipScale(norm, maxNorm);
  if (scale < 1) {
    for (const [k, g] of Object.entries(grads)) {
      grads[k] = tf.mul(g, scale);
      g.dispose();
    }
  }
  return norm;
}
