// Direct access to tfjs-backend-wasm's heap for the kernels @gptlab/tensor adds on plain wasm: tensor memory
// offsets, scratch allocations, and calls into the backend's own XNNPACK product on sub-ranges of tensors.
import { tf } from '../tf';

/** The parts of tfjs-backend-wasm's BackendWasm these kernels use (4.x; checked at registration). */
export interface WasmBackendLike {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): tf.TypedArray;
  dataIdMap: { get(dataId: object): { id: number; memoryOffset: number } | undefined };
  wasm: WasmModuleLike;
}

export interface WasmModuleLike {
  HEAPU8: Uint8Array;
  _malloc(bytes: number): number;
  _free(ptr: number): void;
  cwrap(name: string, ret: string | null, args: string[]): (...args: unknown[]) => unknown;
  tfjs: { registerTensor(id: number, size: number, memoryOffset: number): void; disposeData(id: number): void };
}

export function isWasmBackendLike(b: unknown): b is WasmBackendLike {
  const x = b as Partial<WasmBackendLike> | null;
  return (
    !!x &&
    typeof x.makeOutput === 'function' &&
    typeof x.typedArrayFromHeap === 'function' &&
    !!x.dataIdMap &&
    !!x.wasm &&
    typeof x.wasm._malloc === 'function' &&
    typeof x.wasm.cwrap === 'function' &&
    !!x.wasm.tfjs &&
    typeof x.wasm.tfjs.registerTensor === 'function'
  );
}

/** Byte offset of a tensor's memory in the wasm heap. */
export function offsetOf(backend: WasmBackendLike, t: tf.TensorInfo): number {
  const d = backend.dataIdMap.get(t.dataId);
  if (!d) throw new Error('wasm kernel: tensor memory not found (disposed?)');
  return d.memoryOffset >>> 0;
}

/** A float32 view of the whole heap; take it after every allocation (growing the heap detaches old views). */
export function heapF32(backend: WasmBackendLike): Float32Array {
  const u8 = backend.wasm.HEAPU8;
  return new Float32Array(u8.buffer, 0, u8.byteLength >>> 2);
}

type XnnMatMul = (
  aId: number,
  aShape: Uint8Array,
  aRank: number,
  bId: number,
  bShape: Uint8Array,
  bRank: number,
  tA: number,
  tB: number,
  outId: number,
) => void;

const xnnByModule = new WeakMap<object, XnnMatMul>();

// Tensor ids the aliases borrow. tfjs numbers its tensors from 1 upwards; these sit at the top of the
// positive int32 range and are released before each call returns.
const ALIAS_A = 0x7ffffff0;
const ALIAS_B = 0x7ffffff1;
const ALIAS_OUT = 0x7ffffff2;

const shapeBytes = (shape: number[]): Uint8Array => new Uint8Array(new Int32Array(shape).buffer);

/**
 * out[m×n] = a[m×k] · b[k×n] for row-major float32 matrices at byte offsets of the heap, through the
 * backend's XNNPACK fully-connected product (its fast path, ~25–35 GFLOP/s on one core). The matrices are
 * registered as temporary tensors aliasing the given memory, so nothing is copied; disposing them also
 * drops the XNNPACK operator the backend caches per weight tensor.
 */
export function xnnMatMul(backend: WasmBackendLike, aOff: number, bOff: number, outOff: number, m: number, k: number, n: number): void {
  const w = backend.wasm;
  let fn = xnnByModule.get(w);
  if (!fn) {
    fn = w.cwrap('BatchMatMul', null, [
      'number',
      'array',
      'number',
      'number',
      'array',
      'number',
      'number',
      'number',
      'number',
    ]) as unknown as XnnMatMul;
    xnnByModule.set(w, fn);
  }
  w.tfjs.registerTensor(ALIAS_A, m * k, aOff);
  w.tfjs.registerTensor(ALIAS_B, k * n, bOff);
  w.tfjs.registerTensor(ALIAS_OUT, m * n, outOff);
  try {
    fn(ALIAS_A, shapeBytes([1, m, k]), 3, ALIAS_B, shapeBytes([1, k, n]), 3, 0, 0, ALIAS_OUT);
  } finally {
    w.tfjs.disposeData(ALIAS_A);
    w.tfjs.disposeData(ALIAS_B);
    w.tfjs.disposeData(ALIAS_OUT);
  }
}

