// enableNativeDecoding: one-token cached steps through @gptlab/tensor-native's decode step give the tfjs path's
// logits and ids (random GPTs, pre-LN and post-LN), reproduce the PyTorch fixtures' greedy continuations and
// beam search, keep the cache consistent when tfjs and native steps mix (multi-token forwards, truncate, reorder,
// clone), re-snapshot changed weights, leak no tensors, and say why they are off where they cannot run.
import * as path from 'node:path';
import {
  GPT,
  getPreset,
  loadGPT,
  enableNativeDecoding,
  disableNativeDecoding,
  nativeDecodingEnabled,
  NativeKVCache,
  type KVCache,
} from '../src';
import { FIXTURES, ids2d, logSoftmaxRows, maxAbsDiff, reference, setup, tf, tinyDecodeConfig } from './helpers';

let available = false;
beforeAll(async () => {
  await setup();
  const probe = GPT.create(getPreset('nano', { nLayer: 1 }), { seed: 0 });
  const status = enableNativeDecoding(probe);
  available = status.active;
  // eslint-disable-next-line no-console
  if (!available) console.warn(`SKIPPED native decoding checks: ${status.detail}`);
  probe.dispose();
});

const tiny = tinyDecodeConfig;

/** Prompt through forward, then `n` greedy one-token steps; the last-position logits of every call. */
function run(model: GPT, prompt: number[], n: number, cache: KVCache = model.createCache(1)): { ids: number[]; logits: Float32Array[] } {
  const ids: number[] = [];
  const logits: Float32Array[] = [];
  let input = ids2d([prompt]);
  for (let i = 0; i < n; i++) {
    const out = model.forward(input, { cache }).logits;
    input.dispose();
    const [, T, V] = out.shape;
    const last = (out.dataSync() as Float32Array).slice((T - 1) * V);
    out.dispose();
    logits.push(last);
    let best = 0;
    for (let j = 1; j < V; j++) if (last[j]! > last[best]!) best = j;
    ids.push(best);
    input = ids2d([[best]]);
  }
  input.dispose();
  cache.dispose();
  return { ids, logits };
}

/** The last position's logits of one forward of `ids` (one row) with `cache`. */
function lastLogits(model: GPT, ids: number[], cache: KVCache): Float32Array {
  const logits = model.forward([ids], { cache }).logits;
  const V = logits.shape[2];
  const last = (logits.dataSync() as Float32Array).slice(-V);
  logits.dispose();
  return last;
}

const worst = (a: Float32Array[], b: Float32Array[]) => Math.max(...a.map((x, i) => maxAbsDiff(x, b[i]!)));

