// Training: every weight gets a gradient (wasm and cpu agree), gradients match finite differences, a few
// optimizer steps fit a batch, dropout is seeded, and training steps leak no tensors.
import { IGNORE_INDEX, initBackend } from '@gptlab/tensor';
import { GPT, TaskHead, getPreset } from '../src';
import { ids2d, maxAbsDiff, randomIds, setup, tf } from './helpers';

const cfg = getPreset('nano', { embdDropout: 0.1, attnDropout: 0.1, residDropout: 0.1 });
const rows = [randomIds(17, 128, 1), randomIds(17, 128, 2)];
const inputs = rows.map((r) => r.slice(0, 16));
const targets = rows.map((r) => r.slice(1));

function grads(backend: 'wasm' | 'cpu', training: boolean) {
  return (async () => {
    await initBackend({ backend });
    const m = GPT.create(cfg, { seed: 5 });
    const x = ids2d(inputs);
    const y = ids2d(targets);
    const { value, grads: g } = tf.variableGrads(() => m.loss(x, y, { training, seed: 3 }), m.trainableVariables());
    const out = { loss: value.dataSync()[0]!, grads: new Map<string, Float32Array>() };
    for (const [name, v] of m.namedWeights()) out.grads.set(name, g[v.name]!.dataSync() as Float32Array);
    tf.dispose([value, x, y, ...Object.values(g)]);
    m.dispose();
    return out;
  })();
}

afterAll(async () => {
  await setup();
});

it('every weight gets a non-zero gradient, the same on wasm and cpu (with dropout, same seed)', async () => {
  for (const training of [false, true]) {
    const a = await grads('cpu', training);
    const b = await grads('wasm', training);
    expect(Math.abs(a.loss - b.loss)).toBeLessThan(1e-5);
    expect(a.grads.size).toBe(2 + 2 * 12 + 2);
    for (const [name, g] of a.grads) {
      expect(g.some((v) => v !== 0)).toBe(true);
      const scale = Math.max(...Array.from(g, Math.abs));
      expect(maxAbsDiff(g, b.grads.get(name)!) / scale).toBeLessThan(1e-3);
    }
  }
}, 60000);

it('gradients match central finite differences (directional derivative per weight)', async () => {
  await setup();
  const m = GPT.create(getPreset('nano', { postLN: true }), { seed: 6 });
  const x = ids2d(inputs);
  const y = ids2d(targets);
  const { grads: g } = tf.variableGrads(() => m.loss(x, y), m.trainableVariables());
  const h = 1e-2;
  let checked = 0;
  for (const [name, v] of m.namedWeights()) {
    if (!/h\.1\.|wte|wpe|h\.0\.ln_1/.test(name)) continue;
    const orig = v.clone();
    const dir = tf.tidy(() => tf.randomUniform(v.shape, -1, 1, 'float32', 7));
    const f = (s: number) => {
      v.assign(tf.tidy(() => tf.add(orig, tf.mul(dir, s))));
      const l = m.loss(x, y);
      const out = l.dataSync()[0]!;
      l.dispose();
      return out;
    };
    const numeric = (f(h) - f(-h)) / (2 * h);
    v.assign(orig);
    const analytic = tf.tidy(() => tf.sum(tf.mul(g[v.name]!, dir))).dataSync()[0]!;
    expect(Math.abs(numeric - analytic)).toBeLessThan(2e-3 + 0.02 * Math.abs(analytic));
    tf.dispose([orig, dir]);
    checked++;
  }
  expect(checked).toBe(16);
  tf.dispose([x, y, ...Object.values(g)]);
  m.dispose();
}, 60000);

