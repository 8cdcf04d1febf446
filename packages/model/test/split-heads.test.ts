// The attention's head split (q, k, v out of the packed [B, 3H, T, D] projection): the same values as three
// tf.slice ops, and the same gradient to the bit, also when only some of the three reach the loss; no leaks.
import { initBackend } from '@gptlab/tensor';
import { splitHeads } from '../src/attention';
import { tf } from './helpers';

const [B, H, T, D] = [2, 3, 5, 4];

function slices(qkv: tf.Tensor): tf.Tensor[] {
  return [0, 1, 2].map((i) => tf.slice(qkv, [0, i * H, 0, 0], [B, H, T, D]));
}

/** Loss weights per part (0: the part does not reach the loss). */
function loss(parts: tf.Tensor[], weights: number[]): tf.Scalar {
  return tf.addN(parts.flatMap((p, i) => (weights[i] ? [tf.sum(tf.mul(tf.square(p), weights[i]! + 0.25 * i))] : []))) as tf.Scalar;
}

describe.each(['wasm', 'cpu'] as const)('splitHeads on %s', (backend) => {
  beforeAll(async () => {
    await initBackend({ backend });
  });

  test.each([[[1, 1, 1]], [[1, 0, 0]], [[0, 2, 1]]])('values and gradient equal the three slices (loss weights %j)', (weights) => {
    const qkv = tf.tensor4d(
      Float32Array.from({ length: B * 3 * H * T * D }, (_, i) => Math.sin(i * 0.7) * 3),
      [B, 3 * H, T, D],
    );
    const before = tf.memory().numTensors;
    const got = tf.tidy(() => {
      const parts = splitHeads(qkv as tf.Tensor4D, H);
      const g = tf.grad((x: tf.Tensor) => loss(splitHeads(x as tf.Tensor4D, H), weights))(qkv);
      return [...parts.map((p) => p.dataSync().slice()), g.dataSync().slice()];
    });
    const want = tf.tidy(() => {
      const parts = slices(qkv);
      const g = tf.grad((x: tf.Tensor) => loss(slices(x), weights))(qkv);
      return [...parts.map((p) => p.dataSync().slice()), g.dataSync().slice()];
    });
    expect(tf.memory().numTensors).toBe(before);
    got.forEach((a, i) => expect(Array.from(a)).toEqual(Array.from(want[i]!)));
    // Parts that do not reach the loss get zero gradient; the others do not (batch row 0's q, k, v blocks).
    const grad = got[3]!;
    const block = H * T * D;
    weights.forEach((w, i) => {
      const nonzero = grad.slice(i * block, (i + 1) * block).some((x) => x !== 0);
      expect(nonzero).toBe(w !== 0);
    });
    qkv.dispose();
  });
});
