// enableNativeDecoding(model, { weights: 'int8' }): the opt-in weight-only int8 decode step stays within a stated
// drift of the float32 path (random GPT and the PyTorch fixtures' next-token log-probs), leaks no tensors, says so
// in its status, and switching back to float32 gives the tfjs path's logits exactly again.
import * as path from 'node:path';
import { GPT, getPreset, loadGPT, enableNativeDecoding, disableNativeDecoding, type KVCache } from '../src';
import { FIXTURES, ids2d, logSoftmaxRows, maxAbsDiff, reference, setup, tf } from './helpers';

let available = false;
beforeAll(async () => {
  await setup();
  const probe = GPT.create(getPreset('nano', { nLayer: 1 }), { seed: 0 });
  const status = enableNativeDecoding(probe, { weights: 'int8' });
  available = status.active;
  if (!available) console.warn(`SKIPPED int8 native decoding checks: ${status.detail}`);
  probe.dispose();
});

/** Prompt through forward, then `n` one-token steps feeding `forced` ids; the last-position logits of every call. */
function logitsAlong(model: GPT, prompt: number[], forced: number[]): Float32Array[] {
  const cache: KVCache = model.createCache(1);
  const out: Float32Array[] = [];
  let input = ids2d([prompt]);
  for (const id of forced) {
    const logits = model.forward(input, { cache }).logits;
    input.dispose();
    out.push((logits.dataSync() as Float32Array).slice(-model.config.vocabSize));
    logits.dispose();
    input = ids2d([[id]]);
  }
  input.dispose();
  cache.dispose();
  return out;
}

it('stays within its drift bound of float32 on a random GPT, leaks no tensors, and switches back exactly', () => {
  if (!available) return;
  const config = getPreset('gpt2-small', { nLayer: 2, nHead: 4, nEmbd: 64, nPositions: 48, vocabSize: 300 });
  const model = GPT.create({ ...config, embdDropout: 0, attnDropout: 0, residDropout: 0 }, { seed: 5 });
  const prompt = [3, 1, 4, 1, 5];
  const forced = [9, 26, 5, 35, 89, 79, 3, 2];
  const exact = logitsAlong(model, prompt, forced);
  const status = enableNativeDecoding(model, { weights: 'int8' });
  expect(status.detail).toMatch(/int8 weights/);
  logitsAlong(model, prompt, forced.slice(0, 2)); // the snapshot
  const before = tf.memory().numTensors;
  const int8 = logitsAlong(model, prompt, forced);
  expect(tf.memory().numTensors).toBe(before);
  // the prompt's logits come from tfjs (float32); the native steps read int8 weights
  expect(maxAbsDiff(int8[0]!, exact[0]!)).toBe(0);
  const drift = Math.max(...int8.slice(1).map((l, i) => maxAbsDiff(l, exact[i + 1]!)));
  expect(drift).toBeGreaterThan(0);
  expect(drift).toBeLessThan(2e-2); // the bfloat16 test's bound; int8 measured 5e-3 here
  enableNativeDecoding(model); // float32 again: a new exact snapshot
  const back = logitsAlong(model, prompt, forced);
  expect(Math.max(...back.map((l, i) => maxAbsDiff(l, exact[i]!)))).toBeLessThan(1e-5);
  disableNativeDecoding(model);
  model.dispose();
});

describe.each(['tiny', 'tiny-postln'])('PyTorch fixture %s with int8 native decoding', (name) => {
  const ref = reference()[name]!;
  it('keeps every next-token log-prob within 0.2 of the reference (measured 0.09 tiny, 0.045 post-LN)', async () => {
    if (!available) return;
    const model = await loadGPT(path.join(FIXTURES, name));
    expect(enableNativeDecoding(model, { weights: 'int8' }).active).toBe(true);
    let worstDiff = 0;
    for (const s of ref.sequences) {
      // every position a native step: a one-token "prompt", then the reference's own ids
      const logits = logitsAlong(model, s.ids.slice(0, 1), s.ids.slice(1));
      logits.forEach((l, t) => {
        const lp = logSoftmaxRows(l, model.config.vocabSize);
        worstDiff = Math.max(worstDiff, Math.abs(lp[s.ids[t + 1]!]! - s.next_token_logprobs[t]!));
      });
    }
    expect(worstDiff).toBeGreaterThan(1e-5); // not the float32 path (that one matches to 1e-4 and below)
    expect(worstDiff).toBeLessThan(0.2);
    model.dispose();
  });
});
