// Beam search's cache: GPT.beamStep over a BeamKVCache (one prompt shared by the beams, rows reordered by an
// ancestry table) gives every row the logits of a KVCache whose rows are gathered on every reorder, and of a
// plain forward over the row alone; reordering copies no tensor; leak-free over many steps.
import type { BeamKVCache, GPT, KVCache } from '../src';
import { aloneLogits, prompt, useBatchedModels } from './batched-models';
import { ids2d, maxAbsDiff, randomIds, tf } from './helpers';

const get = useBatchedModels();

/** Beam parents before each step: fan-out, swaps, forks, a row dropped, a row repeated. */
const PARENTS: number[][] = [
  [0, 0, 0, 0],
  [1, 0, 0, 3],
  [2, 2, 1, 0],
  [3, 1, 2, 0],
  [0, 2, 1],
  [1, 1, 0, 2],
  [3, 0, 2, 1],
  [2, 3, 3, 0],
];

/** Next-token logits [B, V] → host rows. Disposes the tensor. */
function rows(t: tf.Tensor2D): Float32Array[] {
  const [B, V] = t.shape;
  const data = t.dataSync() as Float32Array;
  t.dispose();
  return Array.from({ length: B }, (_, r) => data.slice(r * V, (r + 1) * V));
}

/** A beam cache holding `p` (prefilled through forward with a one-row KVCache, as the decoding session does). */
function beamCacheWithPrompt(m: GPT, p: number[]): { cache: BeamKVCache; logits: Float32Array } {
  const one = m.createCache(1);
  const ids = ids2d([p]);
  const { logits } = m.forward(ids, { cache: one });
  const out = (logits.dataSync() as Float32Array).slice((p.length - 1) * m.config.vocabSize);
  const cache = m.createBeamCache()!;
  cache.setPrompt(one);
  tf.dispose([ids, logits]);
  one.dispose(); // the beam cache shares the memory, it does not need the KVCache
  return { cache, logits: out };
}

describe.each([
  ['pre-LN GPT-2', 'tiny'],
  ['post-LN GPT-1', 'tiny-postln'],
])('GPT.beamStep (%s)', (_, name) => {
  test('every row equals the gathered KVCache and a forward over the row alone, through forks, swaps and drops', () => {
    const m = get(name);
    const V = m.config.vocabSize;
    const p = prompt(9, 41);
    const { cache, logits } = beamCacheWithPrompt(m, p);
    const gathered: KVCache = m.createCache(1);
    const first = m.forward(ids2d([p]), { cache: gathered }).logits;
    first.dispose();
    expect(maxAbsDiff(logits, aloneLogits(m, p))).toBeLessThan(1e-4);
    let seqs = [p.slice()];
    let worst = 0;
    try {
      PARENTS.forEach((parents, step) => {
        cache.reorder(parents);
        gathered.reorder(parents);
        seqs = parents.map((r) => seqs[r]!.slice());
        const tokens = seqs.map((_, r) => randomIds(1, V, 97 * step + r)[0]!);
        const got = rows(m.beamStep(tokens, cache));
        const ids = ids2d(tokens.map((t) => [t]));
        const full = m.forward(ids, { cache: gathered }).logits;
        const want = rows(tf.reshape(full, [tokens.length, V]) as tf.Tensor2D);
        tf.dispose([ids, full]);
        seqs.forEach((seq, r) => {
          seq.push(tokens[r]!);
          worst = Math.max(worst, maxAbsDiff(got[r]!, want[r]!), maxAbsDiff(got[r]!, aloneLogits(m, seq)));
        });
        expect(cache.batchSize).toBe(parents.length);
        expect(cache.length).toBe(p.length + step + 1);
      });
      // the prompt is held once: 9 + the rows of every step, not rows × (9 + steps)
      expect(cache.width).toBe(p.length + PARENTS.reduce((n, ps) => n + ps.length, 0));
      expect(worst).toBeLessThan(1e-4);
    } finally {
      cache.dispose();
      gathered.dispose();
    }
  });
});

test('reorder copies nothing, and 40 steps with reorders keep the tensor count flat', () => {
  const m = get('tiny');
  beamCacheWithPrompt(m, prompt(6, 3)).cache.dispose(); // warm-up: the causal mask of a 6-token prompt is cached once
  const before = tf.memory().numTensors;
  const { cache } = beamCacheWithPrompt(m, prompt(6, 3));
  cache.reorder([0, 0, 0, 0]);
  let counts: number[] = [];
  for (let step = 0; step < 40; step++) {
    const held = [0, 1].map((l) => cache.layer(l));
    const tensors = tf.memory().numTensors;
    cache.reorder(PARENTS[1 + (step % (PARENTS.length - 1))]!.map((r) => Math.min(r, cache.batchSize - 1)));
    expect(tf.memory().numTensors).toBe(tensors);
    [0, 1].forEach((l) => cache.layer(l).forEach((t, i) => expect(t).toBe(held[l]![i]))); // the same tensor objects
    const tokens = Array.from({ length: cache.batchSize }, (_, r) => (step * 13 + r) % 500);
    m.beamStep(tokens, cache).dispose();
    counts.push(tf.memory().numTensors);
  }
  counts = [...new Set(counts)];
  expect(counts).toHaveLength(1);
  cache.dispose();
  expect(tf.memory().numTensors).toBe(before);
});

describe('errors', () => {
  test('a sparse model has no beam cache; misuse names the problem', () => {
    expect(get('sparse').createBeamCache()).toBeNull();
    const m = get('tiny');
    const other = get('tiny-postln');
    const empty = m.createBeamCache()!;
    expect(() => m.beamStep([1], empty)).toThrow('beamStep: got 1 tokens for a beam cache of 0 rows');
    const two = m.createCache(2);
    const f = m.forward(
      ids2d([
        [1, 2],
        [3, 4],
      ]),
      { cache: two },
    ).logits;
    expect(() => empty.setPrompt(two)).toThrow('expected a one-row cache holding a prompt, got 2 rows of 2 positions');
    const foreign = other.createBeamCache()!;
    expect(() => foreign.setPrompt(two)).toThrow('created by another model');
    foreign.dispose();
    const { cache } = beamCacheWithPrompt(m, prompt(4, 1));
    expect(() => other.beamStep([1], cache)).toThrow('beamStep: the beam cache was created by another model');
    expect(() => m.beamStep([1, 2], cache)).toThrow('beamStep: got 2 tokens for a beam cache of 1 rows');
    expect(() => cache.reorder([0, 1])).toThrow('BeamKVCache.reorder: row 1 is outside [0, 1)');
    expect(() => m.beamStep([512], cache)).toThrow('token id 512');
    cache.dispose();
    expect(() => m.beamStep([1], cache)).toThrow('beamStep: the beam cache was disposed');
    tf.dispose([f]);
    two.dispose();
    empty.dispose();
  });

  test('a full context is refused', () => {
    const m = get('tiny');
    const N = m.config.nPositions;
    const { cache } = beamCacheWithPrompt(m, prompt(N - 1, 2));
    m.beamStep([5], cache).dispose();
    expect(cache.length).toBe(N);
    expect(() => m.beamStep([5], cache)).toThrow(`beamStep: the rows already hold nPositions = ${N} positions`);
    cache.dispose();
  });
});
