// int8 weights for the decode step (csrc/decode_q8.cc): the quantiser (per column, per group of 64 k's, absmax /
// 127), the int8 matrix-vector kernel against a float64 product over the dequantised weights (both layouts, group
// and panel tails, every instruction set, 1 vs 2 threads to the bit), and the int8 step against the float32 step
// over those dequantised weights (tight) and over the original ones (the drift, bounded).
import { maxAbsDiff, randomFloat32Array } from '@gptlab/common/testing';
import {
  NativeDecodeModel,
  type DecodeModelShape,
  decodeWeightNames,
  nativeDecodeUnavailable,
  nativeAddon,
  nativeInfo,
  setThreads,
  setIsa,
} from '../src';

const unavailable = nativeDecodeUnavailable(); // null when the addon is built with the decode step
const suite = unavailable === null ? describe : describe.skip;
if (unavailable !== null) console.warn(`SKIPPED: int8 decode weights (${unavailable})`);

interface Q8Addon {
  decodeQ8Product(
    w: Float32Array,
    K: number,
    N: number,
    transposed: boolean,
    x: Float32Array,
  ): { y: Float32Array; dequantized: Float32Array };
}
const q8 = () => nativeAddon() as unknown as Q8Addon;

/** x·W in float64, W as [K, N]. */
function product64(x: Float32Array, W: Float32Array, K: number, N: number): number[] {
  const y = new Array<number>(N).fill(0);
  for (let k = 0; k < K; k++) for (let n = 0; n < N; n++) y[n]! += x[k]! * W[k * N + n]!;
  return y;
}

/** [K, N] of a transposed weight stored [N, K]. */
function transpose(w: Float32Array, rows: number, cols: number): Float32Array {
  const t = new Float32Array(w.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) t[c * rows + r] = w[r * cols + c]!;
  return t;
}

const shape: DecodeModelShape = {
  nLayer: 2,
  nHead: 4,
  nEmbd: 96, // 3C = 288 and 4C = 384: panel tails (64 columns); K = 96 and 384: a group tail (64 k's)
  vocabSize: 300,
  nPositions: 16,
  layerNormEpsilon: 1e-5,
  postLN: false,
};

/** [K, N] of each quantised matrix in decodeWeightNames order (wte as the head's [C, V]), or null. */
function matrixShape(name: string, s: DecodeModelShape): [number, number] | null {
  const C = s.nEmbd;
  if (name.endsWith('wte.weight')) return [C, s.vocabSize];
  if (name.endsWith('c_attn.weight')) return [C, 3 * C];
  if (name.endsWith('attn.c_proj.weight')) return [C, C];
  if (name.endsWith('c_fc.weight')) return [C, 4 * C];
  if (name.endsWith('mlp.c_proj.weight')) return [4 * C, C];
  return null;
}

/** Random weights (LayerNorm gains around 1, biases small) in decodeWeightNames order. */
function randomWeights(s: DecodeModelShape, seed: number): Float32Array[] {
  return decodeWeightNames(s).map((name, i) => {
    const m = matrixShape(name, s);
    const C = s.nEmbd;
    const bias = name.endsWith('c_attn.bias') ? 3 * C : name.endsWith('c_fc.bias') ? 4 * C : C;
    const n = m ? m[0] * m[1] : name.endsWith('wpe.weight') ? s.nPositions * C : bias;
    const w = randomFloat32Array(n, seed * 97 + i, m ? 0.2 : 0.05);
    if (/ln_\w+\.weight$/.test(name)) for (let j = 0; j < n; j++) w[j] = 1 + w[j]!;
    return w;
  });
}

/** The weights an int8 snapshot computes with: each matrix quantised and dequantised by the addon. */
function dequantizedWeights(s: DecodeModelShape, w: Float32Array[]): Float32Array[] {
  return decodeWeightNames(s).map((name, i) => {
    const m = matrixShape(name, s);
    if (!m) return w[i]!;
    const [K, N] = m;
    const head = name.endsWith('wte.weight');
    const dq = q8().decodeQ8Product(w[i]!, K, N, head, new Float32Array(K)).dequantized; // [K, N]
    return head ? transpose(dq, K, N) : dq; // wte back to [V, C]
  });
}