describe('native decoding', () => {
  for (const postLN of [false, true]) {
    it(`gives the tfjs path's logits and ids (${postLN ? 'post-LN' : 'pre-LN'}), with no leaked tensors`, async () => {
      if (!available) return;
      const model = GPT.create(tiny(postLN), { seed: 3 });
      const prompt = [5, 17, 250, 3, 99];
      const plain = run(model, prompt, 16);
      expect(enableNativeDecoding(model).active).toBe(true);
      run(model, prompt, 2); // the snapshot
      const before = tf.memory().numTensors;
      const fast = run(model, prompt, 16);
      expect(tf.memory().numTensors).toBe(before);
      expect(fast.ids).toEqual(plain.ids);
      expect(worst(fast.logits, plain.logits)).toBeLessThan(1e-5);
      // and the steps really are native: no tfjs kernel runs in one
      const cache = model.createCache(1);
      model.forward([prompt], { cache }).logits.dispose();
      const profile = await tf.profile(() => model.forward([[7]], { cache }).logits);
      expect(profile.kernelNames).toEqual([]);
      (profile.result as tf.Tensor).dispose();
      cache.dispose();
      model.dispose();
    });
  }

  it("matches the batched tfjs decodeStep's logits", () => {
    if (!available) return;
    const model = GPT.create(tiny(false), { seed: 4 });
    enableNativeDecoding(model);
    const batch = model.createBatchedCache();
    model.prefillBatched([[1, 2, 3]], batch).dispose();
    const cache = model.createCache(1);
    model.forward([[1, 2, 3]], { cache }).logits.dispose();
    for (const t of [7, 8, 9]) {
      const a = model.decodeStep([t], batch);
      const b = model.forward([[t]], { cache }).logits;
      expect(maxAbsDiff(a.dataSync(), b.dataSync())).toBeLessThan(1e-5);
      tf.dispose([a, b]);
    }
    expect(cache).toBeInstanceOf(NativeKVCache);
    batch.dispose();
    cache.dispose();
    model.dispose();
  });

  it('keeps the cache consistent when tfjs and native steps mix: multi-token forward, truncate, reorder, clone', () => {
    if (!available) return;
    const model = GPT.create(tiny(false), { seed: 5 });
    const reference = (seq: number[][]) => {
      // the tfjs path over the same feeds
      disableNativeDecoding(model);
      const c = model.createCache(1);
      const out = seq.map((ids) => lastLogits(model, ids, c));
      c.dispose();
      enableNativeDecoding(model);
      return out;
    };
    const feeds = [[1, 2, 3], [4], [5], [6, 7], [8], [9]];
    const want = reference(feeds);
    enableNativeDecoding(model);
    const cache = model.createCache(1);
    const got = feeds.map((ids) => lastLogits(model, ids, cache));
    expect(cache.length).toBe(9);
    expect(worst(got, want)).toBeLessThan(1e-5);
    // rewind two native positions, replay them
    cache.truncate(7);
    const again = [8, 9].map((t) => lastLogits(model, [t], cache));
    expect(worst(again, want.slice(4))).toBeLessThan(1e-5);
    // a clone (plain tfjs cache) and an identity reorder continue the same sequence
    const copy = cache.clone();
    cache.reorder([0]);
    expect(maxAbsDiff(lastLogits(model, [10], cache), lastLogits(model, [10], copy))).toBeLessThan(1e-5);
    copy.dispose();
    cache.dispose();
    model.dispose();
  });

  it('hands a cache with native positions to continuous batching (BatchedKVCache.add reads it through layer())', () => {
    if (!available) return;
    const model = GPT.create(tiny(false), { seed: 9 });
    const plain = model.createCache(1);
    const feeds = [[1, 2, 3], [4], [5]];
    feeds.forEach((ids) => lastLogits(model, ids, plain));
    const want = lastLogits(model, [6], plain);
    enableNativeDecoding(model);
    const cache = model.createCache(1);
    feeds.forEach((ids) => lastLogits(model, ids, cache)); // the last two steps are native
    const batch = model.createBatchedCache();
    batch.add(cache);
    const got = model.decodeStep([6], batch);
    expect(maxAbsDiff(got.dataSync(), want)).toBeLessThan(1e-5);
    got.dispose();
    [plain, cache, batch].forEach((c) => c.dispose());
    model.dispose();
  });

  it('takes a new snapshot when a weight changes (an optimizer step between generations)', () => {
    if (!available) return;
    const model = GPT.create(tiny(false), { seed: 6 });
    enableNativeDecoding(model);
    const before = run(model, [1, 2], 4);
    const w = model.namedWeights().get('transformer.h.1.mlp.c_fc.weight')!;
    w.assign(tf.tidy(() => tf.mul(w, 1.5)));
    const after = run(model, [1, 2], 4);
    disableNativeDecoding(model);
    expect(nativeDecodingEnabled(model)).toBe(false);
    const plain = run(model, [1, 2], 4);
    expect(worst(after.logits, plain.logits)).toBeLessThan(1e-5);
    expect(worst(after.logits, before.logits)).toBeGreaterThan(1e-3);
    model.dispose();
  });

  it('with bfloat16 weights (opt-in) stays close to float32 and says so in its status', () => {
    if (!available) return;
    const model = GPT.create(tiny(false), { seed: 8 });
    const prompt = [3, 1, 4, 1, 5];
    const exact = run(model, prompt, 8);
    const status = enableNativeDecoding(model, { weights: 'bfloat16' });
    expect(status.detail).toMatch(/bfloat16 weights/);
    const bf16 = run(model, prompt, 8);
    // the prompt's logits come from tfjs (float32); the native steps read rounded weights
    expect(maxAbsDiff(bf16.logits[0]!, exact.logits[0]!)).toBe(0);
    const d = worst(bf16.logits.slice(1), exact.logits.slice(1));
    expect(d).toBeGreaterThan(0);
    expect(d).toBeLessThan(2e-2);
    expect(() => enableNativeDecoding(model, { weights: 'int4' as never })).toThrow(/weights must be 'float32', 'bfloat16' or 'int8'/);
    model.dispose();
  });

  it('refuses sparse models and token ids outside the vocabulary with a clear message', () => {
    if (!available) return;
    const sparse = GPT.create({ ...tiny(false), attention: [{ type: 'dense' }, { type: 'local', window: 8 }] } as never, { seed: 1 });
    expect(enableNativeDecoding(sparse)).toEqual({ active: false, detail: expect.stringMatching(/layer 1 has sparse attention/) });
    sparse.dispose();
    const model = GPT.create(tiny(false), { seed: 1 });
    enableNativeDecoding(model);
    const cache = model.createCache(1);
    const bad = ids2d([[300]]);
    expect(() => model.forward(bad, { cache })).toThrow(/token id 300 at \[0, 0\] is outside the vocabulary \[0, 300\)/);
    bad.dispose();
    cache.dispose();
    model.dispose();
  });
});

