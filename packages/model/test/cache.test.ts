// Incremental decoding with the KV cache equals the full forward; reorder and truncate; leak-free loops.
import * as path from 'node:path';
import { GPT, getPreset, loadGPT } from '../src';
import { FIXTURES, ids2d, maxAbsDiff, randomIds, setup, tf } from './helpers';

let model: GPT;
let post: GPT;
let sparse: GPT;

beforeAll(async () => {
  await setup();
  model = await loadGPT(path.join(FIXTURES, 'tiny'));
  post = await loadGPT(path.join(FIXTURES, 'tiny-postln'));
  // GPT-3 style: dense and local layers alternating, the local window shorter than the sequences below.
  sparse = GPT.create(
    getPreset('tiny', { nLayer: 3, attention: [{ type: 'dense' }, { type: 'local', window: 6 }, { type: 'strided', stride: 5 }] }),
    { seed: 3 },
  );
});
afterAll(() => [model, post, sparse].forEach((m) => m.dispose()));

function fullLogits(m: GPT, rows: number[][]): Float32Array {
  const ids = ids2d(rows);
  const { logits } = m.forward(ids);
  const out = logits.dataSync() as Float32Array;
  tf.dispose([ids, logits]);
  return out;
}

/** Logits of `rows` fed through the cache in chunks of the given sizes, concatenated along time. */
function chunkedLogits(m: GPT, rows: number[][], chunks: number[]): Float32Array {
  const B = rows.length;
  const T = rows[0]!.length;
  const V = m.config.vocabSize;
  const cache = m.createCache(B);
  const out = new Float32Array(B * T * V);
  let pos = 0;
  for (const c of chunks) {
    const ids = ids2d(rows.map((r) => r.slice(pos, pos + c)));
    const { logits } = m.forward(ids, { cache });
    expect(cache.length).toBe(pos + c);
    const d = logits.dataSync();
    for (let b = 0; b < B; b++) out.set(d.subarray(b * c * V, (b + 1) * c * V), (b * T + pos) * V);
    tf.dispose([ids, logits]);
    pos += c;
  }
  cache.dispose();
  return out;
}

const CHUNKS = [7, 1, 1, 5, 1, 10, 1, 1, 13]; // prefill, single tokens and chunks: 40 positions

describe.each([
  ['pre-LN (tiny fixture)', () => model],
  ['post-LN (GPT-1 blocks)', () => post],
  ['dense/local/strided layers', () => sparse],
])('%s', (_name, get) => {
  it('cached logits equal the full forward within 1e-5 (token by token and mixed chunks)', () => {
    const m = get();
    const T = Math.min(40, m.config.nPositions);
    const chunks = T === 40 ? CHUNKS : [7, 1, 1, 5, 1, 10, 1, 6];
    const rows = [randomIds(T, m.config.vocabSize, 5), randomIds(T, m.config.vocabSize, 6)];
    const full = fullLogits(m, rows);
    expect(maxAbsDiff(chunkedLogits(m, rows, chunks), full)).toBeLessThan(1e-5);
    expect(maxAbsDiff(chunkedLogits(m, rows, new Array(T).fill(1)), full)).toBeLessThan(1e-5);
  });

  it('a batched forward equals per-row forwards', () => {
    const m = get();
    const rows = [randomIds(17, m.config.vocabSize, 1), randomIds(17, m.config.vocabSize, 2), randomIds(17, m.config.vocabSize, 3)];
    const batched = fullLogits(m, rows);
    const single = rows.map((r) => Array.from(fullLogits(m, [r]))).flat();
    expect(maxAbsDiff(batched, single)).toBeLessThan(1e-5);
  });
});

it('sparse layers change the output (the pattern is really applied) but a window covering everything does not', () => {
  const cfg = getPreset('tiny');
  const dense = GPT.create(cfg, { seed: 9 });
  const wide = GPT.create(
    {
      ...cfg,
      attention: [
        { type: 'local', window: 64 },
        { type: 'local', window: 64 },
      ],
    },
    { seed: 9 },
  );
  const narrow = GPT.create({ ...cfg, attention: [{ type: 'local', window: 4 }, { type: 'dense' }] }, { seed: 9 });
  const rows = [randomIds(48, 512, 4)];
  const d = fullLogits(dense, rows);
  expect(maxAbsDiff(fullLogits(wide, rows), d)).toBeLessThan(1e-5);
  const n = fullLogits(narrow, rows);
  // Positions inside the window are unaffected; later ones differ.
  const V = 512;
  expect(maxAbsDiff(n.subarray(0, 4 * V), d.subarray(0, 4 * V))).toBeLessThan(1e-5);
  expect(maxAbsDiff(n.subarray(10 * V), d.subarray(10 * V))).toBeGreaterThan(1e-3);
  [dense, wide, narrow].forEach((m) => m.dispose());
});

