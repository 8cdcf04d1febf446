// Continuous batching: requests of different prompt lengths and strategies joining at different steps, leaving
// (finished, aborted) mid-way, past the context window — each equals generateAll() for that request alone.
import { tf } from '@gptlab/tensor';
import type { GPT } from '@gptlab/model';
import { BatchedGenerator, StrategyError, type BatchedRequest, type GenerateResult } from '../src';
import { byteTokenizer } from './helpers/fake';
import { alone, expectSame, useBatchedModels } from './helpers/batched';

const models = useBatchedModels();
let ckpt: GPT; // vocab 256, context 64: byte-level text for stop strings
let small: GPT; // context 16: rows slide their window
beforeAll(() => ({ ckpt, small } = models));

const tok = byteTokenizer();

const requests = (): BatchedRequest[] => [
  { ids: [1, 2, 3], maxNewTokens: 12 },
  { ids: [40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50], type: 'sample', seed: 7, temperature: 1.3, maxNewTokens: 15 },
  { ids: [9], type: 'sample', seed: 11, topK: 20, topP: 0.9, numReturnSequences: 3, maxNewTokens: 9, tokenizer: tok },
  { ids: [100, 7, 7, 7, 200], repetitionPenalty: 1.5, noRepeatNgramSize: 2, maxNewTokens: 10, tokenizer: tok },
  { ids: [65, 66], type: 'sample', seed: 3, minP: 0.05, frequencyPenalty: 0.5, maxNewTokens: 20, tokenizer: tok },
];

test('requests joining at different steps each equal generateAll alone (greedy, seeded sampling, n = 3, processors)', async () => {
  const reqs = requests();
  const want = await Promise.all(reqs.map((r) => alone(ckpt, r)));
  const gen = new BatchedGenerator(ckpt, { maxBatch: 8 });
  // the first two start together; the others join when the first has 2, 5 and 8 tokens
  const joinAt = new Map([
    [2, reqs[2]!],
    [5, reqs[3]!],
    [8, reqs[4]!],
  ]);
  const pending: Promise<GenerateResult[]>[] = [];
  let count = 0;
  pending.push(gen.add({ ...reqs[0]!, onToken: () => joinAt.has(++count) && pending.push(gen.add(joinAt.get(count)!)) }));
  pending.push(gen.add(reqs[1]!));
  await pending[0];
  const got = await Promise.all(pending);
  expect(got.length).toBe(5);
  got.forEach((g, i) => expectSame(g, want[i]!));
  // one forward per step for every row: far fewer steps than tokens
  expect(gen.stats.tokens).toBe(12 + 15 + 3 * 9 + 10 + 20);
  expect(gen.stats.steps).toBeLessThanOrEqual(8 + 20);
  await gen.idle();
  expect(gen.busy).toBe(false);
});

test('stop strings, EOS and streamed deltas as alone', async () => {
  const base = (await alone(ckpt, { ids: [72, 105], maxNewTokens: 16, tokenizer: tok }))[0]!;
  const stop = base.text.slice(4, 6); // a stop string this greedy run is sure to meet
  const reqs: BatchedRequest[] = [
    { ids: [72, 105], maxNewTokens: 16, tokenizer: tok, stopStrings: [stop] },
    { ids: [72, 105], maxNewTokens: 16, tokenizer: tok, eosTokenId: base.ids[3]! },
    { ids: [72, 105, 33], type: 'sample', seed: 5, maxNewTokens: 16, tokenizer: tok },
  ];
  const gen = new BatchedGenerator(ckpt);
  const streamed = ['', '', ''];
  const ends: (string | null)[][] = [[], [], []];
  const got = await Promise.all(
    reqs.map((r, i) =>
      gen.add({
        ...r,
        onToken: (e) => {
          streamed[i] += e.text;
          ends[i]!.push(e.finishReason);
        },
      }),
    ),
  );
  const want = await Promise.all(reqs.map((r) => alone(ckpt, r)));
  got.forEach((g, i) => expectSame(g, want[i]!));
  expect(got.map((g) => g[0]!.finishReason)).toEqual(['stop', 'eos', 'length']);
  expect(streamed).toEqual(got.map((g) => g[0]!.text));
  // finishReason arrives with each row's last token only
  got.forEach((g, i) => expect(ends[i]).toEqual([...new Array(g[0]!.ids.length - 1).fill(null), g[0]!.finishReason]));
});

test('rows past the context window (nPositions 16) slide it as generate does; prompts longer than it too', async () => {
  const reqs: BatchedRequest[] = [
    { ids: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], maxNewTokens: 20 },
    { ids: [5], type: 'sample', seed: 2, maxNewTokens: 24 },
    { ids: Array.from({ length: 21 }, (_, i) => (i * 7) % 97), maxNewTokens: 6 },
    { ids: [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7], type: 'sample', seed: 9, numReturnSequences: 2, maxNewTokens: 8 },
  ];
  const gen = new BatchedGenerator(small);
  const got = await Promise.all(reqs.map((r) => gen.add(r)));
  const want = await Promise.all(reqs.map((r) => alone(small, r)));
  got.forEach((g, i) => expectSame(g, want[i]!));
});

