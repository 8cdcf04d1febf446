// Beam search on native decoding: a one-row NativeKVCache that reorder fans out to several rows (or a cache created
// with several rows) moves into native rows (NativeDecodeRows); its one-token steps are ONE native call for all rows
// (no tfjs kernel), its reorders gather nothing, each row's logits equal that row's sequence decoded alone natively
// to the bit and the tfjs gather path's up to float rounding, and tfjs steps, truncate and clone still continue it.
import { GPT, getPreset, enableNativeDecoding, disableNativeDecoding, NativeBatchedKVCache, NativeKVCache, type KVCache } from '../src';
import { ids2d, maxAbsDiff, setup, tf, tinyDecodeConfig } from './helpers';

/** Whether several-row steps run natively here (the addon built with the R-row step: native batched caches). */
let available = false;
beforeAll(async () => {
  await setup();
  const probe = GPT.create(getPreset('nano', { nLayer: 1 }), { seed: 0 });
  const batch = enableNativeDecoding(probe).active ? probe.createBatchedCache() : null;
  available = batch instanceof NativeBatchedKVCache;
  batch?.dispose();
  probe.dispose();
  // eslint-disable-next-line no-console
  if (!available) console.warn('SKIPPED native beam checks: no native R-row decode step here');
});

const tiny = tinyDecodeConfig;

/** Last-position logits of every row of one forward of `ids` with `cache`, one array per row. */
function step(model: GPT, ids: number[][], cache: KVCache): Float32Array[] {
  const x = ids2d(ids);
  const logits = model.forward(x, { cache }).logits;
  x.dispose();
  const [B, T, V] = logits.shape;
  const data = logits.dataSync() as Float32Array;
  logits.dispose();
  return Array.from({ length: B }, (_, r) => data.slice(((r + 1) * T - 1) * V, (r + 1) * T * V));
}

/** The tokens of a beam-like schedule: after the prompt, each step reorders the rows, then feeds one token each. */
const PROMPT = [5, 17, 250, 3, 99];
const SCHEDULE: { parents: number[]; tokens: number[] }[] = [
  { parents: [0, 0, 0, 0], tokens: [7, 8, 9, 10] }, // the fan-out: one row copied to four
  { parents: [0, 1, 2, 3], tokens: [11, 12, 13, 14] },
  { parents: [2, 2, 0, 3], tokens: [15, 16, 17, 18] }, // row 2 forks, row 1 dropped
  { parents: [3, 1, 1, 1], tokens: [19, 20, 21, 22] }, // row 0 dropped, row 1 three times
  { parents: [1, 0], tokens: [23, 24] }, // fewer rows
];

/** Runs PROMPT then SCHEDULE on `cache`; every step's rows of logits, and each row's whole sequence per step. */
function beams(model: GPT, cache: KVCache): { logits: Float32Array[][]; seqs: number[][][] } {
  const logits = [step(model, [PROMPT], cache)];
  let seqs = [PROMPT.slice()];
  const allSeqs = [seqs];
  for (const s of SCHEDULE) {
    cache.reorder(s.parents);
    seqs = s.parents.map((p, i) => [...seqs[p]!, s.tokens[i]!]);
    logits.push(
      step(
        model,
        s.tokens.map((t) => [t]),
        cache,
      ),
    );
    allSeqs.push(seqs);
  }
  return { logits, seqs: allSeqs };
}

/** The logits of the last token of `seq`, decoded alone: the prompt, then one native one-row step per token. */
function alone(model: GPT, seq: number[]): Float32Array {
  const cache = model.createCache(1);
  let last = step(model, [PROMPT], cache)[0]!;
  for (const t of seq.slice(PROMPT.length)) last = step(model, [[t]], cache)[0]!;
  cache.dispose();
  return last;
}

/** A model decoding natively (with `weights`) and a cache holding PROMPT, fanned out to `rows` rows. */
function fannedOut(seed: number, rows: number, weights: 'float32' | 'bfloat16' = 'float32'): { model: GPT; cache: KVCache } {
  const model = GPT.create(tiny(false), { seed });
  enableNativeDecoding(model, { weights });
  const cache = model.createCache(1);
  step(model, [PROMPT], cache);
  cache.reorder(new Array<number>(rows).fill(0));
  return { model, cache };
}

const worst = (a: Float32Array[][], b: Float32Array[][]) =>
  Math.max(...a.flatMap((rows, i) => rows.map((r, j) => maxAbsDiff(r, b[i]![j]!))));

