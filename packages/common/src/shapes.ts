// Shape arithmetic for tensor kernels, as plain math on number arrays: @gptlab/tensor's wasm kernels and
// @gptlab/tensor-native's addon kernels plan the same products and reductions, and neither may depend on the
// other (tensor loads tensor-native optionally).

/** Number of elements of a tensor of this shape (1 for a scalar). */
export function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** A tensor viewed as rows over its last axis: [rows, cols] (a scalar is one row of one column). */
export function rowsAndCols(shape: readonly number[]): { rows: number; cols: number } {
  const cols = shape[shape.length - 1] ?? 1;
  return { rows: cols === 0 ? 0 : sizeOf(shape) / cols, cols };
}

/** numpy broadcasting of two shapes, or null when they cannot broadcast (same rule as tfjs). */
export function broadcastShapes(a: readonly number[], b: readonly number[]): number[] | null {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) return null;
    out.push(da === 1 ? db : da);
  }
  return out;
}

/** A batched product out[z] = op(a[z])·op(b[z]) as one strided loop over `batch` matrices. */
export interface MatMulShapes {
  batch: number;
  m: number;
  k: number;
  n: number;
  /** Elements between consecutive matrices of a / b (0 when one matrix is broadcast over the batch). */
  strideA: number;
  strideB: number;
  outShape: number[];
}

/**
 * Shapes of a batched (possibly transposed) product with numpy batch broadcasting, or null for what one
 * strided loop does not cover — mismatched inner sizes, batches that do not broadcast (the caller's
 * fallback reports those), and batches that are neither equal nor a single matrix.
 */
export function matMulShapes(
  aShape: readonly number[],
  bShape: readonly number[],
  transposeA: boolean,
  transposeB: boolean,
): MatMulShapes | null {
  const ar = aShape.length;
  const br = bShape.length;
  if (ar < 2 || br < 2) return null;
  const [m, k] = transposeA ? [aShape[ar - 1]!, aShape[ar - 2]!] : [aShape[ar - 2]!, aShape[ar - 1]!];
  const [kb, n] = transposeB ? [bShape[br - 1]!, bShape[br - 2]!] : [bShape[br - 2]!, bShape[br - 1]!];
  if (k !== kb) return null;
  const outer = broadcastShapes(aShape.slice(0, -2), bShape.slice(0, -2));
  if (!outer) return null;
  const batch = sizeOf(outer);
  const batchA = sizeOf(aShape.slice(0, -2));
  const batchB = sizeOf(bShape.slice(0, -2));
  if ((batchA !== batch && batchA !== 1) || (batchB !== batch && batchB !== 1)) return null;
  return { batch, m, k, n, strideA: batchA === 1 ? 0 : m * k, strideB: batchB === 1 ? 0 : k * n, outShape: [...outer, m, n] };
}

/** A sum over one contiguous block of axes: x viewed as [outer, reduced, inner] → [outer, inner]. */
export interface ContiguousReduction {
  outer: number;
  reduced: number;
  inner: number;
  outShape: number[];
}

/**
 * tfjs's Sum attrs (axis: one, several or all when undefined/null; negative counts from the end) as a
 * reduction over contiguous axes, or null when the axes are not one contiguous block (or out of range).
 * Covers bias gradients (leading axes) and row sums (last axis).
 */
export function contiguousReduction(
  shape: readonly number[],
  axis: number | number[] | null | undefined,
  keepDims = false,
): ContiguousReduction | null {
  const rank = shape.length;
  const raw = axis === undefined || axis === null ? [...Array(rank).keys()] : Array.isArray(axis) ? axis : [axis];
  const axes = [...new Set(raw.map((a) => (a < 0 ? a + rank : a)))].sort((a, b) => a - b);
  if (axes.length === 0 || axes.some((a) => a < 0 || a >= rank) || axes[axes.length - 1]! - axes[0]! !== axes.length - 1) return null;
  const first = axes[0]!;
  const last = axes[axes.length - 1]!;
  return {
    outer: sizeOf(shape.slice(0, first)),
    reduced: sizeOf(shape.slice(first, last + 1)),
    inner: sizeOf(shape.slice(last + 1)),
    outShape: keepDims ? shape.map((d, i) => (i >= first && i <= last ? 1 : d)) : shape.filter((_, i) => i < first || i > last),
  };
}
