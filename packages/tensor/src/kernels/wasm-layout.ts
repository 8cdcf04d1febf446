// Layout kernels for plain wasm, in JS over the wasm heap: Transpose of the last two axes, strided Slice,
// and Sum over one contiguous block of axes. tfjs-backend-wasm 4.22 transposes a large matrix at ~16 ns per
// element (strided writes), copies a strided slice element by element, and sums a leading axis by first
// transposing it; these do the same work in one cache-friendly pass.
import { contiguousReduction, sizeOf } from '@gptlab/common';
import { tf } from '../tf';
import { heapF32, offsetOf, transposeInto, type WasmBackendLike } from './wasm-heap';

/** Transpose {x} attrs {perm}: JS for float32 swaps of the last two axes of large matrices, else the original. */
export function makeWasmTranspose(original: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    const perm = ((args.attrs ?? {}) as { perm?: number[] }).perm ?? [];
    const r = x.shape.length;
    const swapsLast2 =
      r >= 2 && perm.length === r && perm[r - 1] === r - 2 && perm[r - 2] === r - 1 && perm.slice(0, -2).every((p, i) => p === i);
    const rows = x.shape[r - 2] ?? 0;
    const cols = x.shape[r - 1] ?? 0;
    // Small matrices: the backend's kernel is as fast (its cost is per call, not per element).
    if (!swapsLast2 || x.dtype !== 'float32' || rows * cols < 4096) return original(args);
    const backend = args.backend as WasmBackendLike;
    const outShape = perm.map((p) => x.shape[p]!);
    const out = backend.makeOutput(outShape, 'float32');
    if (sizeOf(outShape) > 0)
      transposeInto(heapF32(backend), offsetOf(backend, x) >>> 2, offsetOf(backend, out) >>> 2, sizeOf(x.shape.slice(0, -2)), rows, cols);
    return out;
  };
}

/** begin/size as tfjs's slice_util.parseSliceParams resolves them (size −1: to the end), or null; throws when they overflow the shape. */
export function sliceParams(shape: number[], begin: unknown, size: unknown): { begin: number[]; size: number[] } | null {
  const rank = shape.length;
  let b: number[];
  if (typeof begin === 'number') b = [begin, ...new Array<number>(rank - 1).fill(0)];
  else if (Array.isArray(begin)) b = [...(begin as number[]), ...new Array<number>(Math.max(0, rank - begin.length)).fill(0)];
  else return null;
  let z: number[];
  if (size === undefined || size === null) z = shape.map((d, i) => d - b[i]!);
  else if (typeof size === 'number') z = [size, ...new Array<number>(rank - 1).fill(-1)];
  else if (Array.isArray(size)) z = [...(size as number[]), ...new Array<number>(Math.max(0, rank - size.length)).fill(-1)];
  else return null;
  z = z.map((d, i) => (d === -1 ? shape[i]! - b[i]! : d));
  if (b.length !== rank || z.length !== rank) return null;
  for (let i = 0; i < rank; i++) {
    if (b[i]! < 0 || z[i]! < 0) return null;
    // tfjs-backend-wasm's own kernel does not check this and reads past the tensor.
    if (b[i]! + z[i]! > shape[i]!)
      throw new Error(`slice: begin[${i}] + size[${i}] (${b[i]! + z[i]!}) would overflow input.shape[${i}] (${shape[i]})`);
  }
  return { begin: b, size: z };
}

/**
 * Slice {x} attrs {begin, size}: a copy by contiguous runs (the q/k/v slices of attention's [B, 3H, T, D]
 * tensor took ~6 ms each in the backend's kernel). float32/int32; a slice that is one contiguous run, other
 * dtypes and invalid parameters go to the original kernel (which shares memory or reports the error).
 */
export function makeWasmSlice(original: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    const attrs = (args.attrs ?? {}) as { begin?: unknown; size?: unknown };
    const rank = x.shape.length;
    const p = rank === 0 || (x.dtype !== 'float32' && x.dtype !== 'int32') ? null : sliceParams(x.shape, attrs.begin, attrs.size);
    if (!p) return original(args);
    // Innermost axes copied whole form one contiguous run.
    let inner = rank - 1;
    let run = p.size[inner]!;
    while (inner > 0 && p.size[inner]! === x.shape[inner]! && p.begin[inner] === 0) {
      inner--;
      run *= p.size[inner]!;
    }
    const total = sizeOf(p.size);
    if (total === 0 || run === total) return original(args);
    const backend = args.backend as WasmBackendLike;
    const out = backend.makeOutput(p.size, x.dtype);
    const src = backend.typedArrayFromHeap(x) as Float32Array | Int32Array;
    const dst = backend.typedArrayFromHeap(out) as Float32Array | Int32Array;
    const strides = new Array<number>(rank);
    strides[rank - 1] = 1;
    for (let i = rank - 2; i >= 0; i--) strides[i] = strides[i + 1]! * x.shape[i + 1]!;
    const idx = new Array<number>(inner).fill(0); // position over the outer axes [0, inner)
    let base = 0;
    for (let i = 0; i <= inner; i++) base += p.begin[i]! * strides[i]!;
    for (let o = 0; o < total; o += run) {
      let off = base;
      for (let i = 0; i < inner; i++) off += idx[i]! * strides[i]!;
      dst.set(src.subarray(off, off + run), o);
      for (let i = inner - 1; i >= 0; i--) {
        if (++idx[i]! < p.size[i]!) break;
        idx[i] = 0;
      }
    }
    return out;
  };
}