it('Adam steps fit a batch; training steps leak no tensors', async () => {
  await setup();
  const m = GPT.create(cfg, { seed: 8 });
  const opt = tf.train.adam(3e-3);
  const x = ids2d(inputs);
  const y = ids2d(targets);
  const losses: number[] = [];
  let before = 0;
  for (let step = 0; step < 30; step++) {
    if (step === 2) before = tf.memory().numTensors;
    const l = opt.minimize(() => m.loss(x, y, { training: true, seed: step }), true, m.trainableVariables())!;
    losses.push(l.dataSync()[0]!);
    l.dispose();
  }
  expect(tf.memory().numTensors).toBe(before);
  expect(losses[0]!).toBeGreaterThan(Math.log(128) - 0.2);
  expect(losses[29]!).toBeLessThan(losses[0]! - 1.5);
  opt.dispose();
  tf.dispose([x, y]);
  m.dispose();
}, 60000);

it('dropout: seeded while training, off in evaluation; IGNORE_INDEX targets do not count', async () => {
  await setup();
  const m = GPT.create(cfg, { seed: 9 });
  const x = ids2d(inputs);
  const y = ids2d(targets);
  const loss = (o: { training?: boolean; seed?: number }) => {
    const l = m.loss(x, y, o);
    const v = l.dataSync()[0]!;
    l.dispose();
    return v;
  };
  const evalLoss = loss({});
  expect(loss({ training: false, seed: 1 })).toBe(evalLoss);
  expect(loss({ training: true, seed: 1 })).toBe(loss({ training: true, seed: 1 }));
  expect(loss({ training: true, seed: 1 })).not.toBe(loss({ training: true, seed: 2 }));
  expect(loss({ training: true, seed: 1 })).not.toBe(evalLoss);
  // Without dropout rates, training mode changes nothing.
  const plain = GPT.create(getPreset('nano'), { seed: 9 });
  const a = plain.loss(x, y, { training: true });
  const b = plain.loss(x, y);
  expect(a.dataSync()[0]).toBe(b.dataSync()[0]);
  // Masked targets: the loss over a half-masked batch equals the loss over the unmasked half alone.
  const masked = ids2d(targets.map((r, i) => (i === 1 ? r.map(() => IGNORE_INDEX) : r)));
  const half = plain.loss(x, masked).dataSync()[0]!;
  const x0 = ids2d([inputs[0]!]);
  const y0 = ids2d([targets[0]!]);
  expect(Math.abs(half - plain.loss(x0, y0).dataSync()[0]!)).toBeLessThan(1e-5);
  expect(() => plain.loss(x, x0)).toThrow(/targets shape \[1,16\] must equal ids shape \[2,16\]/);
  tf.dispose([x, y, a, b, masked, x0, y0]);
  m.dispose();
  plain.dispose();
}, 60000);