/**
 * dst[b][j][i] = src[b][i][j] for `batch` row-major r×c matrices (element offsets into `heap`). Tiles of 64
 * rows, and each output row written contiguously: strided reads are cheap, strided writes are not
 * (1.4 ns/element against tfjs-backend-wasm's 16 ns for an [8192, 256] matrix).
 */
export function transposeInto(heap: Float32Array, src: number, dst: number, batch: number, r: number, c: number): void {
  const TILE = 64;
  const mat = r * c;
  for (let bi = 0; bi < batch; bi++) {
    const s0 = src + bi * mat;
    const d0 = dst + bi * mat;
    for (let i0 = 0; i0 < r; i0 += TILE) {
      const i1 = Math.min(r, i0 + TILE);
      for (let j0 = 0; j0 < c; j0 += TILE) {
        const j1 = Math.min(c, j0 + TILE);
        for (let j = j0; j < j1; j++) {
          const d = d0 + j * r;
          for (let i = i0; i < i1; i++) heap[d + i] = heap[s0 + i * c + j]!;
        }
      }
    }
  }
}

/** Scratch memory in the wasm heap for the duration of `fn` (freed after, also on throw). */
export function withScratch<T>(backend: WasmBackendLike, floats: number[], fn: (offsets: number[]) => T): T {
  const ptrs = floats.map((n) => (n > 0 ? backend.wasm._malloc(n * 4) >>> 0 : 0));
  try {
    if (ptrs.some((p, i) => floats[i]! > 0 && p === 0))
      throw new Error(`wasm kernel: out of memory allocating ${floats.map((n) => n * 4)} bytes`);
    return fn(ptrs);
  } finally {
    for (const p of ptrs) if (p) backend.wasm._free(p);
  }
}

type UnaryFn = (xId: number, outId: number) => void;
type SoftmaxFn = (xId: number, outId: number, channels: number, batch: number) => void;
const sigmoidByModule = new WeakMap<object, UnaryFn>();
const softmaxByModule = new WeakMap<object, SoftmaxFn>();

/** out[i] = 1/(1 + e^(−x[i])) for n floats at byte offsets, through the backend's XNNPACK sigmoid (~1.3 ns/element, SIMD). */
export function xnnSigmoid(backend: WasmBackendLike, xOff: number, outOff: number, n: number): void {
  const w = backend.wasm;
  let fn = sigmoidByModule.get(w);
  if (!fn) {
    fn = w.cwrap('Sigmoid', null, ['number', 'number']) as unknown as UnaryFn;
    sigmoidByModule.set(w, fn);
  }
  w.tfjs.registerTensor(ALIAS_A, n, xOff);
  w.tfjs.registerTensor(ALIAS_OUT, n, outOff);
  try {
    fn(ALIAS_A, ALIAS_OUT);
  } finally {
    w.tfjs.disposeData(ALIAS_A);
    w.tfjs.disposeData(ALIAS_OUT);
  }
}

/** Row-wise softmax of `batch` rows of `channels` floats, through the backend's XNNPACK softmax (SIMD, max-subtracted). */
export function xnnSoftmax(backend: WasmBackendLike, xOff: number, outOff: number, channels: number, batch: number): void {
  const w = backend.wasm;
  let fn = softmaxByModule.get(w);
  if (!fn) {
    fn = w.cwrap('Softmax', null, ['number', 'number', 'number', 'number']) as unknown as SoftmaxFn;
    softmaxByModule.set(w, fn);
  }
  w.tfjs.registerTensor(ALIAS_A, channels * batch, xOff);
  w.tfjs.registerTensor(ALIAS_OUT, channels * batch, outOff);
  try {
    fn(ALIAS_A, ALIAS_OUT, channels, batch);
  } finally {
    w.tfjs.disposeData(ALIAS_A);
    w.tfjs.disposeData(ALIAS_OUT);
  }
}
