// The training step's native shortcuts on wasm and cpu: GptlabAdamW (tensor-native's train-kernels) against the
// trainer's float64 update written out here, to the bit; crossEntropy's gradient when the loss is the
// differentiated output (dy = 1: the kernel's gradient is returned as is, no multiply) against the plain one.
import { maxRelDiff, randomFloat32Array as randomArray } from '@gptlab/common/testing';
import { tf, crossEntropy, type Tensor } from '../../src';
import { describeNative } from './harness';

/** The trainer's AdamW update (apps/trainer/src/train/adamw.ts) of one parameter, in JS float64. */
function adamwReference(p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, c: Record<string, number>): Float32Array {
  const out = new Float32Array(p.length);
  for (let i = 0; i < p.length; i++) {
    const gi = g[i]! * c.gradScale!;
    m[i] = c.beta1! * m[i]! + (1 - c.beta1!) * gi;
    v[i] = c.beta2! * v[i]! + (1 - c.beta2!) * gi * gi;
    out[i] = p[i]! * c.keep! - (c.stepSize! * m[i]!) / (Math.sqrt(v[i]! * c.invBc2!) + c.eps!);
  }
  return out;
}

describeNative('native training-step kernels', ({ backend, native, withOriginal }) => {
  beforeAll(() => {
    native.register(tf, backend);
  });

  it('GptlabAdamW: parameter and moments to the bit over three steps, threaded and not', () => {
    expect(tf.getKernel(native.TRAIN_KERNELS.adamW, backend)).toBeDefined();
    for (const n of [1, 37, 70_001]) {
      const p0 = randomArray(n, 1, 0.5);
      let p = tf.tensor(p0);
      const m = new Float32Array(n);
      const v = new Float32Array(n);
      let pr: Float32Array = Float32Array.from(p0);
      const mr = new Float32Array(n);
      const vr = new Float32Array(n);
      for (let t = 1; t <= 3; t++) {
        const gArr = randomArray(n, 10 + t, t === 2 ? 1e-6 : 2);
        const g = tf.tensor(gArr);
        const c = {
          beta1: 0.9,
          beta2: 0.95,
          eps: 1e-8,
          keep: 1 - 3e-4 * 0.1 * t,
          stepSize: 1e-3 / (1 - 0.9 ** t),
          invBc2: 1 / (1 - 0.95 ** t),
          gradScale: t === 3 ? 0.31 : 1,
        };
        const next = tf
          .engine()
          .runKernel(native.TRAIN_KERNELS.adamW, { param: p, grad: g }, { m, v, ...c } as unknown as tf.NamedAttrMap) as Tensor;
        pr = adamwReference(pr, gArr, mr, vr, c);
        tf.dispose([p, g]);
        p = next;
      }
      const got = p.dataSync() as Float32Array;
      for (const [what, a, b] of [
        ['parameter', got, pr],
        ['m', m, mr],
        ['v', v, vr],
      ] as const) {
        const i = a.findIndex((x, j) => !Object.is(x, b[j]));
        if (i >= 0) throw new Error(`n = ${n}: ${what}[${i}] native ${a[i]}, reference ${b[i]}`);
      }
      expect(maxRelDiff(got, p0)).toBeGreaterThan(0);
      p.dispose();
    }
  });

  it('crossEntropy with dy = 1: the same gradient as the plain composition, a tensor of its own, no leak', () => {
    const logits = tf.tensor(randomArray(4 * 3 * 53, 5, 6), [4, 3, 53]);
    const targets = tf.tensor(
      Int32Array.from({ length: 12 }, (_, i) => (i * 7) % 53),
      [4, 3],
      'int32',
    );
    const grad = () => tf.grad((l: Tensor) => crossEntropy(l, targets))(logits);
    const before = tf.memory().numTensors;
    const fast = grad();
    const fastValues = fast.dataSync().slice();
    fast.dispose();
    expect(tf.memory().numTensors).toBe(before);
    const plain = withOriginal(() => {
      const g = grad();
      const values = g.dataSync().slice();
      g.dispose();
      return values;
    });
    expect(maxRelDiff(fastValues, plain)).toBeLessThan(1e-5);
    // And with dy ≠ 1 the multiply still happens: twice the loss, twice the gradient.
    const doubled = tf.grad((l: Tensor) => tf.mul(crossEntropy(l, targets), 2))(logits);
    expect(
      maxRelDiff(
        doubled.dataSync(),
        Float32Array.from(fastValues, (x) => 2 * x),
      ),
    ).toBeLessThan(1e-6);
    tf.dispose([doubled, logits, targets]);
  });
});
