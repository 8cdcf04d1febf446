// @gptlab/tensor's own kernels for plain wasm (kernels/wasm-*.ts): BatchMatMul on XNNPACK for every transpose
// and batch layout, Transpose, Slice, Sum, and the fused cross-entropy's extreme cases, against float64
// references. They are what runs when the native addon is absent; with it built, its kernels take over, so
// this file checks them where they are active (the package's test script runs it with GPTLAB_NATIVE=0).
import { matMulShapes, sizeOf } from '@gptlab/common';
import { matMulFloat64, maxAbsDiff, randomFloat32Array as randomArray } from '@gptlab/common/testing';
import { tf, backendInfo, initBackend } from '../src';
import { wasmFastKernelsActive } from '../src/kernels/wasm-kernels';
import { chooseSwapped } from '../src/kernels/wasm-batch-matmul';
import { crossEntropy } from '../src/ops/cross-entropy';

let active = false;
beforeAll(async () => {
  await initBackend();
  active = tf.getBackend() === 'wasm' && wasmFastKernelsActive() && !backendInfo()!.native.active;
});

/** Runs `fn` only where the plain-wasm kernels are the active ones; elsewhere says why it is skipped. */
function onPlainWasm(name: string, fn: () => void): void {
  test(name, () => {
    if (!active) {
      console.info(
        `skipped "${name}": backend ${tf.getBackend()}, plain-wasm kernels ${wasmFastKernelsActive() ? 'registered' : 'off'}, native ${backendInfo()?.native.active ? 'on' : 'off'}`,
      );
      return;
    }
    fn();
  });
}

/** For the kernels native does not replace (Identity, GatherV2, Transpose): wherever the wasm kernels are registered. */
function onWasm(name: string, fn: () => void): void {
  test(name, () => {
    if (tf.getBackend() !== 'wasm' || !wasmFastKernelsActive()) {
      console.info(`skipped "${name}": backend ${tf.getBackend()}`);
      return;
    }
    fn();
  });
}

const storedShape = (s: number[], t: boolean): number[] => (t ? [...s.slice(0, -2), s[s.length - 1]!, s[s.length - 2]!] : s);

describe('wasm BatchMatMul (XNNPACK per matrix)', () => {
  // [a logical shape, b logical shape]: 2-D, batched 3-D/4-D, broadcast batches, one row (generation), empty.
  const cases: [number[], number[]][] = [
    [
      [7, 5],
      [5, 9],
    ],
    [
      [3, 7, 5],
      [3, 5, 9],
    ],
    [
      [2, 3, 17, 8],
      [2, 3, 8, 17],
    ],
    [
      [1, 7, 5],
      [4, 5, 9],
    ],
    [
      [4, 7, 5],
      [5, 9],
    ],
    [
      [1, 96],
      [96, 700],
    ],
    [
      [33, 64],
      [64, 40],
    ],
    [
      [0, 5],
      [5, 3],
    ],
    [
      [3, 0],
      [0, 4],
    ],
  ];
  for (const tA of [false, true]) {
    for (const tB of [false, true]) {
      onPlainWasm(`equals a float64 product for every layout (transposeA ${tA}, transposeB ${tB})`, () => {
        for (const [al, bl] of cases) {
          const as = storedShape(al, tA);
          const bs = storedShape(bl, tB);
          const s = matMulShapes(as, bs, tA, tB)!;
          expect(s).not.toBeNull();
          const av = randomArray(sizeOf(as), 11 + as.length);
          const bv = randomArray(sizeOf(bs), 23 + bs.length);
          const got = tf.tidy(() => tf.matMul(tf.tensor(av, as, 'float32'), tf.tensor(bv, bs, 'float32'), tA, tB).dataSync());
          const want = matMulFloat64(av, bv, { ...s, transposeA: tA, transposeB: tB });
          expect(got.length).toBe(want.length);
          expect(maxAbsDiff(got, want)).toBeLessThan(1e-4 * Math.max(1, Math.sqrt(s.k)));
        }
      });
    }
  }

  test('chooses outᵀ = Bᵀ·Aᵀ for one row against a large transposed matrix (no transpose of the matrix)', () => {
    const s = matMulShapes([1, 768], [50257, 768], false, true)!;
    expect(chooseSwapped(s, false, true)).toBe(true);
    // a square product with transposed B keeps the direct form
    expect(chooseSwapped(matMulShapes([512, 256], [256, 256], false, true)!, false, true)).toBe(false);
  });

  onPlainWasm('gradients through transposed and batched products equal the cpu backend', () => {
    const qv = randomArray(2 * 3 * 8 * 4, 5);
    const kv = randomArray(2 * 3 * 8 * 4, 6);
    const f = (q: tf.Tensor, k: tf.Tensor) => tf.sum(tf.square(tf.matMul(tf.softmax(tf.matMul(q, k, false, true)), k)));
    const grad = () =>
      tf
        .grads(f)([tf.tensor(qv, [2, 3, 8, 4], 'float32'), tf.tensor(kv, [2, 3, 8, 4], 'float32')])
        .map((g) => g.dataSync());
    const got = tf.tidy(grad);
    tf.setBackend('cpu');
    const want = tf.tidy(grad);
    tf.setBackend('wasm');
    expect(maxAbsDiff(got[0]!, want[0]!)).toBeLessThan(1e-4);
    expect(maxAbsDiff(got[1]!, want[1]!)).toBeLessThan(1e-4);
  });

  onPlainWasm('leaves no tensors behind', () => {
    const a = tf.randomNormal([3, 16, 8]);
    const b = tf.randomNormal([3, 16, 8]);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 5; i++) tf.tidy(() => tf.matMul(a, b, true, false).dataSync());
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([a, b]);
  });
});

