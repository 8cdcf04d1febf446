// The addon's SGEMM against a float64 reference: every instruction set this CPU runs, every transpose
// combination, odd sizes, batches with a broadcast operand, 1 and 2 threads. (The tfjs kernels built on the
// addon are tested where they are used, in @gptlab/tensor's test/native: they need its ops, and this package
// cannot load @gptlab/tensor, which loads it.)
import { matMulFloat64, maxRelDiff, randomFloat32Array as randomArray } from '@gptlab/common/testing';
import { addonStatus, nativeAddon, nativeInfo, setIsa, setThreads, sgemm } from '../src';

const addonBuilt = addonStatus().built;

it('reports whether the addon is built, and register() refuses clearly when it is not', () => {
  const s = addonStatus();
  expect(s.path).toMatch(/gptlab_native\.node$/);
  if (!s.built) expect(() => nativeAddon()).toThrow(/native addon not built/);
  else expect(nativeInfo().isas).toContain('scalar');
});

if (!addonBuilt) {
  // eslint-disable-next-line no-console
  console.warn(`SKIPPED: native addon not built (${addonStatus().error}); run \`pnpm --filter @gptlab/tensor-native build\``);
}
const suite = addonBuilt ? describe : describe.skip;

suite('sgemm', () => {
  const isas = addonBuilt ? nativeInfo().isas : [];
  const defaultIsa = addonBuilt ? nativeInfo().isa : '';
  afterAll(() => {
    setIsa(defaultIsa);
    setThreads(Number(process.env.GPTLAB_THREADS) || require('node:os').availableParallelism?.() || 2);
  });

  // [batch, M, N, K]
  const shapes: [number, number, number, number][] = [
    [1, 1, 1, 1],
    [1, 7, 33, 65],
    [1, 33, 7, 257],
    [1, 65, 257, 33],
    [1, 1, 65, 33],
    [1, 257, 1, 7],
    [3, 13, 29, 17],
    [2, 130, 70, 300],
    [1, 13, 300, 70], // short and wide: columns split over threads
    [3, 20, 200, 90],
    [1, 67, 45, 800], // K over two cache blocks (KC 256–384) with a tail: the blocks' partial sums accumulate
  ];
  const combos: [boolean, boolean][] = [
    [false, false],
    [true, false],
    [false, true],
    [true, true],
  ];

  it.each(isas.map((i) => [i]))('%s: all transposes, odd sizes and batch broadcasts match float64', (isa) => {
    expect(setIsa(isa)).toBe(true);
    for (const threads of [1, 2]) {
      setThreads(threads);
      for (const [batch, m, n, k] of shapes) {
        for (const [ta, tb] of combos) {
          for (const bcast of ['none', 'A', 'B']) {
            const sa = bcast === 'A' ? 0 : m * k;
            const sb = bcast === 'B' ? 0 : k * n;
            const a = randomArray((bcast === 'A' ? 1 : batch) * m * k, 1 + m + k);
            const b = randomArray((bcast === 'B' ? 1 : batch) * k * n, 7 + n);
            const c = sgemm(a, b, m, n, k, { transA: ta, transB: tb, batch, strideA: sa, strideB: sb });
            const ref = matMulFloat64(a, b, { batch, m, n, k, transposeA: ta, transposeB: tb, strideA: sa, strideB: sb });
            const err = maxRelDiff(c, ref);
            if (err > 1e-5) throw new Error(`${isa} T=${threads} [${batch},${m},${n},${k}] ta=${ta} tb=${tb} bcast=${bcast}: ${err}`);
          }
        }
      }
    }
  });

  it('accumulates into C when asked, and zero K gives zeros', () => {
    const a = randomArray(6 * 5, 3);
    const b = randomArray(5 * 4, 4);
    const c0 = randomArray(6 * 4, 5);
    const c = sgemm(a, b, 6, 4, 5, { c: Float32Array.from(c0), accumulate: true });
    const ref = matMulFloat64(a, b, { m: 6, n: 4, k: 5 }).map((v, i) => v + c0[i]!);
    expect(maxRelDiff(c, ref)).toBeLessThan(1e-6);
    const z = sgemm(new Float32Array(0), new Float32Array(0), 3, 2, 0, { c: Float32Array.from([1, 2, 3, 4, 5, 6]) });
    expect(Array.from(z)).toEqual([0, 0, 0, 0, 0, 0]);
  });

  it('a product whose packed B is split into column blocks (K·N over 4M) equals float64', () => {
    const [m, n, k] = [30, 600, 8192];
    const a = randomArray(m * k, 21);
    const b = randomArray(n * k, 22);
    setThreads(2);
    for (const tb of [false, true]) {
      const c = sgemm(a, b, m, n, k, { transB: tb });
      // float32 sums over K = 8192 (entries ~30): a wrong block would be off by O(1).
      expect(maxRelDiff(c, matMulFloat64(a, b, { m, n, k, transposeB: tb }))).toBeLessThan(1e-4);
    }
  });

  /** Every thread count, shape and B layout for `isa`; `check` gets a label for its failure message. */
  function sweepFewRows(
    isa: string,
    shapes: readonly (readonly [number, number])[],
    check: (n: number, k: number, tb: boolean, b: Float32Array, label: string) => void,
  ) {
    expect(setIsa(isa)).toBe(true);
    for (const threads of [1, 2]) {
      setThreads(threads);
      for (const [n, k] of shapes)
        for (const tb of [false, true]) check(n, k, tb, randomArray(k * n, 31 + n), `${isa} T=${threads} n=${n} k=${k} tb=${tb}`);
    }
  }
  /** Row i of c (n wide) is, bit for bit, what `oneRow(i)` computes alone. */
  function expectRowsAsAlone(c: Float32Array, rows: number, n: number, oneRow: (i: number) => Float32Array, label: string) {
    for (let i = 0; i < rows; i++) {
      const row = oneRow(i);
      if (!c.subarray(i * n, (i + 1) * n).every((v, j) => Object.is(v, row[j]))) throw new Error(`${label} row ${i}`);
    }
  }

  it.each(isas.map((i) => [i]))(
    '%s: a product of 2–8 rows (batched decoding) gives each row the one-row product to the bit, and float64',
    (isa) =>
      sweepFewRows(
        isa,
        [
          [37, 70],
          [600, 131],
          [300, 8],
          [45, 600], // in cache, K over one block of 256: sums stored and reloaded between blocks
          // streamed (a slice over 256 KB at 1 and 2 threads): blocks of 16 k with a K tail, one-line strips,
          // 5–8 rows in a second group 8 lines behind, a column tail under one vector; transposed, 3 columns per
          // pass + 1
          [1156, 301],
          [1180, 131], // a one-vector strip and a scalar tail after the whole lines
          [1024, 131], // rows 4 KB apart: blocks of 4 k with a K % 4 tail
          [3072, 768], // GPT-2 small's MLP fc (12 KB rows), the shape the blocks were tuned on
        ],
        (n, k, tb, b, label) => {
          for (let m = 2; m <= 8; m++) {
            const a = randomArray(m * k, 40 + m);
            const c0 = randomArray(m * n, 50 + m);
            for (const accumulate of [false, true]) {
              const c = sgemm(a, b, m, n, k, { transB: tb, ...(accumulate && { c: Float32Array.from(c0), accumulate }) });
              const alone = (i: number) =>
                sgemm(a.subarray(i * k, (i + 1) * k), b, 1, n, k, {
                  transB: tb,
                  ...(accumulate && { c: c0.slice(i * n, (i + 1) * n), accumulate }),
                });
              expectRowsAsAlone(c, m, n, alone, `${label} m=${m} acc=${accumulate}`);
              const ref = matMulFloat64(a, b, { m, n, k, transposeB: tb }).map((v, i) => v + (accumulate ? c0[i]! : 0));
              // float32 rounding of a sum grows with K (the one-row product is as far off at K = 768: 1.1e-5)
              expect(maxRelDiff(c, ref)).toBeLessThan(k >= 768 ? 3e-5 : 1e-5);
            }
          }
        },
      ),
  );

  it.each(isas.map((i) => [i]))(
    '%s: one row per matrix against a shared B ([rows, 1, K] × [K, N]) gives each row the one-row product to the bit',
    (isa) =>
      sweepFewRows(
        isa,
        [
          [37, 70],
          [600, 131],
        ],
        (n, k, tb, b, label) => {
          for (const batch of [2, 3, 8, 9, 20]) {
            const a = randomArray(batch * k, 70 + batch);
            const c = sgemm(a, b, 1, n, k, { transB: tb, batch, strideA: k, strideB: 0 });
            expectRowsAsAlone(
              c,
              batch,
              n,
              (r) => sgemm(a.subarray(r * k, (r + 1) * k), b, 1, n, k, { transB: tb }),
              `${label} batch=${batch}`,
            );
            expect(maxRelDiff(c, matMulFloat64(a, b, { batch, m: 1, n, k, transposeB: tb, strideA: k, strideB: 0 }))).toBeLessThan(1e-5);
          }
        },
      ),
  );

  it('a large product split over threads equals the single-threaded one', () => {
    const [m, n, k] = [300, 260, 200];
    const a = randomArray(m * k, 11);
    const b = randomArray(k * n, 12);
    setThreads(1);
    const c1 = sgemm(a, b, m, n, k);
    setThreads(2);
    const c2 = sgemm(a, b, m, n, k);
    expect(maxRelDiff(c2, c1)).toBe(0);
    expect(maxRelDiff(c1, matMulFloat64(a, b, { m, n, k }))).toBeLessThan(1e-5);
  });

  it('rejects arrays too short for the shapes, naming the operand', () => {
    const addon = nativeAddon();
    expect(() => addon.gemm(new Float32Array(5), new Float32Array(6), new Float32Array(4), 1, 2, 2, 3, false, false, 6, 6, false)).toThrow(
      /A has 5 elements, needs 6/,
    );
    expect(() => addon.gemm(new Float32Array(6), new Float32Array(6), new Float32Array(3), 1, 2, 2, 3, false, false, 6, 6, false)).toThrow(
      /C has 3 elements/,
    );
    expect(() =>
      addon.gemm(
        new Float64Array(6) as unknown as Float32Array,
        new Float32Array(6),
        new Float32Array(4),
        1,
        2,
        2,
        3,
        false,
        false,
        6,
        6,
        false,
      ),
    ).toThrow(/A must be a Float32Array/);
    expect(setIsa('no-such-isa')).toBe(false);
  });
});
