// One training step of a tiny embedding → matMul → cross-entropy model on wasm and on cpu: the same loss and
// gradients. On wasm this needs our UnsortedSegmentSum kernel (gather's gradient), which tfjs-wasm lacks.
import { tf, initBackend, crossEntropy, linear } from '../src';
import { maxAbsDiff, randomArray } from '@gptlab/common/testing';

const V = 50;
const D = 16;
const tokens = [3, 7, 7, 0, 49, 12, 3, 21];
const targets = [7, 7, 0, 49, 12, 3, 21, 5];

async function step(backend: 'wasm' | 'cpu') {
  await initBackend({ backend });
  expect(tf.getBackend()).toBe(backend);
  const emb = tf.variable(tf.tensor2d(Array.from(randomArray(V * D, 1, 0.5)), [V, D]), true, `emb_${backend}`);
  const w = tf.variable(tf.tensor2d(Array.from(randomArray(D * V, 2, 0.5)), [D, V]), true, `w_${backend}`);
  const ids = tf.tensor1d(tokens, 'int32');
  const tgt = tf.tensor1d(targets, 'int32');
  const { value, grads } = tf.variableGrads(() => crossEntropy(linear(tf.gather(emb, ids), w as tf.Tensor2D), tgt));
  const out = {
    loss: value.dataSync()[0]!,
    gEmb: Array.from(grads[emb.name]!.dataSync()),
    gW: Array.from(grads[w.name]!.dataSync()),
  };
  tf.dispose([value, ids, tgt, emb, w, ...Object.values(grads)]);
  return out;
}

it('trains an embedding on wasm with the same loss and gradients as cpu', async () => {
  const cpu = await step('cpu');
  const wasm = await step('wasm');
  expect(Math.abs(cpu.loss - wasm.loss)).toBeLessThan(1e-5);
  expect(maxAbsDiff(cpu.gEmb, wasm.gEmb)).toBeLessThan(1e-5);
  expect(maxAbsDiff(cpu.gW, wasm.gW)).toBeLessThan(1e-5);
  // Token 7 appears twice: its gradient row is the sum of two contributions, so it is non-zero.
  expect(cpu.gEmb.slice(7 * D, 8 * D).some((v) => v !== 0)).toBe(true);
  // A token never seen gets no gradient.
  expect(cpu.gEmb.slice(1 * D, 2 * D).every((v) => v === 0)).toBe(true);
});

it('UnsortedSegmentSum on wasm drops out-of-range ids like TensorFlow', async () => {
  await initBackend({ backend: 'wasm' });
  const x = tf.tensor2d([1, 2, 3, 4, 5, 6], [3, 2]);
  const ids = tf.tensor1d([1, -1, 1], 'int32');
  expect(Array.from(tf.unsortedSegmentSum(x, ids, 2).dataSync())).toEqual([0, 0, 6, 8]);
});
