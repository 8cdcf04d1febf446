// The language model as the trainer sees it: @gptlab/model's GPT, its weights by Hugging Face name, and the
// replica factory that gradient workers use to build the same model in their own tfjs instance.
import type { tf } from '@gptlab/tensor';
import { GPT, type GPTConfig } from '@gptlab/model';
import { tokenLossFn, type Replica } from './train/replica';

export type { GPTConfig };

export function namedWeights(m: { namedWeights(): Record<string, tf.Variable> | Map<string, tf.Variable> }): Record<string, tf.Variable> {
  const w = m.namedWeights();
  return w instanceof Map ? Object.fromEntries(w) : w;
}

export function gptReplica(config: Record<string, unknown>): Replica {
  const m = GPT.create(config as unknown as GPTConfig, { seed: 0 });
  return { params: namedWeights(m), lossFn: tokenLossFn(m), dispose: () => m.dispose() };
}
