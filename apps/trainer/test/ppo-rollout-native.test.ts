// PPO's rollout generation on the native batched step (where the addon is built): sampleResponses decodes every
// prompt through ONE native batched cache, each response the tokens the decoding package samples for that prompt
// and seed alone; after a weight update the next rollout samples from the new weights (the snapshot is taken
// again, also when native decoding stays on between rollouts); the policy is left with native decoding as it was
// found; no tensors leak.
import { initBackend, tf } from '@gptlab/tensor';
import { GPT, getPreset, NativeBatchedKVCache, disableNativeDecoding, enableNativeDecoding, nativeDecodingEnabled } from '@gptlab/model';
import { generateAll, gptLanguageModel } from '@gptlab/decoding';
import { sampleResponses } from '../src/align/ppo-rollout';

let native = false;
beforeAll(async () => {
  await initBackend();
  const probe = GPT.create(getPreset('nano'), { seed: 0 });
  native = enableNativeDecoding(probe).active && probe.createBatchedCache() instanceof NativeBatchedKVCache;
  // eslint-disable-next-line no-console
  if (!native) console.warn('SKIPPED native rollout checks: native decoding unavailable');
  probe.dispose();
});

const PROMPTS = [
  [5, 9, 14, 3],
  [7, 1],
  [12, 30, 31, 2, 8, 8, 40],
];
const SETTINGS = { temperature: 1, maxNewTokens: 8, eos: 0 };

/** Each prompt alone through the decoding package (tfjs one-row steps: native decoding off on `m`). */
async function alone(m: GPT, seeds: number[]): Promise<number[][]> {
  const lm = gptLanguageModel(m);
  const out: number[][] = [];
  for (const [i, ids] of PROMPTS.entries()) {
    const [r] = await generateAll(lm, ids, { type: 'sample', seed: seeds[i]!, maxNewTokens: SETTINGS.maxNewTokens, eosTokenId: 0 });
    out.push(r!.ids);
  }
  return out;
}

test('rollouts decode natively in one batched cache, each response the one sampled alone; updates are seen', async () => {
  if (!native) return;
  const policy = GPT.create(getPreset('nano', { vocabSize: 64 }), { seed: 2 });
  const created: unknown[] = [];
  const spy = jest.spyOn(policy, 'createBatchedCache');
  spy.mockImplementation(function (this: GPT) {
    const c = GPT.prototype.createBatchedCache.call(this);
    created.push(c);
    return c;
  });
  const seeds = [21, 22, 23];
  // warm-up: tfjs keeps a few constants from first uses
  await sampleResponses(policy, PROMPTS, seeds, SETTINGS);
  await alone(policy, seeds);
  const before = tf.memory().numTensors;
  expect(await sampleResponses(policy, PROMPTS, seeds, SETTINGS)).toEqual(await alone(policy, seeds));
  expect(created.length).toBeGreaterThan(0);
  expect(created.every((c) => c instanceof NativeBatchedKVCache)).toBe(true);
  expect(nativeDecodingEnabled(policy)).toBe(false);
  // a PPO update assigns new values to the variables: the next rollout samples from them
  const wte = policy.namedWeights().get('transformer.wte.weight')!;
  const scaled = tf.mul(wte, 3);
  wte.assign(scaled);
  scaled.dispose();
  const after = await sampleResponses(policy, PROMPTS, seeds, SETTINGS);
  expect(after).toEqual(await alone(policy, seeds));
  expect(tf.memory().numTensors).toBe(before);
  // native decoding left on between rollouts (one snapshot kept): an update is still seen at the next rollout
  enableNativeDecoding(policy);
  await sampleResponses(policy, PROMPTS, seeds, SETTINGS);
  const halved = tf.mul(wte, 0.5);
  wte.assign(halved);
  halved.dispose();
  const kept = await sampleResponses(policy, PROMPTS, seeds, SETTINGS);
  expect(nativeDecodingEnabled(policy)).toBe(true);
  disableNativeDecoding(policy);
  expect(kept).toEqual(await alone(policy, seeds));
  spy.mockRestore();
  policy.dispose();
});
