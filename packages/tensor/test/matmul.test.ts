import { tf, initBackend, matMul2d, batchMatMul, linear, setMatMulStrategy } from '../src';
import { maxAbsDiff } from '@gptlab/common/testing';

beforeAll(() => initBackend());
afterEach(() => setMatMulStrategy(null));

const combos: [boolean, boolean][] = [
  [false, false],
  [true, false],
  [false, true],
  [true, true],
];

describe.each(['flags', 'explicit-transpose'] as const)('strategy %s', (strategy) => {
  beforeEach(() => setMatMulStrategy(strategy));

  it.each(combos)('matMul2d transposeA=%s transposeB=%s equals tf.matMul, gradients too', (ta, tb) => {
    const a = tf.randomNormal(ta ? [7, 5] : [5, 7], 0, 1, 'float32', 1) as tf.Tensor2D;
    const b = tf.randomNormal(tb ? [3, 7] : [7, 3], 0, 1, 'float32', 2) as tf.Tensor2D;
    const ref = tf.matMul(a, b, ta, tb);
    expect(maxAbsDiff(matMul2d(a, b, ta, tb).dataSync(), ref.dataSync())).toBeLessThan(1e-5);
    const f = (x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.square(matMul2d(x as tf.Tensor2D, y as tf.Tensor2D, ta, tb)));
    const r = (x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.square(tf.matMul(x as tf.Tensor2D, y as tf.Tensor2D, ta, tb)));
    const [ga, gb] = tf.grads(f)([a, b]);
    const [ra, rb] = tf.grads(r)([a, b]);
    expect(maxAbsDiff(ga!.dataSync(), ra!.dataSync())).toBeLessThan(1e-4);
    expect(maxAbsDiff(gb!.dataSync(), rb!.dataSync())).toBeLessThan(1e-4);
  });

  it.each(combos)('batchMatMul rank 4 transposeA=%s transposeB=%s equals tf.matMul, gradients too', (ta, tb) => {
    const a = tf.randomNormal(ta ? [2, 3, 4, 5] : [2, 3, 5, 4], 0, 1, 'float32', 3);
    const b = tf.randomNormal(tb ? [2, 3, 6, 4] : [2, 3, 4, 6], 0, 1, 'float32', 4);
    const ref = tf.matMul(a as tf.Tensor4D, b as tf.Tensor4D, ta, tb);
    const got = batchMatMul(a, b, ta, tb);
    expect(got.shape).toEqual(ref.shape);
    expect(maxAbsDiff(got.dataSync(), ref.dataSync())).toBeLessThan(1e-5);
    const [ga, gb] = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.square(batchMatMul(x, y, ta, tb))))([a, b]);
    const [ra, rb] = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.square(tf.matMul(x as tf.Tensor4D, y as tf.Tensor4D, ta, tb))))([
      a,
      b,
    ]);
    expect(maxAbsDiff(ga!.dataSync(), ra!.dataSync())).toBeLessThan(1e-4);
    expect(maxAbsDiff(gb!.dataSync(), rb!.dataSync())).toBeLessThan(1e-4);
  });
});

it('linear folds leading axes and checks the weight shape', () => {
  const x = tf.randomNormal([2, 3, 4]);
  const w = tf.randomNormal([4, 5]) as tf.Tensor2D;
  const b = tf.randomNormal([5]) as tf.Tensor1D;
  const y = linear(x, w, b);
  expect(y.shape).toEqual([2, 3, 5]);
  const ref = tf.add(tf.matMul(tf.reshape(x, [6, 4]) as tf.Tensor2D, w), b);
  expect(maxAbsDiff(y.dataSync(), ref.dataSync())).toBeLessThan(1e-5);
  expect(() => linear(x, tf.zeros([3, 5]) as tf.Tensor2D)).toThrow(/input width 4/);
});
