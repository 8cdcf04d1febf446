// The arithmetic of PPO for RLHF (Schulman et al. 2017; Ziegler et al. 2019; InstructGPT; TRL's PPOTrainer), kept
// apart from models and data so each piece can be checked against a hand computation:
//   - per-token rewards: −β·KL estimate at every response token, the reward model's score added on the last one;
//   - GAE: δ_t = r_t + γ·V_{t+1} − V_t, A_t = δ_t + γλ·A_{t+1}, returns R_t = A_t + V_t;
//   - the clipped policy loss max(−A·ρ, −A·clip(ρ, 1−ε, 1+ε)) with ρ = π/π_old, and the clipped value loss
//     ½·max((V − R)², (clip(V, V_old ± ε_v) − R)²), both as means over the response tokens (a mask);
//   - the adaptive KL controller of Ziegler et al. (TRL's AdaptiveKLController).
import { tf, IGNORE_INDEX } from '@gptlab/tensor';

/** k1 = log π − log π_ref (unbiased, any sign; TRL's "kl"); k3 = (ρ − 1) − log ρ with ρ = π_ref/π (unbiased, ≥ 0). */
export type KlEstimator = 'k1' | 'k3';
export const KL_ESTIMATORS: readonly KlEstimator[] = ['k1', 'k3'];

/** The per-token KL estimate of a token sampled from π, from its log-probs under π and π_ref. */
export function klEstimate(logp: number, refLogp: number, estimator: KlEstimator): number {
  const d = logp - refLogp;
  return estimator === 'k1' ? d : Math.expm1(-d) + d;
}

/** Per-token rewards of one response: −β·KL_t everywhere, plus `score` on the last token; and the KL_t. */
export function tokenRewards(
  logp: readonly number[],
  refLogp: readonly number[],
  score: number,
  beta: number,
  estimator: KlEstimator,
): { rewards: number[]; kl: number[] } {
  if (logp.length === 0 || logp.length !== refLogp.length)
    throw new Error(`tokenRewards: ${logp.length} policy and ${refLogp.length} reference log-probs (need equal, ≥ 1)`);
  const kl = logp.map((l, t) => klEstimate(l, refLogp[t]!, estimator));
  const rewards = kl.map((k) => -beta * k);
  rewards[rewards.length - 1]! += score;
  return { rewards, kl };
}

/**
 * Generalised advantage estimation over one response. `nextValue` is V after the last token: 0 for a finished
 * episode (in RLHF every response is a whole episode), or the bootstrap value of a cut-off one.
 */
export function gae(
  rewards: readonly number[],
  values: readonly number[],
  gamma: number,
  lambda: number,
  nextValue = 0,
): { advantages: number[]; returns: number[] } {
  if (rewards.length !== values.length) throw new Error(`gae: ${rewards.length} rewards but ${values.length} values`);
  const advantages = new Array<number>(rewards.length);
  let next = nextValue;
  let running = 0;
  for (let t = rewards.length - 1; t >= 0; t--) {
    const delta = rewards[t]! + gamma * next - values[t]!;
    running = delta + gamma * lambda * running;
    advantages[t] = running;
    next = values[t]!;
  }
  return { advantages, returns: advantages.map((a, t) => a + values[t]!) };
}

/** (x − mean) / sqrt(var + 1e-8) over every element of every row (TRL whitens the batch's advantages). */
export function whiten(rows: readonly (readonly number[])[]): number[][] {
  const all = rows.flat();
  if (all.length === 0) return rows.map(() => []);
  const mean = all.reduce((a, b) => a + b, 0) / all.length;
  const variance = all.reduce((a, b) => a + (b - mean) ** 2, 0) / all.length;
  const scale = 1 / Math.sqrt(variance + 1e-8);
  return rows.map((r) => r.map((x) => (x - mean) * scale));
}

/**
 * Ziegler et al. (2019) §2.2, TRL's AdaptiveKLController: β ← β·(1 + clip(KL/target − 1, ±0.2)·n/horizon) after a
 * batch of n rollouts whose mean KL (summed over the response) was KL. Without a target β stays fixed.
 */
