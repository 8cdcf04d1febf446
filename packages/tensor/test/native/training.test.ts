// A tiny GPT-like model (embedding, LayerNorm, causal self-attention, GELU MLP, tied LM head, cross-entropy,
// Adam) trained for a few steps with the native kernels and on the plain path (the backend's original
// kernels, explicit-transpose strategy): the losses match step by step.
import { randomFloat32Array as randomArray } from '@gptlab/common/testing';
import * as T from '../../src';
import { describeNative } from './harness';

type Tensor = T.Tensor;
type Tensor1D = T.Tensor1D;
type Tensor2D = T.Tensor2D;
type Tensor4D = T.Tensor4D;

describeNative('training with native kernels', ({ backend, native }) => {
  const tf = T.tf;
  afterAll(() => T.setNativeMatMul(false));

  const [V, C, H, Tt, B] = [29, 16, 2, 8, 3];
  const D = C / H;

  function train(useNative: boolean, steps: number): number[] {
    if (useNative) native.register(tf, backend);
    else native.unregister(tf, backend);
    T.setNativeMatMul(useNative);
    const variable = (t: Tensor) => {
      const v = tf.variable(t);
      t.dispose(); // the variable holds its own reference to the data
      return v;
    };
    const p = {
      wte: variable(tf.tensor(randomArray(V * C, 1, 0.3), [V, C])),
      wpe: variable(tf.tensor(randomArray(Tt * C, 2, 0.1), [Tt, C])),
      lng: variable(tf.ones([C])),
      lnb: variable(tf.zeros([C])),
      qkv: variable(tf.tensor(randomArray(C * 3 * C, 3, 0.3), [C, 3 * C])),
      qkvb: variable(tf.zeros([3 * C])),
      proj: variable(tf.tensor(randomArray(C * C, 4, 0.3), [C, C])),
      fc: variable(tf.tensor(randomArray(C * 4 * C, 5, 0.3), [C, 4 * C])),
      fcb: variable(tf.zeros([4 * C])),
      out: variable(tf.tensor(randomArray(4 * C * C, 6, 0.2), [4 * C, C])),
    };
    const ids = tf.tensor(
      Int32Array.from({ length: B * Tt }, (_, i) => (i * 7 + 3) % V),
      [B, Tt],
      'int32',
    );
    const targets = tf.tensor(
      Int32Array.from({ length: B * Tt }, (_, i) => (i * 5 + 1) % V),
      [B, Tt],
      'int32',
    );
    const opt = tf.train.adam(1e-2);
    const loss = () =>
      tf.tidy(() => {
        let x = tf.add(tf.gather(p.wte, ids), p.wpe); // [B, T, C]
        const h = T.layerNorm(x, p.lng, p.lnb);
        const qkv = T.linear(h, p.qkv as unknown as Tensor2D, p.qkvb as unknown as Tensor1D);
        const r = tf.transpose(tf.reshape(qkv, [B, Tt, 3 * H, D]), [0, 2, 1, 3]);
        const q = tf.slice(r, [0, 0, 0, 0], [B, H, Tt, D]) as Tensor4D;
        const k = tf.slice(r, [0, H, 0, 0], [B, H, Tt, D]) as Tensor4D;
        const v = tf.slice(r, [0, 2 * H, 0, 0], [B, H, Tt, D]) as Tensor4D;
        const s = tf.add(T.batchMatMul(tf.mul(q, 1 / Math.sqrt(D)), k, false, true), T.causalMask(Tt));
        const y = T.batchMatMul(tf.softmax(s), v);
        x = tf.add(x, T.linear(tf.reshape(tf.transpose(y, [0, 2, 1, 3]), [B, Tt, C]), p.proj as unknown as Tensor2D));
        x = tf.add(
          x,
          T.linear(T.gelu(T.linear(x, p.fc as unknown as Tensor2D, p.fcb as unknown as Tensor1D)), p.out as unknown as Tensor2D),
        );
        const logits = T.matMul2d(tf.reshape(x, [B * Tt, C]) as Tensor2D, p.wte as unknown as Tensor2D, false, true);
        return T.crossEntropy(logits, targets);
      }) as unknown as Tensor & { rank: 0 };
    const losses: number[] = [];
    for (let i = 0; i < steps; i++) {
      const l = opt.minimize(loss as never, true) as Tensor;
      losses.push(l.dataSync()[0]!);
      l.dispose();
    }
    opt.dispose();
    tf.dispose([ids, targets, ...Object.values(p)]);
    return losses;
  }

  it('losses with native kernels match the plain path, and the model learns', () => {
    const steps = 8;
    train(true, 1); // first use caches the causal mask
    const before = tf.memory().numTensors;
    const plain = train(false, steps);
    const fast = train(true, steps);
    expect(tf.memory().numTensors).toBe(before);
    for (let i = 0; i < steps; i++) {
      const rel = Math.abs(fast[i]! - plain[i]!) / Math.abs(plain[i]!);
      if (rel > 1e-4) throw new Error(`step ${i}: native ${fast[i]} vs plain ${plain[i]} (rel ${rel})`);
    }
    expect(fast[steps - 1]!).toBeLessThan(fast[0]! * 0.9);
  });
});
