// Batched prefill in the BatchedGenerator: the prompts admitted together (different lengths, greedy and seeded
// sampling, n > 1 rows, joining a running batch) are prefilled in ONE forward, and every request still equals
// generateAll() for it alone (ids, text, finish; log-probs within 1e-4). A failing batched prefill is retried
// one prompt at a time, so only the failing request fails; a model without prefillBatched goes one by one.
import { tf } from '@gptlab/tensor';
import type { GPT } from '@gptlab/model';
import { BatchedGenerator, type BatchedRequest, type GenerateResult } from '../src';
import { byteTokenizer } from './helpers/fake';
import { paddingGroups } from '../src/batched-prefill';
import { alone, expectSame, useBatchedModels } from './helpers/batched';

const m = useBatchedModels(); // m.ckpt: vocab 256, context 64; m.small: context 16

const tok = byteTokenizer();

/** Counts the prompts each model forward of a prefill holds, wrapping `model` structurally. */
function counting(model: GPT, opts: { batched: boolean; failOn?: number }) {
  const calls: number[] = [];
  const wrapped = {
    config: model.config,
    createCache: (b: number) => model.createCache(b),
    createBatchedCache: () => model.createBatchedCache(),
    decodeStep: (t: ArrayLike<number>, c: ReturnType<GPT['createBatchedCache']>) => model.decodeStep(t, c),
    forward: (ids: tf.Tensor2D, o?: Parameters<GPT['forward']>[1]) => {
      if (o?.cache) calls.push(ids.shape[0]); // a prompt prefill (windows run without a cache)
      // a lone prompt is prefilled by forward (bit-equal to generating it alone): it fails the same way
      if (o?.cache && opts.failOn !== undefined && Array.from(ids.dataSync()).includes(opts.failOn)) throw new Error('prefill failed');
      return model.forward(ids, o);
    },
    ...(opts.batched && {
      prefillBatched: (prompts: readonly ArrayLike<number>[], c: ReturnType<GPT['createBatchedCache']>) => {
        calls.push(prompts.length);
        if (prompts.some((p) => Array.from(p).includes(opts.failOn ?? -1))) throw new Error('prefill failed');
        return model.prefillBatched(prompts, c);
      },
    }),
  };
  return { wrapped, calls };
}

const requests = (): BatchedRequest[] => [
  { ids: [1, 2, 3], maxNewTokens: 10 },
  { ids: [40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52], type: 'sample', seed: 7, temperature: 1.3, maxNewTokens: 12 },
  { ids: [9], type: 'sample', seed: 11, topK: 20, topP: 0.9, numReturnSequences: 3, maxNewTokens: 9, tokenizer: tok },
  { ids: [100, 7, 7, 7, 200], repetitionPenalty: 1.5, noRepeatNgramSize: 2, maxNewTokens: 10, tokenizer: tok },
  { ids: [65, 66], type: 'sample', seed: 3, minP: 0.05, frequencyPenalty: 0.5, numReturnSequences: 2, maxNewTokens: 14 },
];

test('prompts of different lengths arriving together take one prefill forward and match generateAll alone', async () => {
  const reqs = requests();
  const want = await Promise.all(reqs.map((r) => alone(m.ckpt, r)));
  const gen = new BatchedGenerator(m.ckpt, { maxBatch: 16 });
  const got = await Promise.all(reqs.map((r) => gen.add(r)));
  got.forEach((g, i) => expectSame(g, want[i]!));
  expect(gen.stats.prefills).toBe(1);
  expect(gen.stats.tokens).toBe(10 + 12 + 3 * 9 + 10 + 2 * 14);
});

test('requests joining a running batch in groups: one forward per group, the running rows unchanged', async () => {
  const reqs = requests();
  const want = await Promise.all(reqs.map((r) => alone(m.ckpt, r)));
  const { wrapped, calls } = counting(m.ckpt, { batched: true });
  const gen = new BatchedGenerator(wrapped, { maxBatch: 16 });
  const pending: Promise<GenerateResult[]>[] = [];
  let count = 0;
  // the last three arrive in the same tick once the first has 3 tokens (one group, with n = 3 and n = 2 fan-out)
  const onToken = () => ++count === 3 && pending.push(...reqs.slice(2).map((r) => gen.add(r)));
  pending.push(gen.add({ ...reqs[0]!, onToken }), gen.add(reqs[1]!));
  await pending[0];
  const got = await Promise.all(pending);
  got.forEach((g, i) => expectSame(g, want[i]!));
  expect(calls).toEqual([2, 3]);
  expect(gen.stats.prefills).toBe(2);
});

