// causalAttention on whatever the active backend runs (the native flash-style kernel when registered, else the
// plain composition) against the float64 reference: values, the three gradients, shape errors, no leaks.
import { maxRelDiff, randomFloat32Array } from '@gptlab/common/testing';
import { tf, initBackend, causalAttention, type Tensor } from '../src';
import { attentionFloat64, type AttentionCase } from './attention-reference';

beforeAll(() => initBackend());

function check(c: AttentionCase, seed: number, tol: number): void {
  const shapeQ = [c.bh, c.t, c.d];
  const shapeK = [c.bh, c.tk, c.d];
  const q = randomFloat32Array(c.bh * c.t * c.d, seed, 2);
  const k = randomFloat32Array(c.bh * c.tk * c.d, seed + 1, 2);
  const v = randomFloat32Array(c.bh * c.tk * c.d, seed + 2);
  const dOut = randomFloat32Array(c.bh * c.t * c.d, seed + 3);
  const ref = attentionFloat64(c, q, k, v, dOut);
  const [qt, kt, vt, dt] = [tf.tensor(q, shapeQ), tf.tensor(k, shapeK), tf.tensor(v, shapeK), tf.tensor(dOut, shapeQ)];
  tf.dispose(causalAttention(qt, kt, vt, c.scale)); // the plain path caches its causal mask on first use
  const before = tf.memory().numTensors;
  const got = tf.tidy(() => {
    const f = (a: Tensor, b: Tensor, x: Tensor) => tf.sum(tf.mul(causalAttention(a, b, x, c.scale), dt));
    const grads = tf.grads(f)([qt, kt, vt]);
    return [causalAttention(qt, kt, vt, c.scale), ...grads].map((t) => t.dataSync().slice());
  });
  expect(tf.memory().numTensors).toBe(before);
  ['out', 'dq', 'dk', 'dv'].forEach((name, i) => {
    const err = maxRelDiff(got[i]!, ref[name as 'out' | 'dq' | 'dk' | 'dv']);
    if (err > tol) throw new Error(`${name} differs from float64 by ${err} (${JSON.stringify(c)})`);
  });
  tf.dispose([qt, kt, vt, dt]);
}

describe('causalAttention', () => {
  it('equals the float64 reference: T = Tk, odd T, D = 16', () => {
    check({ bh: 5, t: 67, tk: 67, d: 16, scale: 0.25 }, 1, 1e-5);
  });

  it('equals the float64 reference: cached keys (Tk > T), D = 24, a single query', () => {
    check({ bh: 3, t: 9, tk: 70, d: 24, scale: 1 / Math.sqrt(24) }, 2, 1e-5);
    check({ bh: 2, t: 1, tk: 5, d: 24, scale: 0.3 }, 3, 1e-5);
  });

  it('defaults the scale to 1/√D and keeps the leading axes', () => {
    const q = tf.tensor(randomFloat32Array(2 * 3 * 4 * 8, 4), [2, 3, 4, 8]);
    const y = causalAttention(q, q, q);
    const z = causalAttention(q, q, q, 1 / Math.sqrt(8));
    expect(y.shape).toEqual([2, 3, 4, 8]);
    expect(maxRelDiff(y.dataSync(), z.dataSync())).toBe(0);
    tf.dispose([q, y, z]);
  });

  it('rejects mismatched shapes and Tk < T with the shapes in the message', () => {
    const q = tf.zeros([2, 5, 8]);
    const k = tf.zeros([2, 4, 8]);
    const w = tf.zeros([2, 5, 7]);
    expect(() => causalAttention(q, k, k)).toThrow('needs Tk ≥ T');
    expect(() => causalAttention(q, w, w)).toThrow('q [2,5,8], k [2,5,7], v [2,5,7] must be');
    tf.dispose([q, k, w]);
  });
});