it('reorder selects and repeats rows (beam search), then decoding continues per row', () => {
  const V = 512;
  const rows = [randomIds(12, V, 21), randomIds(12, V, 22), randomIds(12, V, 23)];
  const cache = model.createCache(3);
  tf.dispose(model.forward(ids2d(rows), { cache }).logits);
  cache.reorder([2, 0, 0]);
  expect(cache.batchSize).toBe(3);
  const next = [[7], [8], [9]];
  const ids = ids2d(next);
  const { logits } = model.forward(ids, { cache });
  const got = logits.dataSync();
  const wantRows = [
    [...rows[2]!, 7],
    [...rows[0]!, 8],
    [...rows[0]!, 9],
  ];
  wantRows.forEach((r, b) => {
    const full = fullLogits(model, [r]);
    expect(maxAbsDiff(got.subarray(b * V, (b + 1) * V), full.subarray(12 * V))).toBeLessThan(1e-5);
  });
  tf.dispose([ids, logits]);
  // Growing the batch from one prompt to several beams.
  cache.reorder([1, 1, 1, 1, 1]);
  expect(cache.batchSize).toBe(5);
  expect(() => cache.reorder([5])).toThrow(/row 5 is outside \[0, 5\)/);
  cache.dispose();
});

it('truncate rewinds the cache to a prefix', () => {
  const V = 512;
  const a = randomIds(20, V, 31);
  const b = randomIds(8, V, 32);
  const cache = model.createCache(1);
  tf.dispose(model.forward(ids2d([a]), { cache }).logits);
  cache.truncate(12);
  expect(cache.length).toBe(12);
  const ids = ids2d([b]);
  const { logits } = model.forward(ids, { cache });
  const full = fullLogits(model, [[...a.slice(0, 12), ...b]]);
  expect(maxAbsDiff(logits.dataSync(), full.subarray(12 * V))).toBeLessThan(1e-5);
  tf.dispose([ids, logits]);
  cache.truncate(0);
  expect(cache.length).toBe(0);
  expect(() => cache.truncate(1)).toThrow(/\[0, 0\]/);
  cache.dispose();
  expect(() => cache.truncate(0)).toThrow(/disposed/);
});

it('generation loops with a cache are leak-free', () => {
  const loop = () => {
    const cache = model.createCache(2);
    let ids = ids2d([randomIds(5, 512, 1), randomIds(5, 512, 2)]);
    for (let i = 0; i < 6; i++) {
      const { logits } = model.forward(ids, { cache });
      ids.dispose();
      const next = tf.tidy(() => tf.cast(tf.argMax(tf.slice(logits, [0, logits.shape[1] - 1, 0], [2, 1, 512]), 2), 'int32')) as tf.Tensor2D;
      logits.dispose();
      ids = next;
      if (i === 3) cache.reorder([1, 0]);
    }
    ids.dispose();
    cache.dispose();
  };
  loop();
  const before = tf.memory().numTensors;
  loop();
  loop();
  expect(tf.memory().numTensors).toBe(before);
});

it('clear errors: context overflow, batch mismatch, foreign or disposed cache, bad ids', () => {
  const cache = model.createCache(1);
  tf.dispose(model.forward(ids2d([randomIds(60, 512, 1)]), { cache }).logits);
  const five = ids2d([randomIds(5, 512, 2)]);
  expect(() => model.forward(five, { cache })).toThrow(/60 cached \+ 5 new positions exceed the context length nPositions = 64/);
  const two = ids2d([[1], [2]]);
  expect(() => model.forward(two, { cache })).toThrow(/2 rows but the KV cache holds 1/);
  expect(() => post.forward(two, { cache })).toThrow(/another model/);
  cache.dispose();
  expect(() => model.forward(two, { cache })).toThrow(/disposed/);
  // Ids given as rows are checked on the host; an id tensor is not read back, and the backend's gather refuses it.
  expect(() => model.forward([[1, 512]])).toThrow(/token id 512 at \[0, 1\] is outside the vocabulary \[0, 512\)/);
  expect(() =>
    model.forward([
      [1, 2],
      [3, -1],
    ]),
  ).toThrow(/token id -1 at \[1, 1\] is outside the vocabulary/);
  expect(() => model.forward([[1, 2], [3]])).toThrow(/ids row 1 has 1 tokens but row 0 has 2/);
  const bad = ids2d([[1, 512]]);
  expect(() => model.forward(bad)).toThrow();
  const f = tf.tensor2d([[1, 2]], [1, 2], 'float32');
  expect(() => model.forward(f as tf.Tensor2D)).toThrow(/int32/);
  tf.dispose([five, two, bad, f]);
});

