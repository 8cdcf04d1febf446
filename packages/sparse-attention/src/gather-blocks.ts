// Block gather / scatter-add: the data movement of block-sparse attention.
//
// Each block is a contiguous run of blockSize·headDim floats, so copying blocks is memcpy work. tfjs's own
// routes are far slower on tfjs-backend-wasm 4.22 (measured here: tf.gather of 8.8M floats ~420 ms, its
// gradient through UnsortedSegmentSum ~300 ms; slices along a middle axis use per-element JS loops). So this
// package registers two small kernels under its own names for the wasm and cpu backends, which copy blocks
// inside the backend's memory (the same technique as @gptlab/tensor's UnsortedSegmentSum kernel). Other
// backends (tfjs-node) use tf.gather / tf.unsortedSegmentSum, which are native there.
import { tf, customGradOp } from '@gptlab/tensor';

export const GATHER_BLOCKS = 'GptlabSparseGatherBlocks';
export const SCATTER_ADD_BLOCKS = 'GptlabSparseScatterAddBlocks';

interface Io {
  output(shape: number[]): tf.TensorInfo;
  view(t: tf.TensorInfo): Float32Array;
  finish(t: tf.TensorInfo): tf.TensorInfo;
}

interface WasmBackendLike {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): tf.TypedArray;
}

interface CpuBackendLike {
  data: { get(id: unknown): { values: unknown } };
  makeTensorInfo(shape: number[], dtype: tf.DataType, values?: tf.TypedArray): tf.TensorInfo;
}

function ioFor(backendName: string, backend: unknown): Io {
  if (backendName === 'wasm') {
    const b = backend as WasmBackendLike;
    return {
      output: (shape) => b.makeOutput(shape, 'float32'),
      // Views are taken after every output is made: allocating can grow (and so detach) the wasm heap.
      view: (t) => b.typedArrayFromHeap(t) as Float32Array,
      finish: (t) => t,
    };
  }
  const b = backend as CpuBackendLike;
  const pending = new Map<tf.TensorInfo, Float32Array>();
  return {
    output: (shape) => {
      const values = new Float32Array(shape.reduce((x, y) => x * y, 1));
      const info = { dataId: {}, shape, dtype: 'float32' } as tf.TensorInfo;
      pending.set(info, values);
      return info;
    },
    view: (t) => pending.get(t) ?? (b.data.get(t.dataId).values as Float32Array),
    finish: (t) => b.makeTensorInfo(t.shape, 'float32', pending.get(t)!),
  };
}

function checkFloat(t: tf.TensorInfo, what: string): void {
  if (t.dtype !== 'float32') throw new Error(`${what}: expected float32, got ${t.dtype}`);
}

/** {x [B, N, E]} attrs {index} → [B, index.length, E], out[b, t] = x[b, index[t]]. */
function gatherKernel(
  args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap },
  backendName: string,
): tf.TensorInfo {
  const { x } = args.inputs as { x: tf.TensorInfo };
  checkFloat(x, GATHER_BLOCKS);
  const index = (args.attrs as unknown as { index: Int32Array }).index;
  const [B, N, E] = x.shape as [number, number, number];
  const M = index.length;
  const io = ioFor(backendName, args.backend);
  const out = io.output([B, M, E]);
  const src = io.view(x);
  const dst = io.view(out);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < M; t++) {
      const s = (b * N + index[t]!) * E;
      dst.set(src.subarray(s, s + E), (b * M + t) * E);
    }
  }
  return io.finish(out);
}

/**
 * {x0 … x(k−1), each [B, M_i, E]} attrs {indices: Int32Array[k], n} → [B, n, E] with
 * out[b, indices[i][t]] += x_i[b, t] (zeros elsewhere).
 */
function scatterAddKernel(
  args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap },
  backendName: string,
): tf.TensorInfo {
  const { indices, n } = args.attrs as unknown as { indices: Int32Array[]; n: number };
  const xs = indices.map((_, i) => (args.inputs as Record<string, tf.TensorInfo>)[`x${i}`]!);
  xs.forEach((x) => checkFloat(x, SCATTER_ADD_BLOCKS));
  const [B, , E] = xs[0]!.shape as [number, number, number];
  const io = ioFor(backendName, args.backend);
  const out = io.output([B, n, E]);
  const dst = io.view(out);
  // Contributions grouped by destination row (CSR): each output block is written once, as a copy of its first
  // contribution plus the sum of the others; rows nobody writes are zeroed.
  const srcs = xs.map((x) => io.view(x));
  const count = new Int32Array(n + 1);
  indices.forEach((idx) => idx.forEach((r) => count[r + 1]++));
  for (let r = 0; r < n; r++) count[r + 1] += count[r]!;
  const fill = count.slice(0, n);
  const part = new Int32Array(count[n]!);
  const slot = new Int32Array(count[n]!);
  indices.forEach((idx, i) =>
    idx.forEach((r, t) => {
      const p = fill[r]++;
      part[p] = i;
      slot[p] = t;
    }),
  );
  for (let b = 0; b < B; b++) {
    for (let r = 0; r < n; r++) {
      const d = (b * n + r) * E;
      const from = count[r]!;
      const to = count[r + 1]!;
      if (from === to) {
        dst.fill(0, d, d + E);
        continue;
      }
      const first = srcs[part[from]!]!;
      const s0 = (b * indices[part[from]!]!.length + slot[from]!) * E;
      dst.set(first.subarray(s0, s0 + E), d);
      for (let p = from + 1; p < to; p++) {
        const src = srcs[part[p]!]!;
        const s = (b * indices[part[p]!]!.length + slot[p]!) * E;
        addInto(dst, d, src, s, E);
      }
    }
  }
  return io.finish(out);
}

