// Shared by the continuous-batching tests: the models they run (pre-LN, post-LN, dense + sparse layers) and the
// reference they compare with, a plain forward over one sequence alone.
import * as path from 'node:path';
import { GPT, getPreset, loadGPT } from '../src';
import { FIXTURES, ids2d, randomIds, setup, tf } from './helpers';

/** The models every batching behaviour is checked on: [description, name for useBatchedModels' getter]. */
export const BATCHED_MODEL_CASES: [string, string][] = [
  ['pre-LN GPT-2', 'tiny'],
  ['post-LN GPT-1', 'tiny-postln'],
  ['dense + local + fixed layers', 'sparse'],
];

/** A prompt of n token ids below 200 (the tiny vocabularies hold 512), fixed by seed. */
export const prompt = (n: number, seed: number): number[] => randomIds(n, 200, seed);

/** Loads 'tiny', 'tiny-postln' and 'sparse' (dense, local and fixed layers) before the file's tests. */
export function useBatchedModels(): (name: string) => GPT {
  const models = new Map<string, GPT>();
  beforeAll(async () => {
    await setup();
    for (const dir of ['tiny', 'tiny-postln']) models.set(dir, await loadGPT(path.join(FIXTURES, dir)));
    // each sparse layer's mask follows every row's own positions
    const attention = [{ type: 'dense' as const }, { type: 'local' as const, window: 5 }, { type: 'fixed' as const, stride: 4, c: 1 }];
    models.set('sparse', GPT.create(getPreset('tiny', { nLayer: 3, attention }), { seed: 5 }));
  });
  afterAll(() => models.forEach((m) => m.dispose()));
  return (name) => models.get(name)!;
}

/** Next-token logits after `seq`, from one forward over the whole sequence alone (no cache). */
export function aloneLogits(m: GPT, seq: number[]): Float32Array {
  const ids = ids2d([seq]);
  const { logits } = m.forward(ids);
  const out = (logits.dataSync() as Float32Array).slice((seq.length - 1) * m.config.vocabSize);
  tf.dispose([ids, logits]);
  return out;
}
