import { broadcastShapes, contiguousReduction, matMulShapes, rowsAndCols, sizeOf } from '../src/index';
import { matMulFloat64, maxRelDiff, randomArray, randomFloat32Array, randomIds, xorshift32 } from '../src/testing';

describe('shape arithmetic', () => {
  it('sizes, rows and columns', () => {
    expect(sizeOf([])).toBe(1);
    expect(sizeOf([2, 0, 3])).toBe(0);
    expect(rowsAndCols([2, 3, 5])).toEqual({ rows: 6, cols: 5 });
    expect(rowsAndCols([4, 0])).toEqual({ rows: 0, cols: 0 });
    expect(rowsAndCols([])).toEqual({ rows: 1, cols: 1 });
  });

  it('broadcasts like numpy and refuses incompatible axes', () => {
    expect(broadcastShapes([2, 1, 3], [4, 1])).toEqual([2, 4, 3]);
    expect(broadcastShapes([], [5])).toEqual([5]);
    expect(broadcastShapes([0], [1])).toEqual([0]);
    expect(broadcastShapes([2, 3], [4, 3])).toBeNull();
  });

  it('plans batched products: strides, broadcast operands, and the layouts one loop cannot cover', () => {
    expect(matMulShapes([2, 3, 7, 5], [2, 3, 5, 9], false, false)).toEqual({
      batch: 6,
      m: 7,
      k: 5,
      n: 9,
      strideA: 35,
      strideB: 45,
      outShape: [2, 3, 7, 9],
    });
    expect(matMulShapes([1, 5, 7], [4, 9, 5], true, true)).toEqual({
      batch: 4,
      m: 7,
      k: 5,
      n: 9,
      strideA: 0,
      strideB: 45,
      outShape: [4, 7, 9],
    });
    expect(matMulShapes([4, 7, 5], [5, 9], false, false)).toMatchObject({ batch: 4, strideB: 0, outShape: [4, 7, 9] });
    expect(matMulShapes([2, 3], [4, 5], false, false)).toBeNull(); // inner sizes 3 ≠ 4
    expect(matMulShapes([2, 7, 5], [3, 5, 9], false, false)).toBeNull(); // batches do not broadcast
    expect(matMulShapes([2, 1, 7, 5], [1, 3, 5, 9], false, false)).toBeNull(); // broadcasts, but not as one strided loop
    expect(matMulShapes([5], [5, 9], false, false)).toBeNull();
  });

  it('reads Sum axes as one contiguous block, or refuses', () => {
    expect(contiguousReduction([3, 4, 5, 6], [1, 2])).toEqual({ outer: 3, reduced: 20, inner: 6, outShape: [3, 6] });
    expect(contiguousReduction([3, 4, 5, 6], -1, true)).toEqual({ outer: 60, reduced: 6, inner: 1, outShape: [3, 4, 5, 1] });
    expect(contiguousReduction([3, 4], undefined)).toEqual({ outer: 1, reduced: 12, inner: 1, outShape: [] });
    expect(contiguousReduction([3, 4, 5], [2, 1, 1])).toMatchObject({ outer: 3, reduced: 20, inner: 1 });
    expect(contiguousReduction([3, 4, 5], [0, 2])).toBeNull();
    expect(contiguousReduction([3, 4, 5], [3])).toBeNull();
    expect(contiguousReduction([3, 4, 5], [])).toBeNull();
  });
});

describe('testing references', () => {
  it('xorshift32 is the published 13/17/5 generator, and the random inputs are drawn from it', () => {
    const next = xorshift32(1);
    expect([next(), next(), next()]).toEqual([270369, 67634689, 2647435461]);
    const x = randomArray(4, 7, 2);
    const again = xorshift32(7);
    for (let i = 0; i < 4; i++) expect(x[i]).toBe(((again() / 4294967296) * 2 - 1) * 2);
    expect(Array.from(randomFloat32Array(4, 7, 2))).toEqual(Array.from(Float32Array.from(x)));
    expect(randomIds(50, 11, 3).every((id) => Number.isInteger(id) && id >= 0 && id < 11)).toBe(true);
  });

  it('matMulFloat64 follows the stored layouts: transposes, batch strides, broadcast operands', () => {
    // [[1, 2], [3, 4]] · [[5, 6], [7, 8]] = [[19, 22], [43, 50]]
    expect(Array.from(matMulFloat64([1, 2, 3, 4], [5, 6, 7, 8], { m: 2, n: 2, k: 2 }))).toEqual([19, 22, 43, 50]);
    expect(Array.from(matMulFloat64([1, 3, 2, 4], [5, 7, 6, 8], { m: 2, n: 2, k: 2, transposeA: true, transposeB: true }))).toEqual([
      19, 22, 43, 50,
    ]);
    const [m, n, k] = [3, 4, 5];
    const a = randomArray(m * k, 1);
    const b = randomArray(2 * k * n, 2);
    const batched = matMulFloat64(a, b, { m, n, k, batch: 2, strideA: 0 });
    const second = matMulFloat64(a, b.subarray(k * n), { m, n, k });
    expect(maxRelDiff(batched.subarray(m * n), second)).toBe(0);
  });
});
