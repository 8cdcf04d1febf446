import {
  tf,
  parsePattern,
  elementMask,
  compileLayout,
  blockSparseAttention,
  denseAttention,
  clearPlanCache,
  planCacheSize,
  planGroups,
  describePlan,
  initBackend,
  maxAbsDiff,
  rand4,
  type AttentionPattern,
} from './imports';

beforeAll(() => initBackend());

const PATTERNS = [
  'dense',
  'local:1',
  'local:12',
  'strided:8',
  'strided:16',
  'strided:20',
  'fixed:16:4',
  'fixed:12:5',
  'bigbird:10:5:1:3',
  'bigbird:24:16:2:11',
];
// [B, H, T, D, blockSize]: multiples of the block, ragged tails, T smaller than a block, T = 1.
const SHAPES: [number, number, number, number, number][] = [
  [1, 1, 1, 8, 16],
  [2, 3, 37, 8, 16],
  [1, 2, 64, 16, 32],
  [1, 2, 100, 8, 32],
  [2, 1, 130, 8, 64],
  [1, 2, 20, 4, 64],
];

/** Max abs differences of output and of gradients w.r.t. q, k, v against denseAttention with the same mask. */
function compare(
  p: AttentionPattern,
  [B, H, T, D, bs]: [number, number, number, number, number],
  seed: number,
  strided?: 'blocks' | 'factorized',
) {
  const q = rand4([B, H, T, D], seed);
  const k = rand4([B, H, T, D], seed + 1);
  const v = rand4([B, H, T, D], seed + 2);
  const w = rand4([B, H, T, D], seed + 3); // upstream gradient: loss = Σ w ⊙ out
  const mask = elementMask(p, T, T, 0, bs);
  const sparse = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) =>
    blockSparseAttention(a as tf.Tensor4D, b as tf.Tensor4D, c as tf.Tensor4D, p, { blockSize: bs, strided });
  const dense = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => denseAttention(a as tf.Tensor4D, b as tf.Tensor4D, c as tf.Tensor4D, mask);
  const res = tf.tidy(() => {
    const fwd = maxAbsDiff(sparse(q, k, v).dataSync(), dense(q, k, v).dataSync());
    const gs = tf.grads((a, b, c) => tf.sum(tf.mul(sparse(a!, b!, c!), w)))([q, k, v]);
    const gd = tf.grads((a, b, c) => tf.sum(tf.mul(dense(a!, b!, c!), w)))([q, k, v]);
    const grads = gs.map((g, i) => maxAbsDiff(g.dataSync(), gd[i]!.dataSync()));
    const outScale = tf.max(tf.abs(gd[2]!)).dataSync()[0]!;
    return { fwd, grads, outScale };
  });
  tf.dispose([q, k, v, w]);
  return res;
}

describe.each(PATTERNS)('%s equals dense attention with the same mask', (spec) => {
  const p = parsePattern(spec);
  it.each(SHAPES)('B=%i H=%i T=%i D=%i block=%i: forward ≤ 1e-5, grads ≤ 1e-4', (B, H, T, D, bs) => {
    const { fwd, grads, outScale } = compare(p, [B, H, T, D, bs], T * 7 + D);
    expect(fwd).toBeLessThanOrEqual(1e-5);
    for (const g of grads) expect(g).toBeLessThanOrEqual(1e-4);
    expect(outScale).toBeGreaterThan(0.01); // the comparison is not vacuous
  });
});

