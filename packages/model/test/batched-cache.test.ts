// Continuous batching: GPT.decodeStep over a BatchedKVCache whose rows have different lengths, join and leave
// between steps, gives every row the logits of a plain forward over that row alone; leak-free over 50 steps.
import type { GPT } from '../src';
import { BATCHED_MODEL_CASES, aloneLogits as lastLogits, prompt, useBatchedModels } from './batched-models';
import { ids2d, maxAbsDiff, randomIds, tf } from './helpers';

const get = useBatchedModels();

/** Prefills `prompt` alone and moves it into `batched`; returns the prompt's next-token logits. */
function join(m: GPT, batched: ReturnType<GPT['createBatchedCache']>, prompt: number[]): Float32Array {
  const one = m.createCache(1);
  const ids = ids2d([prompt]);
  const { logits } = m.forward(ids, { cache: one });
  const V = m.config.vocabSize;
  const out = (logits.dataSync() as Float32Array).slice((prompt.length - 1) * V);
  batched.add(one);
  tf.dispose([ids, logits]);
  one.dispose();
  return out;
}

interface Schedule {
  /** step → prompts joining before that step's decode */
  joins: Record<number, number[][]>;
  /** step → indices (into the live rows, before that step's joins) that leave */
  leaves: Record<number, number[]>;
  steps: number;
}

/** Runs a schedule; returns the worst logit difference against one-row forwards and the rows' final sequences. */
function runSchedule(m: GPT, s: Schedule, check = true): { worst: number; seqs: number[][] } {
  const V = m.config.vocabSize;
  const cache = m.createBatchedCache();
  let live: number[][] = [];
  let worst = 0;
  try {
    for (let step = 0; step < s.steps; step++) {
      const leaving = new Set(s.leaves[step] ?? []);
      if (leaving.size > 0) {
        const keep = live.map((_, i) => i).filter((i) => !leaving.has(i));
        cache.reorder(keep);
        live = keep.map((i) => live[i]!);
      }
      for (const prompt of s.joins[step] ?? []) {
        const got = join(m, cache, prompt);
        if (check) worst = Math.max(worst, maxAbsDiff(got, lastLogits(m, prompt)));
        live.push(prompt.slice());
      }
      if (live.length === 0) continue;
      const tokens = live.map((seq, r) => randomIds(1, V, 1000 * step + r + seq.length)[0]!);
      const logits = m.decodeStep(tokens, cache);
      const data = logits.dataSync() as Float32Array;
      logits.dispose();
      live.forEach((seq, r) => {
        seq.push(tokens[r]!);
        if (check) worst = Math.max(worst, maxAbsDiff(data.subarray(r * V, (r + 1) * V), lastLogits(m, seq)));
      });
      expect(cache.lengths).toEqual(live.map((seq) => seq.length));
      expect(cache.width).toBe(Math.max(...live.map((seq) => seq.length)));
    }
  } finally {
    cache.dispose();
  }
  return { worst, seqs: live };
}

describe.each(BATCHED_MODEL_CASES)('%s', (_name, name) => {
  test('rows of different lengths joining at different steps get their own logits', () => {
    const { worst } = runSchedule(get(name), {
      joins: { 0: [prompt(3, 1), prompt(9, 2)], 2: [prompt(1, 3)], 4: [prompt(14, 4), prompt(5, 5)] },
      leaves: {},
      steps: 8,
    });
    expect(worst).toBeLessThan(1e-4);
  });

  test('rows leaving (the longest among them) leave the others unchanged and cut unused slots', () => {
    const { worst, seqs } = runSchedule(get(name), {
      joins: { 0: [prompt(12, 6), prompt(2, 7), prompt(6, 8)], 3: [prompt(4, 9)] },
      leaves: { 2: [0], 5: [0, 2] },
      steps: 8,
    });
    expect(worst).toBeLessThan(1e-4);
    expect(seqs.map((s) => s.length)).toEqual([6 + 8]);
  });
});

test('a batch that empties and refills starts over', () => {
  const { worst } = runSchedule(get('tiny'), { joins: { 0: [prompt(4, 10)], 3: [prompt(7, 11)] }, leaves: { 2: [0] }, steps: 5 });
  expect(worst).toBeLessThan(1e-4);
});

test('no tensor leaks across 50 steps of joins and leaves', () => {
  const s: Schedule = { joins: {}, leaves: {}, steps: 50 };
  for (let step = 0; step < 50; step += 5) s.joins[step] = [prompt(1 + (step % 7), step)];
  for (let step = 7; step < 50; step += 9) s.leaves[step] = [0];
  runSchedule(get('tiny'), s, false); // warm-up: kernels and cached masks allocate once
  const before = tf.memory().numTensors;
  runSchedule(get('tiny'), s, false);
  expect(tf.memory().numTensors).toBe(before);
});

describe('errors', () => {
  test('decodeStep checks its tokens, its cache and the context length', () => {
    const [model, post] = [get('tiny'), get('tiny-postln')];
    const cache = model.createBatchedCache();
    expect(() => model.decodeStep([], cache)).toThrow('decodeStep: got 0 tokens for a batched cache of 0 rows');
    join(model, cache, prompt(3, 1));
    expect(() => model.decodeStep([1, 2], cache)).toThrow('got 2 tokens for a batched cache of 1 rows');
    expect(() => model.decodeStep([9999], cache)).toThrow('token id 9999 at [0, 0] is outside the vocabulary [0, 512)');
    expect(() => post.decodeStep([1], cache)).toThrow('created by another model');
    expect(() => cache.reorder([1])).toThrow('BatchedKVCache.reorder: row 1 is outside [0, 1)');
    cache.dispose();
    expect(() => model.decodeStep([1], cache)).toThrow('decodeStep: the batched cache was disposed');
  });

  test('a row at nPositions cannot take another token; add takes one-row caches of this model', () => {
    const [model, post] = [get('tiny'), get('tiny-postln')];
    const cache = model.createBatchedCache();
    join(model, cache, prompt(model.config.nPositions, 2));
    expect(() => model.decodeStep([1], cache)).toThrow('decodeStep: row 0 already holds nPositions = 64 positions');
    const two = model.createCache(2);
    expect(() => cache.add(two)).toThrow('expected a one-row cache holding a prompt, got 2 rows of 0 positions');
    two.dispose();
    const other = post.createCache(1);
    expect(() => cache.add(other)).toThrow('BatchedKVCache.add: the KV cache was created by another model');
    other.dispose();
    cache.dispose();
  });
});