test('a model without prefillBatched prefills one prompt at a time, with the same results', async () => {
  const reqs = requests();
  const want = await Promise.all(reqs.map((r) => alone(m.ckpt, r)));
  const { wrapped, calls } = counting(m.ckpt, { batched: false });
  const gen = new BatchedGenerator(wrapped, { maxBatch: 16 });
  const got = await Promise.all(reqs.map((r) => gen.add(r)));
  got.forEach((g, i) => expectSame(g, want[i]!));
  expect(calls).toEqual([1, 1, 1, 1, 1]);
  expect(gen.stats.prefills).toBe(5);
});

test('prompts past the context re-encode windows next to a batched prefill of the others', async () => {
  const reqs: BatchedRequest[] = [
    { ids: Array.from({ length: 21 }, (_, i) => (i * 7) % 97), maxNewTokens: 6 },
    { ids: [5, 6, 7], type: 'sample', seed: 2, maxNewTokens: 18 },
    { ids: [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7], type: 'sample', seed: 9, numReturnSequences: 2, maxNewTokens: 8 },
  ];
  const { wrapped, calls } = counting(m.small, { batched: true });
  const gen = new BatchedGenerator(wrapped);
  const got = await Promise.all(reqs.map((r) => gen.add(r)));
  const want = await Promise.all(reqs.map((r) => alone(m.small, r)));
  got.forEach((g, i) => expectSame(g, want[i]!));
  expect(calls).toEqual([2]);
});

test('a failing batched prefill is retried prompt by prompt: only its request fails; no leaks', async () => {
  const { wrapped, calls } = counting(m.ckpt, { batched: true, failOn: 77 });
  const gen = new BatchedGenerator(wrapped);
  const run = async () => {
    const bad = gen.add({ ids: [1, 77, 3], maxNewTokens: 4 });
    const good = [gen.add({ ids: [1, 2], maxNewTokens: 5 }), gen.add({ ids: [4, 5, 6, 7], type: 'sample', seed: 1, maxNewTokens: 5 })];
    await expect(bad).rejects.toThrow('prefill failed');
    return Promise.all(good);
  };
  await run(); // warm-up: kernels and backend caches allocate once
  await gen.idle();
  calls.length = 0;
  const before = tf.memory().numTensors;
  const got = await run();
  await gen.idle();
  expect(tf.memory().numTensors).toBe(before);
  expect(calls).toEqual([3, 1, 1, 1]);
  expectSame(got[0]!, await alone(m.ckpt, { ids: [1, 2], maxNewTokens: 5 }));
  expectSame(got[1]!, await alone(m.ckpt, { ids: [4, 5, 6, 7], type: 'sample', seed: 1, maxNewTokens: 5 }));
});

test('paddingGroups: prompts of similar lengths share a forward, one long prompt goes apart', () => {
  expect(paddingGroups([3, 13, 1, 5, 2])).toEqual([[2, 4, 0, 3, 1]]); // 5 × 13 = 65 ≤ 2 × 24 + 64
  expect(paddingGroups([5, 5, 5, 1000, 5])).toEqual([[0, 1, 2, 4], [3]]);
  expect(paddingGroups([60, 2, 2, 3])).toEqual([[1, 2, 3], [0]]); // 4 × 60 = 240 > 2 × 67 + 64
  expect(paddingGroups([7])).toEqual([[0]]);
  expect(paddingGroups([])).toEqual([]);
});

test('a long prompt admitted with short ones is prefilled apart; results unchanged', async () => {
  const reqs: BatchedRequest[] = [
    { ids: [1, 2], maxNewTokens: 4 },
    { ids: Array.from({ length: 60 }, (_, i) => (i * 5) % 256), type: 'sample', seed: 4, maxNewTokens: 4 },
    { ids: [7, 8], type: 'sample', seed: 5, numReturnSequences: 2, maxNewTokens: 6 },
    { ids: [9, 10, 11], maxNewTokens: 5 },
  ];
  const { wrapped, calls } = counting(m.ckpt, { batched: true });
  const gen = new BatchedGenerator(wrapped);
  const got = await Promise.all(reqs.map((r) => gen.add(r)));
  const want = await Promise.all(reqs.map((r) => alone(m.ckpt, r)));
  got.forEach((g, i) => expectSame(g, want[i]!));
  expect(calls).toEqual([3, 1]);
});