describe.each(['blocks', 'factorized'] as const)('strided computed as %s', (mode) => {
  // [B, H, T, D, blockSize, stride]: stride a multiple of the block (needed by 'factorized'), ragged tails.
  it.each([
    [1, 2, 100, 8, 16, 16],
    [2, 1, 130, 8, 16, 32],
    [1, 1, 200, 16, 32, 64],
    [1, 2, 33, 4, 16, 16],
    [1, 1, 7, 8, 16, 16],
  ])('B=%i H=%i T=%i D=%i block=%i stride=%i equals dense attention', (B, H, T, D, bs, l) => {
    const { fwd, grads } = compare({ type: 'strided', stride: l }, [B, H, T, D, bs], T + l, mode);
    expect(fwd).toBeLessThanOrEqual(1e-5);
    for (const g of grads) expect(g).toBeLessThanOrEqual(1e-4);
  });
});

it('factorized strided needs the stride to be a multiple of the block size', () => {
  const q = rand4([1, 1, 40, 8], 1);
  expect(() => blockSparseAttention(q, q, q, parsePattern('strided:12'), { blockSize: 16, strided: 'factorized' })).toThrow(
    /stride \(12\) to be a multiple of the block size \(16\)/,
  );
  expect(() => blockSparseAttention(q, q, q, parsePattern('strided:16'), { strided: 'sideways' as 'auto' })).toThrow(
    /strided must be 'auto', 'blocks' or 'factorized'/,
  );
  q.dispose();
});

it('differs from dense attention with a different mask (the comparison can fail)', () => {
  const p = parsePattern('local:4');
  const q = rand4([1, 1, 40, 8], 1);
  const out = blockSparseAttention(q, q, q, p, { blockSize: 16 });
  const causal = denseAttention(q, q, q);
  expect(maxAbsDiff(out.dataSync(), causal.dataSync())).toBeGreaterThan(0.05);
  tf.dispose([q, out, causal]);
});

it('accepts a compiled layout, a custom scale, and returns probabilities equal to the dense ones', () => {
  const p = parsePattern('bigbird:6:3:1:2');
  const T = 45;
  const layout = compileLayout(p, T, 16);
  const [q, k, v] = [rand4([2, 2, T, 8], 5), rand4([2, 2, T, 8], 6), rand4([2, 2, T, 8], 7)];
  const a = blockSparseAttention(q, k, v, layout, { scale: 0.3, returnProbs: true });
  const b = denseAttention(q, k, v, elementMask(p, T, T, 0, 16), { scale: 0.3, returnProbs: true });
  expect(maxAbsDiff(a.output.dataSync(), b.output.dataSync())).toBeLessThanOrEqual(1e-5);
  expect(a.probs.shape).toEqual([2, 2, T, T]);
  expect(maxAbsDiff(a.probs.dataSync(), b.probs.dataSync())).toBeLessThanOrEqual(1e-6);
  // rows sum to one
  const sums = tf.sum(a.probs, -1).dataSync();
  expect(maxAbsDiff(sums, new Float32Array(sums.length).fill(1))).toBeLessThan(1e-5);
  tf.dispose([q, k, v, a.output, a.probs, b.output, b.probs, sums as unknown as tf.Tensor].filter((x) => x instanceof tf.Tensor));
});

it.each(['fixed:16:4', 'strided:16'])('%s: numTensors stays flat over repeated forward + backward passes', (spec) => {
  const p = parsePattern(spec); // strided:16 at block 16, T = 70 takes the factorized path
  const [q, k, v] = [rand4([1, 2, 70, 8], 1), rand4([1, 2, 70, 8], 2), rand4([1, 2, 70, 8], 3)];
  const step = () =>
    tf.tidy(() => {
      const gs = tf.grads((a, b, c) =>
        tf.sum(tf.square(blockSparseAttention(a as tf.Tensor4D, b as tf.Tensor4D, c as tf.Tensor4D, p, { blockSize: 16 }))),
      )([q, k, v]);
      gs.forEach((g) => g.dataSync());
    });
  step(); // builds the cached plan
  const counts: number[] = [];
  for (let i = 0; i < 5; i++) {
    step();
    const o = blockSparseAttention(q, k, v, p, { blockSize: 16 });
    o.dispose();
    counts.push(tf.memory().numTensors);
  }
  expect(new Set(counts).size).toBe(1);
  // the plan cache holds a few tensors per layout and frees them on demand
  const before = tf.memory().numTensors;
  expect(planCacheSize()).toBeGreaterThan(0);
  clearPlanCache();
  expect(planCacheSize()).toBe(0);
  expect(tf.memory().numTensors).toBeLessThan(before);
  tf.dispose([q, k, v]);
});

