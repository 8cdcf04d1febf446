// PPO's objective on one minibatch (TRL's PPOTrainer loss): the clipped policy loss + vf_coef × the clipped value
// loss over the response tokens, + γ_ptx × the LM loss of a pretraining batch with PPO-ptx. The value head is
// TRL's ValueHead: a scalar linear layer on the policy's last hidden states, saved with the policy as
// `value_head.weight` / `value_head.bias`. The policy runs without dropout (TRL's advice for PPO: with it the
// ratio is not 1 before any update).
import { tf } from '@gptlab/tensor';
import { TaskHead, type GPT } from '@gptlab/model';
import type { LossFn } from '../train/gradients';
import { clippedPolicyLoss, clippedValueLoss, maskedMean, tokenEntropy, tokenLogProbs } from './ppo-math';
import { tokenValues, type PpoBatch } from './ppo-rollout';

export const VALUE_HEAD = 'value_head';

export function newValueHead(model: GPT, seed: number): TaskHead {
  return new TaskHead(model.config.nEmbd, 1, { name: VALUE_HEAD, seed, dropout: 0 });
}

/** One optimizer step's data: a minibatch of rollouts, and with PPO-ptx a pretraining batch. */
export interface PpoStep {
  batch: PpoBatch;
  ptx?: { ids: Int32Array; rows: number; T: number };
}

/** The loss of one minibatch, with TRL's statistics reported as parts of the train records. */
export function ppoLoss(
  policy: GPT,
  head: TaskHead,
  o: { clipRange: number; clipRangeValue: number; vfCoef: number; ptxCoef: number },
): LossFn<PpoStep> {
  return (s, ctx) =>
    tf.tidy(() => {
      const b = s.batch;
      const shape: [number, number] = [b.rows, b.T];
      const { logits, hidden } = policy.forward(tf.tensor2d(b.ids, shape, 'int32'), { outputHidden: true });
      const t = (a: Float32Array) => tf.tensor2d(a, shape);
      const mask = t(b.mask);
      const pg = clippedPolicyLoss(tokenLogProbs(logits, b.targets), t(b.oldLogp), t(b.advantages), mask, o.clipRange);
      const vf = clippedValueLoss(tokenValues(head, hidden!), t(b.oldValues), t(b.returns), mask, o.clipRangeValue);
      ctx.report?.('policy_loss', pg.loss);
      ctx.report?.('value_loss', vf.loss);
      ctx.report?.('clip_fraction', pg.clipFraction);
      ctx.report?.('value_clip_fraction', vf.clipFraction);
      ctx.report?.('approx_kl', pg.approxKl);
      ctx.report?.('entropy', maskedMean(tokenEntropy(logits), mask));
      let loss = tf.add(pg.loss, tf.mul(o.vfCoef, vf.loss)) as tf.Scalar;
      if (s.ptx) {
        const ids = tf.tensor2d(s.ptx.ids, [s.ptx.rows, s.ptx.T + 1], 'int32');
        const lm = policy.loss(tf.slice(ids, [0, 0], [-1, s.ptx.T]) as tf.Tensor2D, tf.slice(ids, [0, 1], [-1, s.ptx.T]) as tf.Tensor2D);
        ctx.report?.('ptx_loss', lm);
        loss = tf.add(loss, tf.mul(o.ptxCoef, lm)) as tf.Scalar;
      }
      return loss;
    });
}
