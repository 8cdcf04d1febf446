// Shared by the data-parallel tests: a few training steps through a gradient source, their losses.
import type { tf } from '@gptlab/tensor';
import { AdamW } from '../src/train/adamw';
import { splitBatch, type TokenBatch } from '../src/train/batches';
import type { GradientSource } from '../src/train/gradients';
import { trainLoop } from '../src/train/loop';

/**
 * Trains `params` for `steps` steps at a constant `lr`, each step one global batch from `sample` split into
 * `chunks` equal chunks; returns the losses. Disposes the gradient source and the optimizer.
 */
export async function stepLosses(o: {
  params: Record<string, tf.Variable>;
  gradients: GradientSource<TokenBatch>;
  steps: number;
  lr: number;
  chunks: number;
  sample: () => TokenBatch;
}): Promise<number[]> {
  const optimizer = new AdamW();
  const losses: number[] = [];
  try {
    await trainLoop({
      params: o.params,
      gradients: o.gradients,
      optimizer,
      lr: () => o.lr,
      totalSteps: o.steps,
      batches: () => {
        const global = o.sample();
        return { chunks: splitBatch(global, o.chunks), seeds: [], tokens: global.rows * global.T };
      },
      onStep: (r) => losses.push(r.loss),
    });
  } finally {
    await o.gradients.dispose();
    optimizer.dispose();
  }
  return losses;
}
