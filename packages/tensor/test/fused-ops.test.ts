// Each fused op's gradient against central finite differences of an independent float64 implementation.
import { tf, initBackend, gelu, layerNorm, crossEntropy, IGNORE_INDEX } from '../src';
import { maxAbsDiff, randomArray, finiteDiff } from '@gptlab/common/testing';

beforeAll(() => initBackend());

const SQ = Math.sqrt(2 / Math.PI);
const gelu64 = (v: number) => 0.5 * v * (1 + Math.tanh(SQ * (v + 0.044715 * v ** 3)));

function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let scale = 1e-3;
  for (let i = 0; i < b.length; i++) scale = Math.max(scale, Math.abs(b[i]!));
  return maxAbsDiff(a, b) / scale;
}

describe('gelu (tanh approximation)', () => {
  it('forward matches the formula and the gradient matches finite differences', () => {
    const n = 64;
    const x = randomArray(n, 3, 4);
    const w = randomArray(n, 5);
    const xt = tf.tensor1d(Array.from(x));
    const wt = tf.tensor1d(Array.from(w));
    const y = gelu(xt).dataSync();
    expect(maxAbsDiff(y, Array.from(x, gelu64))).toBeLessThan(1e-5);
    const g = tf
      .grad((t: tf.Tensor) => tf.sum(tf.mul(gelu(t), wt)))(xt)
      .dataSync();
    const fd = finiteDiff((v) => v.reduce((s, vi, i) => s + w[i]! * gelu64(vi), 0), x);
    expect(relErr(g, fd)).toBeLessThan(1e-4);
    tf.dispose([xt, wt]);
  });
});

describe('layerNorm', () => {
  const rows = 3;
  const d = 8;
  const eps = 1e-5;
  function ln64(x: Float64Array, g: Float64Array, b: Float64Array): Float64Array {
    const y = new Float64Array(x.length);
    for (let r = 0; r < rows; r++) {
      let mean = 0;
      for (let j = 0; j < d; j++) mean += x[r * d + j]!;
      mean /= d;
      let v = 0;
      for (let j = 0; j < d; j++) v += (x[r * d + j]! - mean) ** 2;
      v /= d;
      for (let j = 0; j < d; j++) y[r * d + j] = ((x[r * d + j]! - mean) / Math.sqrt(v + eps)) * g[j]! + b[j]!;
    }
    return y;
  }
  it('forward and gradients w.r.t. x, gamma, beta match finite differences', () => {
    const x = randomArray(rows * d, 7, 3);
    const g = randomArray(d, 9, 2);
    const b = randomArray(d, 11);
    const w = randomArray(rows * d, 13);
    const [xt, gt, bt, wt] = [
      tf.tensor2d(Array.from(x), [rows, d]),
      tf.tensor1d(Array.from(g)),
      tf.tensor1d(Array.from(b)),
      tf.tensor2d(Array.from(w), [rows, d]),
    ];
    expect(maxAbsDiff(layerNorm(xt, gt, bt).dataSync(), ln64(x, g, b))).toBeLessThan(1e-5);
    const grads = tf.grads((a: tf.Tensor, c: tf.Tensor, e: tf.Tensor) => tf.sum(tf.mul(layerNorm(a, c, e), wt)))([xt, gt, bt]);
    const obj = (xx: Float64Array, gg: Float64Array, bb: Float64Array) => ln64(xx, gg, bb).reduce((s, v, i) => s + v * w[i]!, 0);
    expect(
      relErr(
        grads[0]!.dataSync(),
        finiteDiff((v) => obj(v, g, b), x),
      ),
    ).toBeLessThan(1e-3);
    expect(
      relErr(
        grads[1]!.dataSync(),
        finiteDiff((v) => obj(x, v, b), g),
      ),
    ).toBeLessThan(1e-3);
    expect(
      relErr(
        grads[2]!.dataSync(),
        finiteDiff((v) => obj(x, g, v), b),
      ),
    ).toBeLessThan(1e-3);
  });
  it('works on rank-3 inputs', () => {
    const x = tf.randomNormal([2, 3, 8], 0, 1, 'float32', 1);
    const y = layerNorm(x, tf.ones([8]), tf.zeros([8]));
    const m = tf.mean(y, -1).dataSync();
    expect(Math.max(...Array.from(m, Math.abs))).toBeLessThan(1e-5);
  });
});

describe('crossEntropy', () => {
  const n = 5;
  const v = 7;
  function ce64(logits: Float64Array, targets: number[]): number {
    let total = 0;
    let count = 0;
    for (let r = 0; r < n; r++) {
      if (targets[r] === IGNORE_INDEX) continue;
      let m = -Infinity;
      for (let j = 0; j < v; j++) m = Math.max(m, logits[r * v + j]!);
      let s = 0;
      for (let j = 0; j < v; j++) s += Math.exp(logits[r * v + j]! - m);
      total += Math.log(s) + m - logits[r * v + targets[r]!]!;
      count++;
    }
    return count ? total / count : 0;
  }
  const targets = [1, IGNORE_INDEX, 6, 0, 3];

  it('matches a float64 reference, ignores the ignore index, and its gradient matches finite differences', () => {
    const logits = randomArray(n * v, 17, 5);
    const lt = tf.tensor2d(Array.from(logits), [n, v]);
    const tt = tf.tensor1d(targets, 'int32');
    expect(Math.abs(crossEntropy(lt, tt).dataSync()[0]! - ce64(logits, targets))).toBeLessThan(1e-5);
    const g = tf
      .grad((l: tf.Tensor) => crossEntropy(l, tt))(lt)
      .dataSync();
    expect(
      relErr(
        g,
        finiteDiff((x) => ce64(x, targets), logits),
      ),
    ).toBeLessThan(1e-3);
    // Rows with the ignore index get no gradient.
    for (let j = 0; j < v; j++) expect(Math.abs(g[1 * v + j]!)).toBe(0);
  });

  it('stays finite with logits of ±1e4', () => {
    const big = tf.tensor2d([1e4, -1e4, 0, -1e4, 1e4, 5], [2, 3]);
    const t = tf.tensor1d([1, 1], 'int32');
    const loss = crossEntropy(big, t).dataSync()[0]!;
    expect(Number.isFinite(loss)).toBe(true);
    expect(loss).toBeCloseTo(1e4, 0);
    const g = tf
      .grad((l: tf.Tensor) => crossEntropy(l, t))(big)
      .dataSync();
    expect(Array.from(g).every(Number.isFinite)).toBe(true);
  });

  it('is 0, not NaN, when every target is ignored', () => {
    const l = tf.randomNormal([2, 4]);
    const t = tf.tensor1d([IGNORE_INDEX, IGNORE_INDEX], 'int32');
    expect(crossEntropy(l, t).dataSync()[0]).toBe(0);
  });

  it('accepts [B, T, V] logits with [B, T] targets and rejects mismatched counts', () => {
    const l = tf.randomNormal([2, 3, 4]);
    const t = tf.tensor2d(
      [
        [0, 1, 2],
        [3, 0, 1],
      ],
      [2, 3],
      'int32',
    );
    expect(Number.isFinite(crossEntropy(l, t).dataSync()[0]!)).toBe(true);
    expect(() => crossEntropy(l, tf.tensor1d([0, 1], 'int32'))).toThrow(/2 targets for 6 rows/);
  });
});