suite('int8 decode weights', () => {
  const threads = unavailable === null ? nativeInfo().threads : 1;
  afterAll(() => setThreads(threads));

  it('quantises per column and group of 64 k: |error| ≤ half a step, the group maximum kept', () => {
    const K = 150;
    const N = 70;
    const w = randomFloat32Array(K * N, 1, 1);
    w[5 * N + 3] = 40; // an outlier coarsens only its own group of column 3
    const dq = q8().decodeQ8Product(w, K, N, false, new Float32Array(K)).dequantized;
    // worst error in half steps of its group, and the worst relative change of a group's maximum
    let halfSteps = 0;
    let maxMoved = 0;
    for (let n = 0; n < N; n++)
      for (let g0 = 0; g0 < K; g0 += 64) {
        let amax = 0;
        let kept = 0;
        for (let k = g0; k < Math.min(K, g0 + 64); k++) amax = Math.max(amax, Math.abs(w[k * N + n]!));
        for (let k = g0; k < Math.min(K, g0 + 64); k++) {
          halfSteps = Math.max(halfSteps, Math.abs(dq[k * N + n]! - w[k * N + n]!) / (amax / 254));
          kept = Math.max(kept, Math.abs(dq[k * N + n]!));
        }
        maxMoved = Math.max(maxMoved, Math.abs(kept - amax) / amax);
      }
    expect(halfSteps).toBeLessThanOrEqual(1 + 1e-4);
    expect(halfSteps).toBeGreaterThan(0.9); // rounding, not truncation or a coarser step
    expect(maxMoved).toBeLessThan(1e-6);
    // the outlier's group steps by 40/127; the next group of that column by its own maximum (≤ ~4)
    expect(Math.abs(dq[6 * N + 3]! - w[6 * N + 3]!)).toBeLessThanOrEqual(40 / 254 + 1e-5);
    expect(Math.abs(dq[70 * N + 3]! - w[70 * N + 3]!)).toBeLessThan(0.02);
  });

  it('multiplies as a float64 product over the dequantised weights, both layouts, every ISA, 1 and 2 threads', () => {
    const isa = nativeInfo().isa;
    // 2·K·N ≥ 2e5 splits the columns over the pool; K = 200 ends on a part group, N on a part panel
    for (const [K, N, transposed] of [
      [200, 1000, false],
      [200, 1000, true],
      [64, 5, false],
      [7, 130, true],
    ] as const) {
      const w = randomFloat32Array(K * N, K + N, 0.5);
      const x = randomFloat32Array(K, 3, 1);
      setIsa(isa);
      setThreads(1);
      const one = q8().decodeQ8Product(w, K, N, transposed, x);
      const ref = product64(x, one.dequantized, K, N);
      const scale = Math.max(...ref.map(Math.abs));
      expect(maxAbsDiff(one.y, ref)).toBeLessThan(2e-6 * Math.max(1, scale));
      setThreads(2); // the quantiser's panels and the product's column slices split over the pool
      const two = q8().decodeQ8Product(w, K, N, transposed, x);
      expect(maxAbsDiff(two.y, one.y)).toBe(0);
      expect(maxAbsDiff(two.dequantized, one.dequantized)).toBe(0);
      for (const name of nativeInfo().isas) {
        setIsa(name);
        expect(maxAbsDiff(q8().decodeQ8Product(w, K, N, transposed, x).y, ref)).toBeLessThan(2e-6 * Math.max(1, scale));
      }
    }
    setIsa(isa);
    setThreads(threads);
  });

  for (const postLN of [false, true]) {
    it(`steps as the float32 step over the dequantised weights, and within the stated drift of the original (${postLN ? 'post' : 'pre'}-LN)`, () => {
      const s = { ...shape, postLN };
      const w = randomWeights(s, postLN ? 12 : 11);
      const int8 = new NativeDecodeModel(s, w, { weightDtype: 'int8' });
      const overDequantized = new NativeDecodeModel(s, dequantizedWeights(s, w));
      const exact = new NativeDecodeModel(s, w);
      expect(int8.weightDtype).toBe('int8');
      const [c8, cd, c32] = [int8.createCache(), overDequantized.createCache(), exact.createCache()];
      let worst = 0;
      let drift = 0;
      let range = 0;
      for (const token of [9, 299, 0, 42, 7, 7, 150, 3]) {
        const got = int8.step(c8, token);
        const ref = exact.step(c32, token);
        worst = Math.max(worst, maxAbsDiff(got, overDequantized.step(cd, token)));
        drift = Math.max(drift, maxAbsDiff(got, ref));
        range = Math.max(range, ...ref.map(Math.abs));
      }
      expect(worst).toBeLessThan(2e-5); // the same arithmetic up to float32 summation order (measured ~3e-6)
      // the stated bound: logits move by under 3% of their largest magnitude on this model (measured 1.2–1.6%)
      expect(drift).toBeLessThan(0.03 * range);
      expect(drift).toBeGreaterThan(1e-4); // the quantisation is really there
      for (const h of [c8, cd, c32, int8, overDequantized, exact]) h.free();
      expect(() => int8.createCache()).toThrow(/the model was freed/);
      expect(() => c8.length).toThrow(/the cache was freed/);
    });
  }

  it('refuses an unknown weight dtype with the accepted ones', () => {
    expect(() => new NativeDecodeModel(shape, randomWeights(shape, 1), { weightDtype: 'int4' as never })).toThrow(
      /weightDtype must be 'float32' or 'bfloat16' or 'int8', got 'int4'/,
    );
  });
});
