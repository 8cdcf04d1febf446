// Batched prefill: GPT.prefillBatched runs prompts of different lengths through ONE forward (left-padded, per-row
// positions and masks) and appends them to a BatchedKVCache; every prompt gets the logits of a forward over it
// alone, later decodeSteps continue each row as alone, and rows already in the cache are left untouched.
import type { GPT, BatchedKVCache } from '../src';
import { BATCHED_MODEL_CASES, aloneLogits, prompt, useBatchedModels } from './batched-models';
import { maxAbsDiff, randomIds, tf } from './helpers';

const get = useBatchedModels();

/** Rows of a [B, V] tensor (disposed). */
function rowsOf(t: tf.Tensor2D): Float32Array[] {
  const [B, V] = t.shape;
  const data = t.dataSync() as Float32Array;
  t.dispose();
  return Array.from({ length: B }, (_, r) => data.slice(r * V, (r + 1) * V));
}

/** Prefills `prompts` into `cache` and returns the worst logit difference against each prompt alone. */
function prefillWorst(m: GPT, cache: BatchedKVCache, prompts: number[][]): number {
  const got = rowsOf(m.prefillBatched(prompts, cache));
  return Math.max(...prompts.map((p, r) => maxAbsDiff(got[r]!, aloneLogits(m, p))));
}

/** `steps` decodeSteps over the live sequences (extended in place); the worst difference against forward alone. */
function stepWorst(m: GPT, cache: BatchedKVCache, live: number[][], steps: number, seed: number): number {
  let worst = 0;
  for (let s = 0; s < steps; s++) {
    const tokens = live.map((seq, r) => randomIds(1, m.config.vocabSize, seed + 100 * s + r)[0]!);
    const got = rowsOf(m.decodeStep(tokens, cache));
    live.forEach((seq, r) => {
      seq.push(tokens[r]!);
      worst = Math.max(worst, maxAbsDiff(got[r]!, aloneLogits(m, seq)));
    });
    expect(cache.lengths).toEqual(live.map((seq) => seq.length));
  }
  return worst;
}

describe.each(BATCHED_MODEL_CASES)('%s', (_name, name) => {
  test('prompts of different lengths prefilled together, then decoded, match each one alone', () => {
    const m = get(name);
    const live = [prompt(7, 1), prompt(1, 2), prompt(13, 3), prompt(4, 4)];
    const cache = m.createBatchedCache();
    try {
      expect(prefillWorst(m, cache, live)).toBeLessThan(1e-4);
      expect(cache.lengths).toEqual([7, 1, 13, 4]);
      expect(cache.width).toBe(13);
      expect(stepWorst(m, cache, live, 5, 10)).toBeLessThan(1e-4);
    } finally {
      cache.dispose();
    }
  });

  test('prompts joining a running batch leave its rows as they were', () => {
    const m = get(name);
    const live = [prompt(3, 5), prompt(9, 6)];
    const cache = m.createBatchedCache();
    try {
      prefillWorst(m, cache, live);
      stepWorst(m, cache, live, 3, 20);
      // joiners both shorter and longer than the running rows (the cache widens on the left)
      const joiners = [prompt(2, 7), prompt(20, 8)];
      expect(prefillWorst(m, cache, joiners)).toBeLessThan(1e-4);
      live.push(...joiners);
      expect(cache.width).toBe(20);
      expect(stepWorst(m, cache, live, 4, 30)).toBeLessThan(1e-4);
    } finally {
      cache.dispose();
    }
  });
});

test('append copies prefilled rows fanned out by reorder into a running cache', () => {
  const m = get('tiny');
  const cache = m.createBatchedCache();
  const fresh = m.createBatchedCache();
  try {
    const live = [prompt(5, 9)];
    prefillWorst(m, cache, live);
    stepWorst(m, cache, live, 2, 40);
    const joiners = [prompt(3, 10), prompt(8, 11)];
    prefillWorst(m, fresh, joiners);
    fresh.reorder([0, 1, 1]); // the second prompt takes two rows (numReturnSequences 2)
    cache.append(fresh);
    expect(fresh.lengths).toEqual([3, 8, 8]); // left as it was
    live.push(joiners[0]!.slice(), joiners[1]!.slice(), joiners[1]!.slice());
    expect(stepWorst(m, cache, live, 3, 50)).toBeLessThan(1e-4);
  } finally {
    cache.dispose();
    fresh.dispose();
  }
});

test('no tensor leaks across prefills, appends and steps', () => {
  const m = get('sparse');
  const run = () => {
    const cache = m.createBatchedCache();
    const other = m.createBatchedCache();
    for (let i = 0; i < 4; i++) {
      m.prefillBatched([prompt(1 + i, i), prompt(6, 10 + i)], cache).dispose();
      m.decodeStep(
        cache.lengths.map(() => 1),
        cache,
      ).dispose();
    }
    m.prefillBatched([prompt(3, 99)], other).dispose();
    cache.append(other);
    cache.reorder([0, 2, 8]);
    m.decodeStep([1, 2, 3], cache).dispose();
    other.dispose();
    cache.dispose();
  };
  run(); // warm-up: kernels and cached masks allocate once
  const before = tf.memory().numTensors;
  run();
  expect(tf.memory().numTensors).toBe(before);
});

describe('errors', () => {
  test('prefillBatched checks its prompts and its cache', () => {
    const [model, post] = [get('tiny'), get('tiny-postln')];
    const cache = model.createBatchedCache();
    const N = model.config.nPositions;
    expect(() => model.prefillBatched([], cache)).toThrow('prefillBatched: prompts must be a non-empty array of token id rows');
    expect(() => model.prefillBatched([[1], []], cache)).toThrow(
      `prefillBatched: prompt 1 has 0 tokens; each needs 1 to nPositions = ${N}`,
    );
    expect(() => model.prefillBatched([prompt(N + 1, 1)], cache)).toThrow(`prompt 0 has ${N + 1} tokens`);
    expect(() =>
      model.prefillBatched(
        [
          [1, 2, 3],
          [9999, 4],
        ],
        cache,
      ),
    ).toThrow('prefillBatched: token id 9999 at [1, 0] is outside the vocabulary [0, 512)');
    expect(() => post.prefillBatched([[1]], cache)).toThrow('prefillBatched: the batched cache was created by another model');
    expect(cache.batchSize).toBe(0); // nothing was added by the failed calls
    const other = post.createBatchedCache();
    expect(() => cache.append(other)).toThrow('BatchedKVCache.append: the cache was created by another model');
    expect(() => cache.append(cache)).toThrow('a cache cannot append itself');
    other.dispose();
    cache.dispose();
    expect(() => model.prefillBatched([[1]], cache)).toThrow('prefillBatched: the batched cache was disposed');
  });
});
