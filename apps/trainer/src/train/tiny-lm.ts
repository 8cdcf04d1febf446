// A tiny language model made of tf variables (embedding → tanh MLP → tied-free output layer): the trainer's
// own test subject, so the optimizer, accumulation, checkpoints and worker averaging are tested without
// depending on @gptlab/model. Names follow the HF style so the decay rule sees an embedding (wte), matrices
// and biases.
import { Rng } from '@gptlab/common';
import { tf, crossEntropy, linear } from '@gptlab/tensor';
import type { LossContext } from './gradients';
import type { TokenBatch } from './batches';
import { inputsAndTargets } from './batches';

export interface TinyLMConfig {
  vocabSize: number;
  nEmbd: number;
  /** Dropout on the hidden layer (0 = deterministic). */
  dropout?: number;
}

export class TinyLM {
  readonly weights: Record<string, tf.Variable>;
  constructor(
    readonly config: TinyLMConfig,
    seed = 0,
  ) {
    const rng = new Rng(seed);
    const { vocabSize: V, nEmbd: C } = config;
    const normal = (n: number, std: number) => Float32Array.from({ length: n }, () => rng.normal() * std);
    const v = (name: string, data: Float32Array, shape: number[]) =>
      tf.tidy(() => tf.variable(tf.tensor(data, shape), true, `tinylm_${seed}_${name}_${Math.random().toString(36).slice(2)}`));
    this.weights = {
      'wte.weight': v('wte', normal(V * C, 0.5), [V, C]),
      'h.0.mlp.c_fc.weight': v('fc_w', normal(C * C, 0.3), [C, C]),
      'h.0.mlp.c_fc.bias': v('fc_b', normal(C, 0.1), [C]),
      'ln_f.weight': v(
        'ln_w',
        Float32Array.from({ length: C }, () => 1 + rng.normal() * 0.1),
        [C],
      ),
      'lm_head.weight': v('head_w', normal(C * V, 0.3), [C, V]),
    };
  }

  namedWeights(): Record<string, tf.Variable> {
    return this.weights;
  }

  logits(ids: tf.Tensor2D): tf.Tensor {
    const w = this.weights;
    return tf.tidy(() => {
      const e = tf.gather(w['wte.weight']!, ids); // [B, T, C]
      const h = tf.tanh(linear(e, w['h.0.mlp.c_fc.weight'] as tf.Tensor2D, w['h.0.mlp.c_fc.bias'] as tf.Tensor1D));
      const g = tf.mul(tf.add(h, e), w['ln_f.weight']!);
      return linear(g, w['lm_head.weight'] as tf.Tensor2D);
    });
  }

  loss(ids: tf.Tensor2D, targets: tf.Tensor2D, opts: { training: boolean; seed?: number } = { training: false }): tf.Scalar {
    return tf.tidy(() => {
      let logits = this.logits(ids);
      const rate = opts.training ? (this.config.dropout ?? 0) : 0;
      if (rate > 0) {
        const keep = tf.cast(tf.greaterEqual(tf.randomUniform(logits.shape, 0, 1, 'float32', opts.seed ?? 0), rate), 'float32');
        logits = tf.mul(logits, tf.div(keep, 1 - rate));
      }
      return crossEntropy(logits, targets);
    });
  }

  /** Loss function over token batches, for trainLoop / LocalGradients. */
  lossFn(): (b: TokenBatch, ctx: LossContext) => tf.Scalar {
    return (b, ctx) => {
      const { inputs, targets } = inputsAndTargets(b);
      return tf.tidy(() =>
        this.loss(tf.tensor2d(inputs, [b.rows, b.T], 'int32'), tf.tensor2d(targets, [b.rows, b.T], 'int32'), {
          training: ctx.training,
          seed: ctx.seed,
        }),
      );
    };
  }

  dispose(): void {
    for (const v of Object.values(this.weights)) v.dispose();
  }
}
