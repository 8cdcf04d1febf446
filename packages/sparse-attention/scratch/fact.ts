import { tf, initBackend } from '@gptlab/tensor';
import { blockSparseAttention, denseAttention, elementMask } from '../src';
(async () => {
  await initBackend();
  for (const [T, l, bs] of [[100, 16, 16], [64, 32, 32], [130, 32, 16], [33, 16, 16], [5, 16, 16], [200, 64, 32]]) {
    const p = { type: 'strided' as const, stride: l };
    const sh = [2, 3, T, 8];
    const [q, k, v, w] = [1, 2, 3, 4].map((s) => tf.randomNormal(sh, 0, 1, 'float32', s) as tf.Tensor4D);
    const mask = elementMask(p, T, T, 0, bs);
    const f1 = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.sum(tf.mul(blockSparseAttention(a as any, b as any, c as any, p, { blockSize: bs, strided: 'factorized' }), w));
    const f2 = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.sum(tf.mul(denseAttention(a as any, b as any, c as any, mask), w));
    const d = tf.max(tf.abs(tf.sub(blockSparseAttention(q, k, v, p, { blockSize: bs, strided: 'factorized' }), denseAttention(q, k, v, mask)))).dataSync()[0];
    const g1 = tf.grads(f1)([q, k, v]); const g2 = tf.grads(f2)([q, k, v]);
    console.log(T, l, bs, 'fwd', d, 'grads', g1.map((g, i) => tf.max(tf.abs(tf.sub(g, g2[i]!))).dataSync()[0]));
  }
})();