it('never builds an n×n tensor for a sparse pattern, and its memory grows linearly', async () => {
  const p = parsePattern('local:32');
  const peak = async (T: number) => {
    const [q, k, v] = [rand4([1, 1, T, 8], 1), rand4([1, 1, T, 8], 2), rand4([1, 1, T, 8], 3)];
    const info = await tf.profile(() => {
      const gs = tf.grads((a, b, c) => tf.sum(blockSparseAttention(a as tf.Tensor4D, b as tf.Tensor4D, c as tf.Tensor4D, p)))([q, k, v]);
      return gs;
    });
    const largest = Math.max(...info.kernels.flatMap((kk) => kk.outputShapes.map((s) => s.reduce((x, y) => x * y, 1))));
    tf.dispose([q, k, v, ...(info.result as tf.Tensor[])]);
    return { largest, extra: info.peakBytes - info.newBytes };
  };
  const a = await peak(512);
  const b = await peak(1024);
  expect(b.largest).toBeLessThan((1024 * 1024) / 4);
  expect(b.largest / a.largest).toBeLessThan(2.2);
  // dense attention does build it (the check can fail)
  const q = rand4([1, 1, 256, 8], 9);
  const info = await tf.profile(() => denseAttention(q, q, q));
  expect(Math.max(...info.kernels.flatMap((kk) => kk.outputShapes.map((s) => s.reduce((x, y) => x * y, 1))))).toBeGreaterThanOrEqual(
    256 * 256,
  );
  tf.dispose([q, info.result as tf.Tensor]);
});

it('denseAttention matches a float64 JS reference, causal by default and with an offset for Tq < Tk', () => {
  const [B, H, Tq, Tk, D] = [1, 2, 3, 7, 4];
  const q = rand4([B, H, Tq, D], 11);
  const k = rand4([B, H, Tk, D], 12);
  const v = rand4([B, H, Tk, D], 13);
  const [qa, ka, va] = [q.dataSync(), k.dataSync(), v.dataSync()];
  const ref = new Float64Array(B * H * Tq * D);
  for (let bh = 0; bh < B * H; bh++) {
    for (let i = 0; i < Tq; i++) {
      const pos = Tk - Tq + i;
      const s: number[] = [];
      for (let j = 0; j <= pos; j++) {
        let dot = 0;
        for (let d = 0; d < D; d++) dot += qa[(bh * Tq + i) * D + d]! * ka[(bh * Tk + j) * D + d]!;
        s.push(dot / Math.sqrt(D));
      }
      const mx = Math.max(...s);
      const e = s.map((x) => Math.exp(x - mx));
      const z = e.reduce((x, y) => x + y, 0);
      for (let d = 0; d < D; d++) {
        let acc = 0;
        for (let j = 0; j <= pos; j++) acc += (e[j]! / z) * va[(bh * Tk + j) * D + d]!;
        ref[(bh * Tq + i) * D + d] = acc;
      }
    }
  }
  const out = denseAttention(q, k, v);
  expect(maxAbsDiff(out.dataSync(), ref)).toBeLessThan(1e-5);
  // the same through an explicit mask from elementMask with queryOffset
  const masked = denseAttention(q, k, v, elementMask({ type: 'dense' }, Tq, Tk, Tk - Tq));
  expect(maxAbsDiff(masked.dataSync(), ref)).toBeLessThan(1e-5);
  tf.dispose([q, k, v, out, masked]);
});