export class KlController {
  constructor(
    public value: number,
    readonly target: number | null,
    readonly horizon: number,
  ) {
    if (!(value >= 0)) throw new Error(`KL coefficient must be ≥ 0, got ${value}`);
    if (target !== null && !(target > 0)) throw new Error(`KL target must be > 0, got ${target}`);
    if (!(horizon > 0)) throw new Error(`KL horizon must be > 0, got ${horizon}`);
  }

  update(currentKl: number, nSteps: number): void {
    if (this.target === null) return;
    const error = Math.min(0.2, Math.max(-0.2, currentKl / this.target - 1));
    this.value *= 1 + (error * nSteps) / this.horizon;
  }
}

/** Σ x·mask / Σ mask (0 without any masked-in element). */
export function maskedMean(x: tf.Tensor, mask: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.div(tf.sum(tf.mul(x, mask)), tf.maximum(tf.sum(mask), 1)) as tf.Scalar);
}

// Type aliases (not interfaces) so that tf.tidy accepts them as tensor containers.
export type PolicyLossTerms = { loss: tf.Scalar; clipFraction: tf.Scalar; approxKl: tf.Scalar };
export type ValueLossTerms = { loss: tf.Scalar; clipFraction: tf.Scalar };

/** PPO's clipped surrogate, its clip fraction (how often the clipped term wins) and ½·E[(log ρ)²] (TRL's approx KL). */
export function clippedPolicyLoss(
  logp: tf.Tensor,
  oldLogp: tf.Tensor,
  advantages: tf.Tensor,
  mask: tf.Tensor,
  clip: number,
): PolicyLossTerms {
  return tf.tidy(() => {
    const logRatio = tf.sub(logp, oldLogp);
    const ratio = tf.exp(logRatio);
    const unclipped = tf.mul(tf.neg(advantages), ratio);
    const clipped = tf.mul(tf.neg(advantages), tf.clipByValue(ratio, 1 - clip, 1 + clip));
    return {
      loss: maskedMean(tf.maximum(unclipped, clipped), mask),
      clipFraction: maskedMean(tf.cast(tf.greater(clipped, unclipped), 'float32'), mask),
      approxKl: tf.mul(0.5, maskedMean(tf.square(logRatio), mask)) as tf.Scalar,
    };
  });
}

/** ½·max((V − R)², (V_old + clip(V − V_old, ±clip) − R)²) over the mask, and how often the clipped term wins. */
export function clippedValueLoss(
  values: tf.Tensor,
  oldValues: tf.Tensor,
  returns: tf.Tensor,
  mask: tf.Tensor,
  clip: number,
): ValueLossTerms {
  return tf.tidy(() => {
    const clippedValues = tf.add(oldValues, tf.clipByValue(tf.sub(values, oldValues), -clip, clip));
    const unclipped = tf.square(tf.sub(values, returns));
    const clipped = tf.square(tf.sub(clippedValues, returns));
    return {
      loss: tf.mul(0.5, maskedMean(tf.maximum(unclipped, clipped), mask)) as tf.Scalar,
      clipFraction: maskedMean(tf.cast(tf.greater(clipped, unclipped), 'float32'), mask),
    };
  });
}

/** log softmax(logits[r, t])[targets[r, t]] per position ([rows, T]; 0 where the target is IGNORE_INDEX). */
export function tokenLogProbs(logits: tf.Tensor3D, targets: Int32Array): tf.Tensor2D {
  return tf.tidy(() => {
    const [rows, T, V] = logits.shape;
    const flatIdx = Int32Array.from(targets, (t, i) => i * V + (t === IGNORE_INDEX ? 0 : t));
    const mask = Float32Array.from(targets, (t) => (t === IGNORE_INDEX ? 0 : 1));
    const picked = tf.gather(tf.reshape(tf.logSoftmax(logits), [-1]), tf.tensor1d(flatIdx, 'int32'));
    return tf.reshape(tf.mul(picked, tf.tensor1d(mask)), [rows, T]) as tf.Tensor2D;
  });
}

/** Entropy −Σ_v p·log p of the next-token distribution at every position: [rows, T]. */
export function tokenEntropy(logits: tf.Tensor3D): tf.Tensor2D {
  return tf.tidy(() => {
    const logProbs = tf.logSoftmax(logits);
    return tf.neg(tf.sum(tf.mul(tf.exp(logProbs), logProbs), -1)) as tf.Tensor2D;
  });
}