describe.each(['tiny', 'tiny-postln'])('PyTorch fixture %s with native decoding', (name) => {
  const ref = reference()[name]!;
  it('reproduces the reference next-token log-probs, every position a native step (1e-4)', async () => {
    if (!available) return;
    const model = await loadGPT(path.join(FIXTURES, name));
    expect(enableNativeDecoding(model).active).toBe(true);
    let worstDiff = 0;
    for (const s of ref.sequences) {
      const cache = model.createCache(1);
      for (let t = 0; t + 1 < s.ids.length; t++) {
        const logits = model.forward([[s.ids[t]!]], { cache }).logits;
        const lp = logSoftmaxRows(logits.dataSync(), model.config.vocabSize);
        logits.dispose();
        worstDiff = Math.max(worstDiff, Math.abs(lp[s.ids[t + 1]!]! - s.next_token_logprobs[t]!));
      }
      cache.dispose();
    }
    expect(worstDiff).toBeLessThan(1e-4);
    model.dispose();
  });
});

it('reproduces the PyTorch greedy continuation and beam search of the tiny fixture (reorder to 2+ rows)', async () => {
  if (!available) return;
  const ref = reference().tiny!;
  const model = await loadGPT(path.join(FIXTURES, 'tiny'));
  enableNativeDecoding(model);
  const g = ref.greedy!;
  const got = run(model, g.prompt, g.ids.length);
  expect(got.ids).toEqual(g.ids);
  got.logits.forEach((l, i) => {
    const lp = logSoftmaxRows(l, l.length);
    expect(Math.abs(lp[g.ids[i]!]! - g.logprobs[i]!)).toBeLessThan(1e-4);
  });
  // beam search: the prompt on one row, then reorder to the beams (their steps run on tfjs)
  const b = ref.beam!;
  const cache = model.createCache(1);
  let seqs: number[][] = [[]];
  let scores = [0];
  let input = ids2d([b.prompt]);
  for (let step = 0; step < b.n; step++) {
    const logits = model.forward(input, { cache }).logits;
    input.dispose();
    const [B, T, V] = logits.shape;
    const all = logSoftmaxRows(logits.dataSync(), V);
    logits.dispose();
    const cand: number[] = [];
    for (let r = 0; r < B; r++) for (let j = 0; j < V; j++) cand.push(scores[r]! + all[(r * T + T - 1) * V + j]!);
    const order = cand
      .map((_, i) => i)
      .sort((x, y) => cand[y]! - cand[x]!)
      .slice(0, b.num_beams);
    seqs = order.map((i) => [...seqs[Math.floor(i / V)]!, i % V]);
    scores = order.map((i) => cand[i]!);
    cache.reorder(order.map((i) => Math.floor(i / V)));
    input = ids2d(order.map((i) => [i % V]));
  }
  input.dispose();
  cache.dispose();
  expect(seqs).toEqual(b.beams.map((x) => x.ids));
  model.dispose();
});