it('checks shapes and names the argument', () => {
  const q = rand4([1, 2, 10, 8], 1);
  const k = rand4([1, 2, 12, 8], 2);
  expect(() => blockSparseAttention(q, k, k, parsePattern('local:4'))).toThrow(/q has 10 positions but k has 12/);
  expect(() => blockSparseAttention(q, q, q, compileLayout(parsePattern('local:4'), 11))).toThrow(/compiled for seqLen 11/);
  expect(() => denseAttention(q, q, q, new Uint8Array(5))).toThrow(/mask has 5 entries, expected Tq·Tk = 10·10/);
  expect(() => blockSparseAttention(q, tf.zeros([1, 2, 10]) as unknown as tf.Tensor4D, q, parsePattern('dense'))).toThrow(
    /k must be a rank-4 tensor/,
  );
  const bad = compileLayout(parsePattern('local:4'), 10, 4);
  bad.rows[1] = Int32Array.of(0, 2);
  expect(() => blockSparseAttention(q, q, q, bad)).toThrow(/rows\[1\] holds key block 2/);
  tf.dispose([q, k]);
});

it('groups rows: local is one group; ragged layouts keep several groups and stay exact', () => {
  const local = describePlan(compileLayout(parsePattern('local:256'), 4096, 32));
  expect(local).toEqual([{ rows: Array.from({ length: 128 }, (_, i) => i), slots: 9 }]);
  const p = parsePattern('dense');
  const layout = compileLayout(p, 200, 16);
  const groups = describePlan(layout);
  expect(groups.length).toBeGreaterThanOrEqual(3);
  expect(groups.flatMap((g) => g.rows).sort((a, b) => a - b)).toEqual(Array.from({ length: 13 }, (_, i) => i));
  const padded = groups.reduce((s, g) => s + g.rows.length * g.slots, 0) - layout.keptBlocks;
  expect(padded).toBeLessThanOrEqual(Math.ceil(layout.keptBlocks * 0.4)); // bucketing ≤ 25% + merging ≤ 12.5%
  const { fwd, grads } = compare(p, [1, 2, 200, 8, 16], 3);
  expect(fwd).toBeLessThanOrEqual(1e-5);
  for (const g of grads) expect(g).toBeLessThanOrEqual(1e-4);
});

it('planGroups covers every row once, pads each row to its group, and balances padding against groups', () => {
  const counts = [1, 2, 3, 9, 9, 9, 9, 9, 9, 9, 9, 9, 40];
  const kept = counts.reduce((a, b) => a + b, 0);
  const groups = planGroups(counts, kept);
  expect(groups.flatMap((g) => g.rows).sort((a, b) => a - b)).toEqual(counts.map((_, i) => i));
  for (const g of groups) for (const r of g.rows) expect(g.m).toBeGreaterThanOrEqual(counts[r]!);
  // the cut is optimal: compare with every partition of the sorted distinct counts into runs
  const cost = (gs: { m: number; rows: number[] }[]) =>
    gs.length * (kept / 32) + gs.reduce((s, g) => s + g.rows.reduce((t, r) => t + g.m - counts[r]!, 0), 0);
  const distinct = [...new Set(counts)].sort((a, b) => a - b);
  let bestCost = Infinity;
  for (let mask = 0; mask < 1 << (distinct.length - 1); mask++) {
    const gs: { m: number; rows: number[] }[] = [];
    let cur: number[] = [];
    distinct.forEach((m, t) => {
      cur.push(...counts.flatMap((c, r) => (c === m ? [r] : [])));
      if (t === distinct.length - 1 || mask & (1 << t)) {
        gs.push({ m, rows: cur });
        cur = [];
      }
    });
    bestCost = Math.min(bestCost, cost(gs));
  }
  expect(cost(groups)).toBeCloseTo(bestCost, 9);
  expect(planGroups([0, 0, 1], 1)).toEqual([{ m: 1, rows: [0, 1, 2] }]);
});