describe('beam search on native rows', () => {
  for (const postLN of [false, true]) {
    it(`each row = its sequence decoded alone (bit for bit), = the tfjs gather path up to rounding (${postLN ? 'post-LN' : 'pre-LN'})`, () => {
      if (!available) return;
      const model = GPT.create(tiny(postLN), { seed: 11 });
      const plainCache = model.createCache(1);
      const plain = beams(model, plainCache);
      plainCache.dispose();
      enableNativeDecoding(model);
      const cache = model.createCache(1);
      beams(model, cache).logits.forEach((x) => x.length); // warm: the snapshot, scratch buffers
      cache.dispose();
      const before = tf.memory().numTensors;
      const fastCache = model.createCache(1);
      const fast = beams(model, fastCache);
      expect(fastCache).toBeInstanceOf(NativeKVCache);
      expect((fastCache as NativeKVCache).inRows).toBe(true);
      expect(fastCache.batchSize).toBe(2);
      expect(fastCache.length).toBe(PROMPT.length + SCHEDULE.length);
      fastCache.dispose();
      expect(tf.memory().numTensors).toBe(before);
      expect(worst(fast.logits, plain.logits)).toBeLessThan(1e-5);
      // bit for bit against each row's sequence alone, at the fan-out, a fork and the last step
      for (const s of [1, 3, SCHEDULE.length]) {
        fast.seqs[s]!.forEach((seq, r) => expect(maxAbsDiff(fast.logits[s]![r]!, alone(model, seq))).toBe(0));
      }
      model.dispose();
    });
  }

  it('runs a several-row step and a reorder without a tfjs kernel', async () => {
    if (!available) return;
    const { model, cache } = fannedOut(12, 3);
    const x = ids2d([[1], [2], [3]]);
    const profile = await tf.profile(() => {
      cache.reorder([2, 0, 0]);
      return model.forward(x, { cache }).logits;
    });
    const logits = profile.result as tf.Tensor;
    expect([profile.kernelNames, logits.shape]).toEqual([[], [3, 1, 300]]);
    tf.dispose([x, logits]);
    cache.dispose();
    model.dispose();
  });

  it('continues through tfjs steps, truncate and clone from the rows form, and a batch prompt created on tfjs', () => {
    if (!available) return;
    const model = GPT.create(tiny(false), { seed: 13 });
    // the same feeds on plain tfjs and on native decoding
    const feeds = (cache: KVCache) => {
      const out = [
        step(
          model,
          [
            [1, 2, 3],
            [4, 5, 6],
          ],
          cache,
        ),
      ];
      out.push(step(model, [[7], [8]], cache)); // rows: a native 2-row step (tfjs holds the prompt)
      cache.reorder([1, 1, 0]);
      out.push(step(model, [[9], [10], [11]], cache));
      out.push(
        step(
          model,
          [
            [12, 13],
            [14, 15],
            [16, 17],
          ],
          cache,
        ),
      ); // tfjs: the rows move back
      out.push(step(model, [[18], [19], [20]], cache)); // native rows again
      cache.truncate(7);
      out.push(step(model, [[21], [22], [23]], cache));
      const copy = cache.clone();
      out.push(step(model, [[24], [25], [26]], copy));
      copy.dispose();
      cache.reorder([2]);
      out.push(step(model, [[27]], cache));
      expect(cache.length).toBe(9);
      cache.dispose();
      return out;
    };
    const want = feeds(model.createCache(2));
    enableNativeDecoding(model);
    expect(worst(feeds(model.createCache(2)), want)).toBeLessThan(1e-5);
    disableNativeDecoding(model);
    model.dispose();
  });

  it('keeps bfloat16 snapshots on tfjs for several rows (the rows step is float32 only)', () => {
    if (!available) return;
    const { model, cache } = fannedOut(14, 2, 'bfloat16');
    expect((cache as NativeKVCache).inRows).toBe(false);
    const rows = step(model, [[1], [2]], cache);
    expect(rows).toHaveLength(2);
    cache.dispose();
    model.dispose();
  });

  it('names the row of a token outside the vocabulary', () => {
    if (!available) return;
    const { model, cache } = fannedOut(15, 2);
    expect(() => step(model, [[1], [300]], cache)).toThrow(/token id 300 at \[1, 0\] is outside the vocabulary \[0, 300\)/);
    cache.dispose();
    model.dispose();
  });
});