describe('wasm layout kernels', () => {
  onPlainWasm('Transpose of the last two axes (large matrices, batched) and other perms', () => {
    for (const shape of [
      [130, 70],
      [3, 90, 65],
      [2, 2, 64, 80],
    ]) {
      const v = randomArray(sizeOf(shape), 3);
      const r = shape.length;
      const perm = [...Array(r).keys()];
      [perm[r - 1], perm[r - 2]] = [perm[r - 2]!, perm[r - 1]!];
      const got = tf.tidy(() => tf.transpose(tf.tensor(v, shape, 'float32'), perm).dataSync());
      const R = shape[r - 2]!;
      const C = shape[r - 1]!;
      const want = new Float64Array(v.length);
      for (let z = 0; z < v.length / (R * C); z++)
        for (let i = 0; i < R; i++) for (let j = 0; j < C; j++) want[z * R * C + j * R + i] = v[z * R * C + i * C + j]!;
      expect(maxAbsDiff(got, want)).toBeLessThan(1e-6);
    }
    // a perm that is not a last-two swap goes to the backend's kernel
    const x = tf.tensor(randomArray(2 * 3 * 4, 9), [2, 3, 4], 'float32');
    expect(tf.transpose(x, [1, 0, 2]).shape).toEqual([3, 2, 4]);
    expect(Array.from(tf.transpose(x, [1, 0, 2]).dataSync()).slice(0, 4)).toEqual(Array.from(x.dataSync()).slice(0, 4));
  });

  onPlainWasm('Slice: strided runs for float32 and int32, and contiguous slices', () => {
    const shape = [2, 6, 5, 4];
    const v = Array.from({ length: sizeOf(shape) }, (_, i) => i);
    for (const dtype of ['float32', 'int32'] as const) {
      const x = tf.tensor(v, shape, dtype);
      const got = Array.from(tf.slice(x, [1, 2, 1, 1], [1, 3, 3, 2]).dataSync());
      const want: number[] = [];
      for (let b = 2; b < 5; b++) for (let c = 1; c < 4; c++) for (let d = 1; d < 3; d++) want.push(((1 * 6 + b) * 5 + c) * 4 + d);
      expect(got).toEqual(want);
      expect(Array.from(tf.slice(x, [1, 0, 0, 0], [1, 6, 5, 4]).dataSync())).toEqual(v.slice(120));
      x.dispose();
    }
  });

  onPlainWasm('Slice equals the cpu backend for strided, contiguous, negative-size and out-of-range parameters, gradient included', () => {
    const shape = [3, 6, 5, 7];
    const xv = randomArray(sizeOf(shape), 13);
    const iv = Int32Array.from({ length: sizeOf(shape) }, (_, i) => i);
    const cases: [number[] | number, number[] | number | undefined][] = [
      [
        [0, 2, 0, 0],
        [3, 2, 5, 7],
      ], // q/k/v-style: one head block of every batch
      [
        [1, 1, 1, 1],
        [2, 4, 3, 5],
      ],
      [
        [0, 0, 0, 3],
        [-1, -1, -1, 2],
      ],
      [
        [0, 3],
        [3, 3],
      ],
      [1, 2],
    ];
    const run = () =>
      cases.map(([begin, size]) => {
        try {
          return tf.tidy(() =>
            [tf.slice(tf.tensor(xv, shape), begin, size), tf.slice(tf.tensor(iv, shape, 'int32'), begin, size)].map((t) => [
              t.shape,
              Array.from(t.dataSync()),
            ]),
          );
        } catch (e) {
          return (e as Error).message;
        }
      });
    const grad = () =>
      tf.tidy(() =>
        Array.from(
          tf
            .grads((a: tf.Tensor) => tf.sum(tf.square(tf.slice(a, [0, 2, 0, 0], [3, 2, 5, 7]))))([tf.tensor(xv, shape)])[0]!
            .dataSync(),
        ),
      );
    const got = [run(), grad()];
    tf.setBackend('cpu');
    const want = [run(), grad()];
    tf.setBackend('wasm');
    expect(got).toEqual(want);
    // Out of range: an error (as on cpu), where the backend's own kernel read past the tensor.
    expect(() => tf.slice(tf.tensor(xv, shape), [0, 5, 0, 0], [1, 3, 1, 1])).toThrow(/would overflow input.shape\[1\] \(6\)/);
  });

  onPlainWasm('Sum over one contiguous block of axes, keepDims, and the fallback for other axes', () => {
    const shape = [3, 4, 5];
    const v = randomArray(60, 4);
    const x = tf.tensor(v, shape, 'float32');
    const at = (i: number, j: number, k: number) => v[(i * 4 + j) * 5 + k]!;
    const sum0 = tf.sum(x, 0).dataSync();
    const sum01 = tf.sum(x, [0, 1], true);
    const sum2 = tf.sum(x, -1).dataSync();
    const sum02 = tf.sum(x, [0, 2]).dataSync();
    for (let j = 0; j < 4; j++) {
      for (let k = 0; k < 5; k++) expect(sum0[j * 5 + k]).toBeCloseTo(at(0, j, k) + at(1, j, k) + at(2, j, k), 5);
    }
    expect(sum01.shape).toEqual([1, 1, 5]);
    for (let k = 0; k < 5; k++) {
      let s = 0;
      for (let i = 0; i < 3; i++) for (let j = 0; j < 4; j++) s += at(i, j, k);
      expect(sum01.dataSync()[k]).toBeCloseTo(s, 5);
    }
    for (let i = 0; i < 3; i++)
      for (let j = 0; j < 4; j++)
        expect(sum2[i * 4 + j]).toBeCloseTo(
          [0, 1, 2, 3, 4].reduce((s, k) => s + at(i, j, k), 0),
          5,
        );
    for (let j = 0; j < 4; j++) {
      let s = 0;
      for (let i = 0; i < 3; i++) for (let k = 0; k < 5; k++) s += at(i, j, k);
      expect(sum02[j]).toBeCloseTo(s, 5);
    }
    tf.dispose([x, sum01]);
  });
});

