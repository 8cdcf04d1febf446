// BatchMatMul for plain wasm (no native kernels): every transpose and batch layout on XNNPACK.
//
// tfjs-backend-wasm 4.22 sends only untransposed single-matrix products to XNNPACK; a transposed operand or a
// batch (attention's [B, H, T, T] products) falls to a scalar loop at 2–3 GFLOP/s. This kernel runs each
// matrix of a batch through the backend's own XNNPACK product on aliases of the tensors' memory (no copies),
// and meets a transposed operand with one explicit transpose, choosing the cheaper of
//   out = A·B          (transpose A and/or B into scratch as needed), or
//   outᵀ = Bᵀ·Aᵀ       (the other operands' transposes, plus transposing the m×n result),
// so h·Wᵀ with one row h (generation's LM head) transposes h and the output, never W.
import { matMulShapes, type MatMulShapes } from '@gptlab/common';
import { tf } from '../tf';
import { heapF32, offsetOf, transposeInto, withScratch, xnnMatMul, type WasmBackendLike } from './wasm-heap';

/** Elements moved by explicit transposes (and XNNPACK's packing of the right operand) for each formulation. */
export function chooseSwapped(s: MatMulShapes, transposeA: boolean, transposeB: boolean): boolean {
  const nA = s.strideA === 0 ? 1 : s.batch;
  const nB = s.strideB === 0 ? 1 : s.batch;
  const mk = s.m * s.k;
  const kn = s.k * s.n;
  const PACK = 0.5; // packing the right operand costs about half a transpose per element
  const direct = (transposeA ? nA * mk : 0) + (transposeB ? nB * kn : 0) + PACK * s.batch * kn;
  const swapped = (transposeB ? 0 : nB * kn) + (transposeA ? 0 : nA * mk) + s.batch * s.m * s.n + PACK * s.batch * mk;
  return swapped < direct;
}

type Fallback = tf.KernelFunc;

export function makeWasmBatchMatMul(original: Fallback): tf.KernelFunc {
  return (args) => {
    const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
    const attrs = (args.attrs ?? {}) as { transposeA?: boolean; transposeB?: boolean };
    const tA = !!attrs.transposeA;
    const tB = !!attrs.transposeB;
    const backend = args.backend as WasmBackendLike;
    const s = a.dtype === 'float32' && b.dtype === 'float32' ? matMulShapes(a.shape, b.shape, tA, tB) : null;
    // The backend's own path is the same XNNPACK call for one untransposed matrix (and caches the packed
    // weights per tensor, which helps repeated products with one weight).
    if (!s || (s.batch === 1 && !tA && !tB && s.k > 0)) return original(args);
    const { batch, m, k, n } = s;
    const out = backend.makeOutput(s.outShape, 'float32');
    if (batch * m * n === 0) return out;
    if (k === 0) {
      // An empty sum (XNNPACK rejects a zero inner size).
      (backend.typedArrayFromHeap(out) as Float32Array).fill(0);
      return out;
    }
    const swapped = chooseSwapped(s, tA, tB);
    const nA = s.strideA === 0 ? 1 : batch;
    const nB = s.strideB === 0 ? 1 : batch;
    // Scratch: the operands that need an explicit transpose, and the transposed result when swapped.
    const needA = swapped ? !tA : tA;
    const needB = swapped ? !tB : tB;
    withScratch(backend, [needA ? nA * m * k : 0, needB ? nB * k * n : 0, swapped ? batch * m * n : 0], ([sa, sb, so]) => {
      const heap = heapF32(backend);
      let aOff = offsetOf(backend, a);
      let bOff = offsetOf(backend, b);
      const outOff = offsetOf(backend, out);
      // a is stored [m, k] (or [k, m] when tA); b is stored [k, n] (or [n, k] when tB).
      if (needA) {
        if (tA)
          transposeInto(heap, aOff >>> 2, sa! >>> 2, nA, k, m); // → [m, k]
        else transposeInto(heap, aOff >>> 2, sa! >>> 2, nA, m, k); // → [k, m]
        aOff = sa!;
      }
      if (needB) {
        if (tB)
          transposeInto(heap, bOff >>> 2, sb! >>> 2, nB, n, k); // → [k, n]
        else transposeInto(heap, bOff >>> 2, sb! >>> 2, nB, k, n); // → [n, k]
        bOff = sb!;
      }
      const sA = s.strideA * 4;
      const sB = s.strideB * 4;
      for (let i = 0; i < batch; i++) {
        if (!swapped) {
          xnnMatMul(backend, aOff + i * sA, bOff + i * sB, outOff + i * m * n * 4, m, k, n);
        } else {
          // outᵀ [n, m] = Bᵀ [n, k] · Aᵀ [k, m]
          xnnMatMul(backend, bOff + i * sB, aOff + i * sA, so! + i * m * n * 4, n, k, m);
        }
      }
      if (swapped) transposeInto(heapF32(backend), so! >>> 2, outOff >>> 2, batch, n, m);
    });
    return out;
  };
}