describe('GPT-1 fine-tuning: task head + resized embeddings', () => {
  it('scores the hidden state at the extract token; L2 + 0.5·L1 trains head and model together', async () => {
    await setup();
    const m = GPT.create(getPreset('nano', { postLN: true }), { seed: 10 });
    m.resizeTokenEmbeddings(131, 1); // + <s>, <$>, <e>
    expect(m.config.vocabSize).toBe(131);
    expect(m.namedWeights().get('transformer.wte.weight')!.shape).toEqual([131, 32]);
    const head = new TaskHead(32, 3, { seed: 2 });
    const seqs = [
      [128, 5, 6, 7, 130],
      [128, 9, 130, 0, 0],
    ];
    const ends = [4, 2];
    const x = ids2d(seqs);
    const out = m.forward(x, { outputHidden: true });
    const scores = head.forward(out.hidden!, ends);
    expect(scores.shape).toEqual([2, 3]);
    // Manual: hidden[b, ends[b]] · W + b
    const hid = out.hidden!.arraySync();
    const W = head.weight.arraySync() as number[][];
    const manual = ends.map((p, b) => [0, 1, 2].map((k) => hid[b]![p]!.reduce((s, v, c) => s + v * W[c]![k]!, 0)));
    expect(maxAbsDiff(scores.dataSync(), manual.flat())).toBeLessThan(1e-5);
    tf.dispose([out.logits, out.hidden!, scores]);

    const labels = tf.tensor1d([2, 0], 'int32');
    const lmTargets = ids2d(seqs.map((s) => [...s.slice(1), -100]));
    const vars = [...m.trainableVariables(), ...head.variables()];
    const { value, grads } = tf.variableGrads(() => {
      const o = m.forward(x, { outputHidden: true, training: true, seed: 1 });
      const l2 = tf.losses.softmaxCrossEntropy(tf.oneHot(labels, 3), head.forward(o.hidden!, ends, { training: true, seed: 2 }));
      const l1 = m.loss(x, lmTargets);
      return tf.add(l2, tf.mul(0.5, l1)) as tf.Scalar;
    }, vars);
    expect(value.dataSync()[0]).toBeGreaterThan(0);
    expect(vars.filter((v) => !grads[v.name]!.dataSync().some((g) => g !== 0)).map((v) => v.name)).toEqual([]);
    // The new embedding rows get gradients too (as inputs and through the tied LM head).
    const gw = grads[m.namedWeights().get('transformer.wte.weight')!.name]!.arraySync() as number[][];
    expect(gw[130]!.some((g) => g !== 0)).toBe(true);
    tf.dispose([value, labels, lmTargets, x, ...Object.values(grads)]);

    // Saved as extra tensors, restored by name.
    const restored = TaskHead.fromTensors(head.tensors());
    expect(maxAbsDiff(restored.weight.dataSync(), head.weight.dataSync())).toBe(0);
    expect(() => head.forward(tf.zeros([1, 4, 32]) as tf.Tensor3D, [4])).toThrow(/position 4 of row 0 is outside \[0, 4\)/);
    restored.dispose();
    head.dispose();
    m.dispose();
  });

  it('shrinking keeps the first rows; growing keeps existing rows and adds N(0, 0.02) rows', async () => {
    await setup();
    const m = GPT.create(getPreset('nano'), { seed: 11 });
    const old = m.namedWeights().get('transformer.wte.weight')!.arraySync() as number[][];
    m.resizeTokenEmbeddings(200, 3);
    const grown = m.namedWeights().get('transformer.wte.weight')!.arraySync() as number[][];
    expect(grown.slice(0, 128)).toEqual(old);
    const extra = grown.slice(128).flat();
    const std = Math.sqrt(extra.reduce((s, v) => s + v * v, 0) / extra.length);
    expect(Math.abs(std - 0.02)).toBeLessThan(0.002);
    m.resizeTokenEmbeddings(100);
    expect(m.namedWeights().get('transformer.wte.weight')!.arraySync()).toEqual(old.slice(0, 100));
    const x = ids2d([[99, 1]]);
    const l = m.forward(x).logits;
    expect(l.shape).toEqual([1, 2, 100]);
    tf.dispose([x, l]);
    m.dispose();
  });
});

it("sparse layers train: block-sparse gradients equal the dense model's when the window covers the sequence", async () => {
  await setup();
  const base = getPreset('nano', { nPositions: 64 });
  const dense = GPT.create(base, { seed: 12 });
  const local = GPT.create(
    {
      ...base,
      attention: [
        { type: 'local', window: 64 },
        { type: 'strided', stride: 64 },
      ],
    },
    { seed: 12 },
  );
  const r = [randomIds(49, 128, 13)];
  const x = ids2d([r[0]!.slice(0, 48)]);
  const y = ids2d([r[0]!.slice(1)]);
  const run = (m: GPT) => {
    const { value, grads: g } = tf.variableGrads(() => m.loss(x, y), m.trainableVariables());
    const out = [...m.namedWeights().values()].map((v) => g[v.name]!.dataSync() as Float32Array);
    tf.dispose([value, ...Object.values(g)]);
    return out;
  };
  const a = run(dense);
  const b = run(local);
  a.forEach((g, i) => expect(maxAbsDiff(g, b[i]!)).toBeLessThan(1e-5));
  tf.dispose([x, y]);
  dense.dispose();
  local.dispose();
});