describe('wasm Identity and GatherV2', () => {
  onWasm('clone shares memory (no copy) and outlives its source; saved tensors stay correct through backprop', () => {
    const x = tf.tensor([1, 2, 3, 4], [2, 2]);
    const before = tf.memory().numDataBuffers;
    const c = tf.clone(x);
    expect(tf.memory().numDataBuffers).toBe(before); // shared: no new buffer
    x.dispose();
    expect(Array.from(c.dataSync())).toEqual([1, 2, 3, 4]);
    c.dispose();
    const w = tf.tensor(randomArray(12, 2), [3, 4]);
    const g = tf.grads((a: tf.Tensor) => tf.sum(tf.mul(tf.square(a), tf.clone(a))))([w])[0]!;
    const wv = w.dataSync();
    g.dataSync().forEach((v, i) => expect(v).toBeCloseTo(3 * wv[i]! * wv[i]!, 5));
    tf.dispose([w, g]);
  });

  onWasm('gathers rows along axis 0 like the cpu backend, and rejects indices outside the table', () => {
    const table = randomArray(10 * 3, 8);
    const ids = [
      [3, 0, 9],
      [9, 3, 3],
    ];
    const run = () => tf.tidy(() => Array.from(tf.gather(tf.tensor(table, [10, 3]), tf.tensor2d(ids, [2, 3], 'int32')).dataSync()));
    const got = run();
    tf.setBackend('cpu');
    const want = run();
    tf.setBackend('wasm');
    expect(got).toEqual(want);
    const t = tf.tensor(table, [10, 3]);
    expect(() => tf.gather(t, tf.tensor1d([2, 10], 'int32'))).toThrow(/index 10 at position 1 is outside \[0, 10\)/);
    // another axis goes to the backend's kernel
    expect(tf.gather(t, tf.tensor1d([2, 0], 'int32'), 1).shape).toEqual([10, 2]);
    t.dispose();
  });
});

describe('wasm fused cross-entropy', () => {
  onPlainWasm('stays exact when the target is far below the row maximum, ignores rows, rejects bad targets', () => {
    const logits = tf.tensor2d(
      [
        [1e4, 0, -1e4],
        [0.5, 0.25, -1],
        [3, 2, 1],
      ],
      [3, 3],
    );
    const targets = tf.tensor1d([2, 0, -100], 'int32');
    const [loss, grad] = tf.tidy(() => {
      const { value, grads } = tf.valueAndGrads((l: tf.Tensor) => crossEntropy(l, targets))([logits]);
      return [value.dataSync()[0]!, grads[0]!.dataSync()];
    }) as [number, Float32Array];
    // row 0: log-sum-exp − logit = 1e4 − (−1e4) = 2e4; row 1: the float64 log-softmax; row 2 ignored.
    const lse1 = Math.log(Math.exp(0.5) + Math.exp(0.25) + Math.exp(-1));
    expect(loss).toBeCloseTo((2e4 + (lse1 - 0.5)) / 2, 2);
    expect(grad[0]).toBeCloseTo(0.5, 6); // p ≈ 1 on the max, over 2 counted rows
    expect(grad[2]).toBeCloseTo(-0.5, 6);
    expect(Array.from(grad.slice(6))).toEqual([0, 0, 0]);
    expect(() => crossEntropy(logits, tf.tensor1d([0, 3, 1], 'int32'))).toThrow(/target 3 at row 1/);
    tf.dispose([logits, targets]);
  });
});
