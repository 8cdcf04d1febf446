// A small forward/backward/optimizer step repeated 20 times must not grow tf.memory().numTensors.
import { tf, initBackend, gelu, layerNorm, crossEntropy, linear, dropout, causalMask } from '../src';

beforeAll(() => initBackend());

it('forward + backward + SGD step 20 times leaves the tensor count flat', () => {
  const V = 32;
  const D = 16;
  const T = 8;
  const emb = tf.variable(tf.randomNormal([V, D], 0, 0.02, 'float32', 1));
  const w1 = tf.variable(tf.randomNormal([D, 4 * D], 0, 0.02, 'float32', 2));
  const w2 = tf.variable(tf.randomNormal([4 * D, D], 0, 0.02, 'float32', 3));
  const g = tf.variable(tf.ones([D]));
  const b = tf.variable(tf.zeros([D]));
  const ids = tf.tensor2d(
    Array.from({ length: 2 * T }, (_, i) => (i * 7) % V),
    [2, T],
    'int32',
  );
  const tgt = tf.tensor2d(
    Array.from({ length: 2 * T }, (_, i) => (i * 5) % V),
    [2, T],
    'int32',
  );
  const counts: number[] = [];
  for (let step = 0; step < 20; step++) {
    tf.tidy(() => {
      const { value, grads } = tf.variableGrads(() => {
        const x = tf.gather(emb, ids);
        const att = tf.softmax(tf.add(tf.matMul(x, x, false, true), causalMask(T)));
        const h = tf.add(x, tf.matMul(att, x));
        const m = linear(gelu(linear(layerNorm(h, g, b), w1 as tf.Tensor2D)), w2 as tf.Tensor2D);
        const out = dropout(tf.add(h, m), 0.1, step);
        return crossEntropy(tf.matMul(tf.reshape(out, [-1, D]), emb, false, true), tgt);
      });
      for (const [name, grad] of Object.entries(grads)) {
        const v = tf.engine().registeredVariables[name]!;
        v.assign(tf.sub(v, tf.mul(0.1, grad)));
      }
      value.dataSync();
    });
    counts.push(tf.memory().numTensors);
  }
  expect(new Set(counts.slice(1)).size).toBe(1);
  expect(counts[19]).toBe(counts[1]);
});
