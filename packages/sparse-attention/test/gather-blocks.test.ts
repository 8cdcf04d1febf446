import { tf, initBackend, gatherBlocks, assembleBlocks, useBlockKernels, maxAbsDiff } from './imports';

beforeAll(() => initBackend());
afterEach(() => useBlockKernels(true));

it.each([true, false])(
  'kernels %s: gatherBlocks equals tf.gather on axis 1, gradient included (repeated indices accumulate)',
  (kernels) => {
    useBlockKernels(kernels);
    const x = tf.randomNormal([3, 5, 6], 0, 1, 'float32', 1) as tf.Tensor3D;
    const idx = Int32Array.from([4, 0, 0, 2, 4, 4, 1]);
    const w = tf.randomNormal([3, 7, 6], 0, 1, 'float32', 2);
    expect(maxAbsDiff(gatherBlocks(x, idx).dataSync(), tf.gather(x, tf.tensor1d(idx, 'int32'), 1).dataSync())).toBe(0);
    const g1 = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(gatherBlocks(a as tf.Tensor3D, idx), w)))(x);
    const g2 = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.gather(a, tf.tensor1d(idx, 'int32'), 1), w)))(x);
    expect(maxAbsDiff(g1.dataSync(), g2.dataSync())).toBeLessThan(1e-6);
    expect(() => gatherBlocks(x, Int32Array.of(5))).toThrow(/index\[0\] = 5 is outside 0..4/);
  },
);

it.each([true, false])('kernels %s: assembleBlocks places parts at their rows and routes gradients back', (kernels) => {
  useBlockKernels(kernels);
  const a = tf.randomNormal([2, 2, 3], 0, 1, 'float32', 3) as tf.Tensor3D;
  const b = tf.randomNormal([2, 1, 3], 0, 1, 'float32', 4) as tf.Tensor3D;
  const rows = [Int32Array.of(2, 0), Int32Array.of(1)];
  const out = assembleBlocks([a, b], rows, 3);
  const ref = tf.gather(tf.concat([a, b], 1), tf.tensor1d([1, 2, 0], 'int32'), 1);
  expect(maxAbsDiff(out.dataSync(), ref.dataSync())).toBe(0);
  const w = tf.randomNormal([2, 3, 3], 0, 1, 'float32', 5);
  const [ga, gb] = tf.grads((x: tf.Tensor, y: tf.Tensor) =>
    tf.sum(tf.mul(assembleBlocks([x as tf.Tensor3D, y as tf.Tensor3D], rows, 3), w)),
  )([a, b]);
  const [ra, rb] = tf.grads((x: tf.Tensor, y: tf.Tensor) =>
    tf.sum(tf.mul(tf.gather(tf.concat([x, y], 1), tf.tensor1d([1, 2, 0], 'int32'), 1), w)),
  )([a, b]);
  expect(maxAbsDiff(ga!.dataSync(), ra!.dataSync())).toBeLessThan(1e-6);
  expect(maxAbsDiff(gb!.dataSync(), rb!.dataSync())).toBeLessThan(1e-6);
  expect(() => assembleBlocks([a, b], [Int32Array.of(0, 0), Int32Array.of(1)], 3)).toThrow(/repeated/);
});