function addInto(dst: Float32Array, d: number, src: Float32Array, s: number, E: number): void {
  let e = 0;
  for (; e + 4 <= E; e += 4) {
    dst[d + e] += src[s + e]!;
    dst[d + e + 1] += src[s + e + 1]!;
    dst[d + e + 2] += src[s + e + 2]!;
    dst[d + e + 3] += src[s + e + 3]!;
  }
  for (; e < E; e++) dst[d + e] += src[s + e]!;
}

const KERNEL_BACKENDS = ['wasm', 'cpu'];
let kernelsEnabled = true;

/** Turns this package's block kernels on or off (off: tf.gather / tf.unsortedSegmentSum); for tests and benchmarks. */
export function useBlockKernels(on: boolean): void {
  kernelsEnabled = on;
}

function ensureKernels(): boolean {
  const backendName = tf.getBackend();
  if (!kernelsEnabled) return false;
  if (!KERNEL_BACKENDS.includes(backendName)) return false;
  if (!tf.getKernel(GATHER_BLOCKS, backendName)) {
    tf.registerKernel({
      kernelName: GATHER_BLOCKS,
      backendName,
      kernelFunc: ((a: Parameters<typeof gatherKernel>[0]) => gatherKernel(a, backendName)) as unknown as tf.KernelFunc,
    });
    tf.registerKernel({
      kernelName: SCATTER_ADD_BLOCKS,
      backendName,
      kernelFunc: ((a: Parameters<typeof scatterAddKernel>[0]) => scatterAddKernel(a, backendName)) as unknown as tf.KernelFunc,
    });
  }
  return true;
}

function rawGather(x: tf.Tensor, index: Int32Array): tf.Tensor {
  if (ensureKernels()) {
    return tf.engine().runKernel(GATHER_BLOCKS, { x }, { index } as unknown as tf.NamedAttrMap) as tf.Tensor;
  }
  return tf.tidy(() => tf.gather(x, tf.tensor1d(index, 'int32'), 1));
}

function rawScatterAdd(xs: tf.Tensor[], indices: Int32Array[], n: number): tf.Tensor {
  if (ensureKernels()) {
    const inputs: Record<string, tf.Tensor> = {};
    xs.forEach((x, i) => (inputs[`x${i}`] = x));
    return tf.engine().runKernel(SCATTER_ADD_BLOCKS, inputs, { indices, n } as unknown as tf.NamedAttrMap) as tf.Tensor;
  }
  return tf.tidy(() => {
    const parts = xs.map((x, i) => {
      const t = tf.transpose(x, [1, 0, 2]);
      return tf.transpose(tf.unsortedSegmentSum(t, tf.tensor1d(indices[i]!, 'int32'), n), [1, 0, 2]);
    });
    return parts.length === 1 ? parts[0]! : tf.addN(parts);
  });
}

function checkIndex(index: Int32Array, N: number, where: string): void {
  for (let t = 0; t < index.length; t++) {
    if (!(index[t]! >= 0 && index[t]! < N)) throw new Error(`${where}: index[${t}] = ${index[t]} is outside 0..${N - 1}`);
  }
}

/**
 * out[b, t, :] = x[b, index[t], :] for x [B, N, E] → [B, index.length, E]; gradient dx[b, index[t], :] += dy[b, t, :].
 * `index` is plain data (not differentiated).
 */
export function gatherBlocks(x: tf.Tensor3D, index: Int32Array): tf.Tensor3D {
  const [, N] = x.shape;
  checkIndex(index, N, 'gatherBlocks');
  const op = customGradOp((xx: tf.Tensor) => ({
    value: rawGather(xx, index),
    gradFunc: (dy: tf.Tensor) => rawScatterAdd([dy], [index], N),
  })) as (x: tf.Tensor) => tf.Tensor3D;
  return op(x);
}

/**
 * parts[i] [B, rows[i].length, E] are written to out[b, rows[i][r], :] of a [B, N, E] tensor (the row lists
 * together cover 0..N−1 exactly once). Gradient: each part reads its rows back from dy.
 */
export function assembleBlocks(parts: tf.Tensor3D[], rows: Int32Array[], N: number): tf.Tensor3D {
  if (parts.length !== rows.length || parts.length === 0)
    throw new Error(`assembleBlocks: ${parts.length} parts for ${rows.length} row lists`);
  const seen = new Uint8Array(N);
  rows.forEach((rs, i) => {
    if (parts[i]!.shape[1] !== rs.length)
      throw new Error(`assembleBlocks: part ${i} has ${parts[i]!.shape[1]} rows, expected ${rs.length}`);
    for (const r of rs) {
      if (!(r >= 0 && r < N) || seen[r]) throw new Error(`assembleBlocks: row ${r} is outside 0..${N - 1} or repeated`);
      seen[r] = 1;
    }
  });
  if (seen.some((x) => x === 0)) throw new Error('assembleBlocks: the row lists do not cover every row');
  const op = customGradOp((...args: unknown[]) => {
    const xs = args.slice(0, parts.length) as tf.Tensor[];
    return {
      value: rawScatterAdd(xs, rows, N),
      gradFunc: (dy: tf.Tensor) => rows.map((rs) => rawGather(dy, rs)),
    };
  }) as (...xs: tf.Tensor[]) => tf.Tensor3D;
  return op(...parts);
}
