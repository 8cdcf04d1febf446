// The native BatchMatMul and _FusedMatMul registered into tfjs on the wasm and cpu backends, against a
// float64 reference and against the backend's own kernels: every transpose combination, odd sizes, batch
// shapes with broadcasting, gradients, dtype fallback, and no leaked tensors.
import { matMulFloat64, maxRelDiff, randomFloat32Array as randomArray } from '@gptlab/common/testing';
import { tf, type Tensor, type Tensor2D, type Tensor3D, type Tensor4D } from '../../src';
import { describeNative } from './harness';

describeNative('native matMul kernels', ({ backend, native, withOriginal }) => {
  let detail = '';
  beforeAll(() => {
    detail = native.register(tf, backend).detail;
  });

  it('registers and describes itself', () => {
    expect(native.isRegistered(tf, backend)).toBe(true);
    expect(detail).toMatch(/^(avx512|avx2\+fma|scalar), \d+ threads?$/);
    expect(tf.getBackend()).toBe(backend);
  });

  const combos: [boolean, boolean][] = [
    [false, false],
    [true, false],
    [false, true],
    [true, true],
  ];
  // [a batch shape, b batch shape, M, N, K]
  const cases: [number[], number[], number, number, number][] = [
    [[], [], 1, 1, 1],
    [[], [], 7, 33, 65],
    [[], [], 65, 1, 257],
    [[], [], 1, 257, 33],
    [[], [], 257, 65, 7],
    [[3], [3], 33, 7, 65],
    [[2, 3], [2, 3], 9, 17, 5],
    [[1], [4], 7, 33, 9], // broadcast A
    [[4], [], 33, 7, 9], // rank-3 · rank-2
    [[2, 2], [1, 1], 5, 6, 7],
  ];

  it.each(combos)('matMul transposeA=%s transposeB=%s: every shape equals float64 and the original kernel', (ta, tb) => {
    for (const [ba, bb, m, n, k] of cases) {
      const aShape = [...ba, ...(ta ? [k, m] : [m, k])];
      const bShape = [...bb, ...(tb ? [n, k] : [k, n])];
      const av = randomArray(
        aShape.reduce((x, y) => x * y, 1),
        3 + m,
      );
      const bv = randomArray(
        bShape.reduce((x, y) => x * y, 1),
        5 + n,
      );
      const a = tf.tensor(av, aShape);
      const b = tf.tensor(bv, bShape);
      const got = tf.matMul(a as never, b as never, ta, tb) as Tensor;
      const batch = Math.max(
        ba.reduce((x, y) => x * y, 1),
        bb.reduce((x, y) => x * y, 1),
      );
      const sa = ba.reduce((x, y) => x * y, 1) === 1 ? 0 : m * k;
      const sb = bb.reduce((x, y) => x * y, 1) === 1 ? 0 : k * n;
      const ref = matMulFloat64(av, bv, { batch, m, n, k, transposeA: ta, transposeB: tb, strideA: sa, strideB: sb });
      const label = `[${aShape}]·[${bShape}] ta=${ta} tb=${tb}`;
      const err = maxRelDiff(got.dataSync(), ref);
      if (err > 2e-5) throw new Error(`${label}: float64 error ${err}`);
      const orig = withOriginal(() => tf.matMul(a as never, b as never, ta, tb) as Tensor);
      expect({ label, shape: got.shape }).toEqual({ label, shape: orig.shape });
      const errOrig = maxRelDiff(got.dataSync(), orig.dataSync());
      if (errOrig > 2e-5) throw new Error(`${label}: differs from the ${backend} kernel by ${errOrig}`);
      tf.dispose([a, b, got, orig]);
    }
  });

  it('gradients through transposed and batched products equal the original kernels', () => {
    const a = tf.tensor(randomArray(2 * 3 * 7 * 5, 1), [2, 3, 7, 5]);
    const b = tf.tensor(randomArray(2 * 3 * 9 * 7, 2), [2, 3, 9, 7]);
    const f = (x: Tensor, y: Tensor) => tf.sum(tf.square(tf.matMul(x as Tensor4D, y as Tensor4D, true, true)));
    const [ga, gb] = tf.grads(f)([a, b]);
    const [ra, rb] = withOriginal(() => tf.grads(f)([a, b]));
    expect(maxRelDiff(ga!.dataSync(), ra!.dataSync())).toBeLessThan(1e-5);
    expect(maxRelDiff(gb!.dataSync(), rb!.dataSync())).toBeLessThan(1e-5);
    tf.dispose([a, b, ga!, gb!, ra!, rb!]);
  });

  it('fused matMul with bias and relu equals float64; other activations fall back to the original kernel', () => {
    const [m, n, k] = [33, 19, 17];
    const av = randomArray(m * k, 4);
    const bv = randomArray(n * k, 5);
    const biasV = randomArray(n, 6);
    const a = tf.tensor(av, [m, k]) as Tensor2D;
    const b = tf.tensor(bv, [n, k]) as Tensor2D;
    const bias = tf.tensor(biasV, [n]);
    const lin = matMulFloat64(av, bv, { m, n, k, transposeB: true }).map((v, i) => v + biasV[i % n]!);
    const acts = { linear: (x: number) => x, relu: (x: number) => Math.max(0, x), elu: (x: number) => (x > 0 ? x : Math.expm1(x)) };
    for (const [activation, f] of Object.entries(acts)) {
      const got = tf.fused.matMul({ a, b, transposeB: true, bias, activation: activation as 'linear' });
      // (tfjs-backend-wasm 4.22's own _FusedMatMul is wrong for this transposeB case, so the reference is float64.)
      if (activation !== 'elu' || backend === 'cpu') expect(maxRelDiff(got.dataSync(), lin.map(f))).toBeLessThan(1e-5);
      else {
        const ref = withOriginal(() => tf.fused.matMul({ a, b, transposeB: true, bias, activation: 'elu' }));
        expect(maxRelDiff(got.dataSync(), ref.dataSync())).toBe(0);
        ref.dispose();
      }
      got.dispose();
    }
    tf.dispose([a, b, bias]);
  });

  it('int32 products go to the original kernel (same result, or the same error)', () => {
    const a = tf.tensor2d([1, 2, 3, 4], [2, 2], 'int32');
    const b = tf.tensor2d([5, 6, 7, 8], [2, 2], 'int32');
    const attempt = () => {
      try {
        const c = tf.matMul(a, b);
        const v = Array.from(c.dataSync());
        c.dispose();
        return v;
      } catch (e) {
        return (e as Error).message;
      }
    };
    expect(attempt()).toEqual(withOriginal(attempt));
    tf.dispose([a, b]);
  });

  it('shape errors name the shapes', () => {
    const a = tf.zeros([2, 3]) as Tensor2D;
    const b = tf.zeros([4, 5]) as Tensor2D;
    expect(() => tf.matMul(a, b)).toThrow(/inner shapes \(3\) and \(4\)/);
    tf.dispose([a, b]);
  });

  it('does not leak tensors across repeated products', () => {
    const a = tf.randomNormal([4, 16, 8]);
    const b = tf.randomNormal([4, 16, 8]);
    const run = () => tf.tidy(() => tf.sum(tf.matMul(a as Tensor3D, b as Tensor3D, false, true)).dataSync());
    run();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 5; i++) run();
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([a, b]);
  });
});
