// Model replicas for gradient workers, and the token-batch loss shared by every language model.
import { tf } from '@gptlab/tensor';
import { inputsAndTargets, type TokenBatch } from './batches';
import type { LossFn } from './gradients';
import { TinyLM, type TinyLMConfig } from './tiny-lm';

export interface LossModel {
  loss(ids: tf.Tensor2D, targets: tf.Tensor2D, opts?: { training?: boolean; seed?: number }): tf.Scalar;
}

/** The loss over token batches of any model with a `loss(ids, targets, opts)` method. */
export function tokenLossFn(m: LossModel): LossFn<TokenBatch> {
  return (b, ctx) => {
    const { inputs, targets } = inputsAndTargets(b);
    const ids = tf.tensor2d(inputs, [b.rows, b.T], 'int32');
    const tg = tf.tensor2d(targets, [b.rows, b.T], 'int32');
    try {
      return m.loss(ids, tg, { training: ctx.training, seed: ctx.seed });
    } finally {
      ids.dispose();
      tg.dispose();
    }
  };
}

/** How a worker thread builds its replica: a GPT from a config (@gptlab/model), or the tiny test model. */
export type ReplicaSpec = { kind: 'gpt'; config: Record<string, unknown> } | { kind: 'tiny'; config: TinyLMConfig };

export interface Replica {
  params: Record<string, tf.Variable>;
  lossFn: LossFn<TokenBatch>;
  dispose(): void;
}

/** Builds a replica; `gpt` builds GPT replicas (passed in so this module does not load @gptlab/model). */
export function buildReplica(spec: ReplicaSpec, gpt: (config: Record<string, unknown>) => Replica): Replica {
  if (spec.kind === 'tiny') {
    const m = new TinyLM(spec.config, 0);
    return { params: m.namedWeights(), lossFn: tokenLossFn(m), dispose: () => m.dispose() };
  }
  return gpt(spec.config);
}