it('ids as rows of numbers give the same logits as an int32 tensor, and leave no tensors behind', () => {
  const rows = [randomIds(12, 512, 61), randomIds(12, 512, 62)];
  const want = fullLogits(model, rows);
  const targets = ids2d(rows);
  const before = tf.memory().numTensors;
  const { logits } = model.forward(rows);
  expect(maxAbsDiff(logits.dataSync(), want)).toBe(0);
  logits.dispose();
  const loss = model.loss(rows, targets);
  expect(loss.dataSync()[0]).toBeGreaterThan(0);
  tf.dispose([loss, targets]);
  expect(tf.memory().numTensors).toBe(before - 1);
});

it("returns hidden states (logits = hidden · wteᵀ) and one head's attention probabilities", () => {
  const rows = [randomIds(10, 512, 41), randomIds(10, 512, 42)];
  const ids = ids2d(rows);
  const prefix = tf.slice(ids, [0, 0], [2, 9]) as tf.Tensor2D;
  const last = tf.slice(ids, [0, 9], [2, 1]) as tf.Tensor2D;
  // Warm-up: the shared causal masks for these lengths are created once and cached.
  tf.dispose([model.forward(ids).logits, model.forward(prefix).logits]);
  const before = tf.memory().numTensors;
  const out = model.forward(ids, { outputHidden: true, attentionProbs: { layer: 1, head: 2 } });
  expect(out.hidden!.shape).toEqual([2, 10, 64]);
  expect(out.attention!.shape).toEqual([2, 10, 10]);
  const again = tf.tidy(() =>
    tf.matMul(tf.reshape(out.hidden!, [20, 64]), model.namedWeights().get('transformer.wte.weight')!, false, true),
  );
  expect(maxAbsDiff(again.dataSync(), out.logits.dataSync())).toBeLessThan(1e-4);
  const p = out.attention!.arraySync();
  for (const m of p) {
    m.forEach((row, i) => {
      expect(Math.abs(row.reduce((a, b) => a + b, 0) - 1)).toBeLessThan(1e-5);
      row.forEach((v, j) => (j > i ? expect(v + 0).toBe(0) : expect(v).toBeGreaterThan(1e-12)));
    });
  }
  // With a cache, the new query's row equals the last row of the full matrix.
  const cache = model.createCache(2);
  tf.dispose(model.forward(prefix, { cache }).logits);
  const inc = model.forward(last, { cache, attentionProbs: { layer: 1, head: 2 } });
  expect(inc.attention!.shape).toEqual([2, 1, 10]);
  expect(maxAbsDiff(inc.attention!.dataSync(), [...p[0]![9]!, ...p[1]![9]!])).toBeLessThan(1e-5);
  tf.dispose([out.logits, out.hidden!, out.attention!, again, inc.logits, inc.attention!]);
  cache.dispose();
  expect(tf.memory().numTensors).toBe(before);
  expect(() => model.forward(ids, { attentionProbs: { layer: 2, head: 0 } })).toThrow(/layer 2 is outside \[0, 2\)/);
  tf.dispose([ids, prefix, last]);
});

it('attention probabilities of a local layer are zero outside the window', () => {
  const ids = ids2d([randomIds(20, 512, 51)]);
  const out = sparse.forward(ids, { attentionProbs: { layer: 1, head: 0 } });
  const p = out.attention!.arraySync()[0]!;
  // Masked entries are 0 (tfjs softmax) or ~1e-38 (@gptlab/tensor-native's softmax clamps exp); kept ones are not.
  p.forEach((row, i) => row.forEach((v, j) => (j > i || j <= i - 6 ? expect(v + 0).toBe(0) : expect(v).toBeGreaterThan(1e-12))));
  tf.dispose([ids, out.logits, out.attention!]);
});

it('an empty cache adopts the batch size of its first forward', () => {
  const cache = model.createCache(1);
  const ids = ids2d([
    [1, 2],
    [3, 4],
    [5, 6],
  ]);
  tf.dispose(model.forward(ids, { cache }).logits);
  expect(cache.batchSize).toBe(3);
  expect(cache.length).toBe(2);
  cache.reorder([2]);
  expect(cache.batchSize).toBe(1);
  const copy = cache.clone();
  cache.dispose();
  expect(copy.length).toBe(2);
  copy.dispose();
  ids.dispose();
  expect(() => model.createCache(0)).toThrow(/batchSize must be a positive integer/);
});