/**
 * Sum {x} attrs {axis, keepDims}: float32 with the reduced axes one contiguous block (x viewed as [A, R, B] →
 * [A, B]): bias gradients (leading axes) and row sums (last axis). Accumulates in float64, a row of B at a
 * time, so reads stay sequential. Other cases: the original kernel.
 */
export function makeWasmSum(original: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    const attrs = (args.attrs ?? {}) as { axis?: number | number[]; keepDims?: boolean };
    const rank = x.shape.length;
    if (x.dtype !== 'float32' || rank === 0) return original(args);
    const plan = contiguousReduction(x.shape, attrs.axis, attrs.keepDims);
    if (!plan) return original(args);
    const { outer: A, reduced: R, inner: B, outShape } = plan;
    const backend = args.backend as WasmBackendLike;
    const out = backend.makeOutput(outShape, 'float32');
    if (A * B === 0) return out;
    const o = backend.typedArrayFromHeap(out) as Float32Array;
    const v = backend.typedArrayFromHeap(x) as Float32Array;
    if (B === 1) {
      for (let a = 0; a < A; a++) {
        let s = 0;
        const base = a * R;
        for (let r = 0; r < R; r++) s += v[base + r]!;
        o[a] = s;
      }
    } else {
      const acc = new Float64Array(B);
      for (let a = 0; a < A; a++) {
        acc.fill(0);
        const base = a * R * B;
        for (let r = 0; r < R; r++) {
          const row = base + r * B;
          for (let j = 0; j < B; j++) acc[j] += v[row + j]!;
        }
        for (let j = 0; j < B; j++) o[a * B + j] = acc[j]!;
      }
    }
    return out;
  };
}

/**
 * Identity (tf.clone, and the engine's copies of tensors saved for backprop): shares the memory with a
 * reference count, as tfjs-backend-cpu does and tfjs-wasm's own Reshape does; tfjs-wasm's Identity copies
 * every byte (~12% of a native-kernel training step). Tensors are immutable, so sharing is safe.
 */
export function makeWasmIdentity(original: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    const backend = args.backend as WasmBackendLike & { incRef?(dataId: object): void };
    if (x.dtype === 'string' || typeof backend.incRef !== 'function') return original(args);
    backend.incRef(x.dataId);
    return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
  };
}

/**
 * GatherV2 {x, indices} attrs {axis, batchDims}: rows of a float32/int32 table by int32 indices along axis 0
 * (embedding lookups) as contiguous row copies; indices outside the table throw. Other cases: the original.
 */
export function makeWasmGather(original: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const { x, indices } = args.inputs as { x: tf.TensorInfo; indices: tf.TensorInfo };
    const attrs = (args.attrs ?? {}) as { axis?: number; batchDims?: number };
    const axis = attrs.axis ?? 0;
    if (
      (axis !== 0 && axis !== -x.shape.length) ||
      (attrs.batchDims ?? 0) !== 0 ||
      x.shape.length === 0 ||
      indices.dtype !== 'int32' ||
      (x.dtype !== 'float32' && x.dtype !== 'int32')
    ) {
      return original(args);
    }
    const backend = args.backend as WasmBackendLike;
    const rows = x.shape[0]!;
    const width = sizeOf(x.shape.slice(1));
    const outShape = [...indices.shape, ...x.shape.slice(1)];
    const out = backend.makeOutput(outShape, x.dtype);
    const n = sizeOf(indices.shape);
    if (n * width === 0) return out;
    const src = backend.typedArrayFromHeap(x) as Float32Array | Int32Array;
    const dst = backend.typedArrayFromHeap(out) as Float32Array | Int32Array;
    const idx = backend.typedArrayFromHeap(indices) as Int32Array;
    for (let i = 0; i < n; i++) {
      const r = idx[i]!;
      if (r < 0 || r >= rows) throw new Error(`gather: index ${r} at position ${i} is outside [0, ${rows})`);
      dst.set(src.subarray(r * width, (r + 1) * width), i * width);
    }
    return out;
  };
}
