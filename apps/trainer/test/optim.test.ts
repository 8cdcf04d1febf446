import { tf, initBackend } from '@gptlab/tensor';
import { AdamW, defaultDecays } from '../src/train/adamw';
import { cosineSchedule } from '../src/train/schedule';
import { clipByGlobalNorm } from '../src/train/clip';

beforeAll(async () => {
  await initBackend();
});

/** Reference AdamW in float64 (PyTorch's update order), for one flat parameter. */
function refAdamW(p: number[], grads: number[][], lrs: number[], decay: boolean, b1 = 0.9, b2 = 0.95, eps = 1e-8, wd = 0.1): number[] {
  const m = p.map(() => 0);
  const v = p.map(() => 0);
  const x = [...p];
  grads.forEach((g, k) => {
    const t = k + 1;
    const lr = lrs[k]!;
    for (let i = 0; i < x.length; i++) {
      if (decay) x[i]! -= lr * wd * x[i]!;
      m[i] = b1 * m[i]! + (1 - b1) * g[i]!;
      v[i] = b2 * v[i]! + (1 - b2) * g[i]! * g[i]!;
      const mh = m[i]! / (1 - b1 ** t);
      const vh = v[i]! / (1 - b2 ** t);
      x[i]! -= (lr * mh) / (Math.sqrt(vh) + eps);
    }
  });
  return x;
}

describe('AdamW', () => {
  test('matches a float64 reference over several steps, decaying matrices only', () => {
    const w0 = [0.5, -1.2, 2.0, 0.1, -0.3, 0.7];
    const b0 = [0.05, -0.4, 1.5];
    const params = {
      'h.0.mlp.c_fc.weight': tf.variable(tf.tensor2d(w0, [2, 3])),
      'h.0.mlp.c_fc.bias': tf.variable(tf.tensor1d(b0)),
      'wte.weight': tf.variable(tf.tensor2d(w0, [3, 2])),
    };
    const gW = [
      [0.1, -0.2, 0.3, 0.05, 0.9, -1.1],
      [0.2, 0.1, -0.4, 0.0, 0.3, 0.2],
      [-0.3, 0.5, 0.1, 0.7, -0.2, 0.05],
    ];
    const gB = [
      [0.3, -0.1, 0.2],
      [-0.5, 0.4, 0.1],
      [0.05, 0.2, -0.3],
    ];
    const lrs = [1e-2, 5e-3, 2e-2];
    const opt = new AdamW();
    const before = tf.memory().numTensors;
    for (let k = 0; k < 3; k++) {
      const grads = {
        'h.0.mlp.c_fc.weight': tf.tensor2d(gW[k]!, [2, 3]),
        'h.0.mlp.c_fc.bias': tf.tensor1d(gB[k]!),
        'wte.weight': tf.tensor2d(gW[k]!, [3, 2]),
      };
      opt.apply(params, grads, lrs[k]!);
      Object.values(grads).forEach((g) => g.dispose());
    }
    expect(tf.memory().numTensors).toBe(before); // the moments are JS arrays; each update swaps a parameter's tensor
    const expW = refAdamW(w0, gW, lrs, true);
    const expB = refAdamW(b0, gB, lrs, false);
    const expE = refAdamW(w0, gW, lrs, false); // embeddings do not decay
    const got = (n: string) => Array.from(params[n as keyof typeof params].dataSync());
    got('h.0.mlp.c_fc.weight').forEach((x, i) => expect(x).toBeCloseTo(expW[i]!, 5));
    got('h.0.mlp.c_fc.bias').forEach((x, i) => expect(x).toBeCloseTo(expB[i]!, 5));
    got('wte.weight').forEach((x, i) => expect(x).toBeCloseTo(expE[i]!, 5));
    // the decayed matrix and the undecayed embedding started equal and differ only by decay
    expect(got('h.0.mlp.c_fc.weight')[2]).not.toBeCloseTo(got('wte.weight')[2]!, 6);
    expect(opt.step).toBe(3);
    opt.dispose();
    Object.values(params).forEach((p) => p.dispose());
  });

  test('decay rule: matrices yes; biases, LayerNorm, wte, wpe no', () => {
    const m = tf.zeros([2, 2]);
    const v = tf.zeros([2]);
    expect(defaultDecays('h.0.attn.c_attn.weight', m)).toBe(true);
    expect(defaultDecays('lm_head.weight', m)).toBe(true);
    expect(defaultDecays('wte.weight', m)).toBe(false);
    expect(defaultDecays('transformer.wpe.weight', m)).toBe(false);
    expect(defaultDecays('h.0.ln_1.weight', v)).toBe(false);
    expect(defaultDecays('h.0.attn.c_attn.bias', v)).toBe(false);
    m.dispose();
    v.dispose();
  });

  test('the flat update (worker threads) equals the tensor update, clipping scale folded in', () => {
    const shapes: [string, number[]][] = [
      ['h.0.attn.c_attn.weight', [3, 4]],
      ['h.0.attn.c_attn.bias', [4]],
      ['wte.weight', [5, 2]],
    ];
    const layout = [];
    let offset = 0;
    for (const [name, shape] of shapes) {
      const size = shape.reduce((a, b) => a * b, 1);
      layout.push({ name, shape, offset, size });
      offset += size;
    }
    const flatP = Float32Array.from({ length: offset }, (_, i) => Math.sin(i + 1));
    const params: Record<string, tf.Variable> = {};
    for (const l of layout) params[l.name] = tf.variable(tf.tensor(flatP.slice(l.offset, l.offset + l.size), l.shape));
    const a = new AdamW();
    const b = new AdamW();
    for (let k = 0; k < 3; k++) {
      const flatG = Float32Array.from({ length: offset }, (_, i) => Math.cos(i * (k + 2)));
      const grads: Record<string, tf.Tensor> = {};
      for (const l of layout) grads[l.name] = tf.tensor(flatG.slice(l.offset, l.offset + l.size), l.shape);
      a.apply(params, grads, 1e-2, 0.5);
      b.applyFlat(layout, flatP, flatG, 1e-2, 0.5);
      tf.dispose(Object.values(grads));
    }
    for (const l of layout) expect(Array.from(params[l.name]!.dataSync())).toEqual(Array.from(flatP.slice(l.offset, l.offset + l.size)));
    const sa = a.stateArrays();
    const sb = b.stateArrays();
    expect(Object.keys(sa).sort()).toEqual(Object.keys(sb).sort());
    for (const k of Object.keys(sa)) expect(Array.from(sa[k]!.data)).toEqual(Array.from(sb[k]!.data));
    // restoring the moments into a fresh optimizer continues identically
    const c = new AdamW();
    c.loadState(
      b.step,
      Object.fromEntries(Object.entries(sb).map(([k, v]) => [k, v.data])),
      Object.fromEntries(layout.map((l) => [l.name, l])),
    );
    const p1 = flatP.slice();
    const g = Float32Array.from({ length: offset }, (_, i) => 0.1 * i);
    b.applyFlat(layout, flatP, g, 1e-2);
    c.applyFlat(layout, p1, g, 1e-2);
    expect(Array.from(p1)).toEqual(Array.from(flatP));
    Object.values(params).forEach((p) => p.dispose());
  });

  test('rejects bad hyper-parameters', () => {
    expect(() => new AdamW({ beta2: 1 })).toThrow(/beta2/);
    expect(() => new AdamW({ eps: 0 })).toThrow(/eps/);
  });
});