test('a request aborted mid-way rejects with the reason and leaves the others unchanged', async () => {
  const reqs = requests().slice(0, 3);
  const want = await Promise.all(reqs.map((r) => alone(ckpt, r)));
  const gen = new BatchedGenerator(ckpt);
  const ctl = new AbortController();
  let n = 0;
  const aborted = gen.add({
    ids: [8, 8, 8],
    maxNewTokens: 30,
    signal: ctl.signal,
    onToken: () => ++n === 4 && ctl.abort(new Error('client gone')),
  });
  const got = Promise.all(reqs.map((r) => gen.add(r)));
  await expect(aborted).rejects.toThrow('client gone');
  (await got).forEach((g, i) => expectSame(g, want[i]!));
  expect(n).toBe(4);
  const already = AbortSignal.abort(new Error('too late'));
  await expect(gen.add({ ids: [1], signal: already })).rejects.toThrow('too late');
});

test('requests past maxBatch wait for room; results unchanged', async () => {
  const reqs = requests();
  const gen = new BatchedGenerator(ckpt, { maxBatch: 3 });
  const all = reqs.map((r) => gen.add(r));
  expect(gen.stats.waiting).toBe(5);
  const got = await Promise.all(all);
  const want = await Promise.all(reqs.map((r) => alone(ckpt, r)));
  got.forEach((g, i) => expectSame(g, want[i]!));
});

test('no tensor leaks across 50 steps with rows joining and leaving', async () => {
  const run = async () => {
    const gen = new BatchedGenerator(small, { maxBatch: 4 });
    const jobs = Array.from({ length: 10 }, (_, i) =>
      gen.add({ ids: [1 + i, 2, 3 + i].slice(0, 1 + (i % 3)), type: 'sample', seed: i, maxNewTokens: 5 + 5 * i }),
    );
    await Promise.all(jobs);
    await gen.idle();
    return gen.stats.steps;
  };
  await run(); // warm-up: kernels and backend caches allocate once
  const before = tf.memory().numTensors;
  expect(await run()).toBeGreaterThanOrEqual(50);
  expect(tf.memory().numTensors).toBe(before);
});

test('bad requests reject with one clear error; the generator keeps serving', async () => {
  const gen = new BatchedGenerator(ckpt, { maxBatch: 2 });
  await expect(gen.add({ ids: [1], type: 'beam', numBeams: 2 })).rejects.toThrow(StrategyError);
  await expect(gen.add({ ids: [1], type: 'beam', numBeams: 2 })).rejects.toThrow("batched generation runs 'greedy' and 'sample'");
  await expect(gen.add({ ids: [1], type: 'sample', numReturnSequences: 3 })).rejects.toThrow("3 rows exceed this generator's maxBatch 2");
  await expect(gen.add({ ids: [1, 999] })).rejects.toThrow('promptIds[1] = 999 is not a token id in [0, 256)');
  await expect(gen.add({ ids: [1], topk: 3 } as BatchedRequest)).rejects.toThrow("topk: unknown field (did you mean 'topK'?)");
  // processors that ban every token fail that request only
  const banned = gen.add({ ids: [1], badWordsIds: Array.from({ length: 256 }, (_, i) => [i]) });
  const fine = gen.add({ ids: [2], maxNewTokens: 4 });
  await expect(banned).rejects.toThrow('decoding step 0 (row 0): the logits processors removed every token');
  expect((await fine)[0]!.ids).toHaveLength(4);
  expect(await gen.add({ ids: [1], maxNewTokens: 0 })).toEqual([{ ids: [], text: '', logprobs: [], score: 0, finishReason: 'length' }]);
  const ok = await gen.add({ ids: [1, 2], maxNewTokens: 3 });
  expectSame(ok, await alone(ckpt, { ids: [1, 2], maxNewTokens: 3 }));
  await gen.close();
  await expect(gen.add({ ids: [1] })).rejects.toThrow('BatchedGenerator.add: the generator was closed');
  expect(() => new BatchedGenerator(ckpt, { maxBatch: 0 })).toThrow('maxBatch must be a positive integer, got 0');
});

test('a failing prefill fails its request only; a failing step fails the batch, not the generator; no leaks', async () => {
  let failStep = false;
  const flaky = {
    config: ckpt.config,
    createCache: (b: number) => ckpt.createCache(b),
    createBatchedCache: () => ckpt.createBatchedCache(),
    forward: (ids: tf.Tensor2D, o?: Parameters<GPT['forward']>[1]) => {
      if (ids.shape[1] === 7) throw new Error('prefill failed');
      return ckpt.forward(ids, o);
    },
    decodeStep: (t: ArrayLike<number>, c: ReturnType<GPT['createBatchedCache']>) => {
      if (failStep) throw new Error('step failed');
      return ckpt.decodeStep(t, c);
    },
  };
  const gen = new BatchedGenerator(flaky);
  const before = tf.memory().numTensors;
  const bad = gen.add({ ids: [1, 2, 3, 4, 5, 6, 7], maxNewTokens: 4 });
  const good = gen.add({ ids: [1, 2, 3], maxNewTokens: 6 });
  await expect(bad).rejects.toThrow('prefill failed');
  expectSame(await good, await alone(ckpt, { ids: [1, 2, 3], maxNewTokens: 6 }));
  failStep = true;
  const both = [gen.add({ ids: [4, 5], maxNewTokens: 4 }), gen.add({ ids: [6], maxNewTokens: 4 })];
  for (const p of both) await expect(p).rejects.toThrow('step failed');
  failStep = false;
  expectSame(await gen.add({ ids: [9, 9], maxNewTokens: 5 }), await alone(ckpt, { ids: [9, 9], maxNewTokens: 5 }));
  await gen.idle();
  expect(tf.memory().numTensors).toBe(before);
});
