// The native fused kernels against the plain-tfjs compositions of @gptlab/tensor's ops (themselves checked
// against finite differences in fused-ops.test.ts): values and gradients of gelu, layerNorm, crossEntropy,
// tf.softmax, tf.sum, and the causal softmax of the attention core, on wasm and cpu.
import { maxRelDiff, randomFloat32Array as randomArray } from '@gptlab/common/testing';
import { tf, gelu, layerNorm, crossEntropy, IGNORE_INDEX, MASK_VALUE, type Tensor } from '../../src';
import { describeNative } from './harness';

describeNative('native fused kernels', ({ backend, native, withOriginal }) => {
  const { FUSED_KERNELS } = native;
  beforeAll(() => {
    native.register(tf, backend);
  });

  /** Values and gradients of f at xs with native kernels, and with the plain compositions. */
  function compare(f: (...xs: Tensor[]) => Tensor, xs: Tensor[], tol: number): void {
    const seed = tf.tensor(randomArray(f(...xs).size, 99));
    const g = (...a: Tensor[]) => tf.sum(tf.mul(f(...a), seed.reshape(f(...a).shape)));
    const run = () =>
      tf.tidy(() => [
        f(...xs)
          .dataSync()
          .slice(),
        ...tf
          .grads(g)(xs)
          .map((t) => t.dataSync().slice()),
      ]);
    expect(tf.getKernel(FUSED_KERNELS.gelu, backend)).toBeDefined();
    const fast = run();
    const plain = withOriginal(run);
    fast.forEach((v, i) => {
      const err = maxRelDiff(v, plain[i]!);
      if (err > tol) throw new Error(`${i === 0 ? 'value' : `gradient ${i - 1}`}: native vs plain differ by ${err}`);
    });
    seed.dispose();
  }

  it('gelu: values and gradient', () => {
    const x = tf.tensor(randomArray(3 * 5 * 67, 1, 4), [3, 5, 67]);
    compare((a) => gelu(a), [x], 1e-5);
    x.dispose();
  });

  it('layerNorm: values and gradients of x, gamma, beta', () => {
    const x = tf.tensor(randomArray(4 * 7 * 33, 2, 3), [4, 7, 33]);
    const gamma = tf.tensor(randomArray(33, 3), [33]);
    const beta = tf.tensor(randomArray(33, 4), [33]);
    compare((a, g, b) => layerNorm(a, g, b), [x, gamma, beta], 2e-5);
    tf.dispose([x, gamma, beta]);
  });

  it('crossEntropy: loss and gradient with ignored targets and ±1e4 logits', () => {
    const logits = tf.tensor(randomArray(6 * 37, 5, 8), [2, 3, 37]);
    const targets = tf.tensor([1, 36, IGNORE_INDEX, 0, 17, 5], [2, 3], 'int32');
    compare((l) => crossEntropy(l, targets), [logits], 1e-5);
    const big = tf.tensor(
      Float32Array.from({ length: 2 * 9 }, (_, i) => (i % 2 ? 1e4 : -1e4)),
      [2, 9],
    );
    const bt = tf.tensor([1, 2], [2], 'int32');
    // Exact reference: the logits of +1e4 share the probability, 4 in row 0 (odd i), 5 in row 1 (i = 9, 11, …);
    // plain float32 is off by ~5e-5 here: it rounds logit − log-sum-exp at magnitude 1e4.
    const gBig = tf
      .grad((l: Tensor) => crossEntropy(l, bt))(big)
      .dataSync();
    const want = Array.from({ length: 18 }, (_, i) => ((i % 2 ? (i < 9 ? 1 / 4 : 1 / 5) : 0) - (i === 1 || i === 9 + 2 ? 1 : 0)) / 2);
    expect(maxRelDiff(gBig, want)).toBeLessThan(1e-7);
    // Both targets are among the top logits: loss = mean(log 4, log 5).
    expect(Math.abs(crossEntropy(big, bt).dataSync()[0]! - (Math.log(4) + Math.log(5)) / 2)).toBeLessThan(1e-3);
    const none = tf.tensor([IGNORE_INDEX, IGNORE_INDEX], [2], 'int32');
    const z = crossEntropy(big, none);
    expect(z.dataSync()[0]).toBe(0);
    tf.dispose([logits, targets, big, bt, none, z]);
  });

  it('tf.softmax and its gradient, rank 4 and rank 1', () => {
    const x = tf.tensor(randomArray(2 * 3 * 4 * 65, 6, 5), [2, 3, 4, 65]);
    compare((a) => tf.softmax(a), [x], 1e-5);
    const y = tf.tensor(randomArray(7, 7), [7]);
    compare((a) => tf.softmax(a), [y], 1e-6);
    tf.dispose([x, y]);
  });

  it('causal scaled softmax (attention core) equals scale·x + causal mask → softmax, gradient too', () => {
    const [B, H, Tq, Tk] = [2, 3, 5, 7]; // 2 cached keys: query q sees keys ≤ q + 2
    const scale = 0.125;
    const x = tf.tensor(randomArray(B * H * Tq * Tk, 8, 6), [B, H, Tq, Tk]);
    const mask = new Float32Array(Tq * Tk);
    for (let q = 0; q < Tq; q++) for (let k = q + Tk - Tq + 1; k < Tk; k++) mask[q * Tk + k] = MASK_VALUE;
    const m = tf.tensor(mask, [Tq, Tk]);
    const fused = tf.engine().runKernel(FUSED_KERNELS.softmax, { x }, { scale, causal: true }) as Tensor;
    const ref = withOriginal(() => tf.softmax(tf.add(tf.mul(x, scale), m)));
    expect(maxRelDiff(fused.dataSync(), ref.dataSync())).toBeLessThan(1e-6);
    const dy = tf.tensor(randomArray(x.size, 9), x.shape);
    const dx = tf.engine().runKernel(FUSED_KERNELS.softmaxGrad, { y: fused, dy }, { scale }) as Tensor;
    const refDx = withOriginal(() => tf.grad((a: Tensor) => tf.sum(tf.mul(tf.softmax(tf.add(tf.mul(a, scale), m)), dy)))(x));
    expect(maxRelDiff(dx.dataSync(), refDx.dataSync())).toBeLessThan(1e-6);
    tf.dispose([x, m, fused, ref, dy, dx, refDx]);
  });

  it('tf.sum over contiguous axes equals the original kernel; other cases fall back', () => {
    const x = tf.tensor(randomArray(3 * 4 * 5 * 33, 11, 2), [3, 4, 5, 33]);
    const cases: [number | number[] | undefined, boolean][] = [
      [0, false],
      [[0, 1], false],
      [[1, 2], true],
      [-1, false],
      [[2, 3], true],
      [undefined, false],
      [[0, 2], false], // not contiguous: original kernel
      [[3, 1, 2], false],
    ];
    for (const [axis, keepDims] of cases) {
      const got = tf.sum(x, axis, keepDims);
      const ref = withOriginal(() => tf.sum(x, axis, keepDims));
      expect({ axis, shape: got.shape }).toEqual({ axis, shape: ref.shape });
      const err = maxRelDiff(got.dataSync(), ref.dataSync());
      if (err > 1e-5) throw new Error(`sum axis=${JSON.stringify(axis)}: differs by ${err}`);
      tf.dispose([got, ref]);
    }
    const wide = tf.tensor(randomArray(300 * 257, 12), [300, 257]); // one output row split over threads
    const w1 = tf.sum(wide, 0);
    const w2 = withOriginal(() => tf.sum(wide, 0));
    expect(maxRelDiff(w1.dataSync(), w2.dataSync())).toBeLessThan(1e-5);
    const i = tf.tensor([1, 2, 3, 4], [2, 2], 'int32');
    const si = tf.sum(i, 0);
    expect(si.dtype).toBe('int32');
    expect(Array.from(si.dataSync())).toEqual([4, 6]);
    tf.dispose([x, wide, w1, w2, i, si]);
  });

  it('fused ops leak no tensors over repeated forward/backward passes', () => {
    const x = tf.tensor(randomArray(4 * 16, 10), [4, 16]);
    const g = tf.ones([16]);
    const b = tf.zeros([16]);
    const t = tf.tensor([1, 2, 3, 4], [4], 'int32');
    const step = () =>
      tf.tidy(() => {
        const f = (a: Tensor) => crossEntropy(tf.softmax(gelu(layerNorm(a, g, b))), t);
        return tf.grad(f)(x).dataSync();
      });
    step();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 5; i++) step();
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, g, b, t]);
  });
});