describe('cosine schedule', () => {
  test('linear warm-up, cosine to 10% of the peak, floor afterwards', () => {
    const s = cosineSchedule({ lr: 1e-3, warmupSteps: 10, totalSteps: 110 });
    expect(s(0)).toBeCloseTo(1e-4, 12);
    expect(s(9)).toBeCloseTo(1e-3, 12);
    expect(s(10)).toBeCloseTo(1e-3, 12);
    expect(s(60)).toBeCloseTo(1e-4 + 0.5 * 9e-4, 12); // half way: mean of peak and floor
    expect(s(110)).toBeCloseTo(1e-4, 12);
    expect(s(500)).toBeCloseTo(1e-4, 12);
    for (let i = 11; i < 110; i++) expect(s(i)).toBeLessThanOrEqual(s(i - 1));
  });
});

describe('global-norm clipping', () => {
  test('scales to the max norm, leaves small gradients alone', async () => {
    const grads: Record<string, tf.Tensor> = { a: tf.tensor1d([3, 0]), b: tf.tensor2d([[0, 4]]) };
    const norm = await clipByGlobalNorm(grads, 1.0);
    expect(norm).toBeCloseTo(5, 5);
    expect(Array.from(grads.a!.dataSync())[0]).toBeCloseTo(0.6, 5);
    expect(Array.from(grads.b!.dataSync())[1]).toBeCloseTo(0.8, 5);
    const small: Record<string, tf.Tensor> = { a: tf.tensor1d([0.3, 0.4]) };
    const before = small.a;
    expect(await clipByGlobalNorm(small, 1.0)).toBeCloseTo(0.5, 5);
    expect(small.a).toBe(before);
    [...Object.values(grads), ...Object.values(small)].forEach((g) => g.dispose());
  });

  test('a NaN gradient reports a NaN norm', async () => {
    const grads: Record<string, tf.Tensor> = { a: tf.tensor1d([NaN, 1]) };
    expect(Number.isNaN(await clipByGlobalNorm(grads, 1))).toBe(true);
    grads.a!.dispose();
  });
});
