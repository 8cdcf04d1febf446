// tfjs kernels backed by the addon, for the 'wasm' and 'cpu' backends. Typed structurally so this package
// needs no tfjs dependency: @gptlab/tensor passes its own tfjs instance to register().
import type { NativeAddon } from './addon';

export type DataType = 'float32' | 'int32' | 'bool' | 'complex64' | 'string';

export interface TensorInfo {
  dataId: object;
  shape: number[];
  dtype: DataType;
}

export interface KernelArgs {
  inputs: Record<string, TensorInfo | undefined>;
  backend: unknown;
  attrs?: Record<string, unknown>;
}

export type KernelFunc = (args: KernelArgs) => TensorInfo | TensorInfo[];

export interface KernelConfig {
  kernelName: string;
  backendName: string;
  kernelFunc: KernelFunc;
  setupFunc?: unknown;
  disposeFunc?: unknown;
}

interface WasmBackend {
  makeOutput(shape: number[], dtype: DataType): TensorInfo;
  typedArrayFromHeap(info: TensorInfo): Float32Array | Int32Array | Uint8Array;
}

interface CpuBackend {
  data: { get(dataId: object): { values?: unknown } };
  makeTensorInfo(shape: number[], dtype: DataType, values: Float32Array | Int32Array): TensorInfo;
}

export const sizeOf = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/**
 * Backend-neutral access to tensor memory. Outputs are allocated first (on wasm, allocation can grow the heap
 * and detach earlier views), then views of inputs and outputs are taken, the addon runs, and finish() hands
 * the outputs back as TensorInfos.
 */
export interface Io {
  /** Allocates a float32 output (its view comes from view()). */
  output(shape: number[]): TensorInfo;
  /** Allocates an int32 output (its view comes from viewInt()). */
  outputInt(shape: number[]): TensorInfo;
  /** A Float32Array view of a float32 input or output, or null when not float32 / not readable. */
  view(t: TensorInfo): Float32Array | null;
  /** An Int32Array view of an int32 input, or null. */
  viewInt(t: TensorInfo): Int32Array | null;
  finish(t: TensorInfo): TensorInfo;
}

class WasmIo implements Io {
  constructor(private readonly backend: WasmBackend) {}
  output(shape: number[]): TensorInfo {
    return this.backend.makeOutput(shape, 'float32');
  }
  outputInt(shape: number[]): TensorInfo {
    return this.backend.makeOutput(shape, 'int32');
  }
  view(t: TensorInfo): Float32Array | null {
    if (t.dtype !== 'float32') return null;
    const v = this.backend.typedArrayFromHeap(t);
    return v instanceof Float32Array ? v : null;
  }
  viewInt(t: TensorInfo): Int32Array | null {
    if (t.dtype !== 'int32') return null;
    const v = this.backend.typedArrayFromHeap(t);
    return v instanceof Int32Array ? v : null;
  }
  finish(t: TensorInfo): TensorInfo {
    return t;
  }
}

class CpuIo implements Io {
  private readonly pending = new Map<TensorInfo, Float32Array | Int32Array>();
  constructor(private readonly backend: CpuBackend) {}
  output(shape: number[]): TensorInfo {
    const info: TensorInfo = { dataId: {}, shape, dtype: 'float32' };
    this.pending.set(info, new Float32Array(sizeOf(shape)));
    return info;
  }
  outputInt(shape: number[]): TensorInfo {
    const info: TensorInfo = { dataId: {}, shape, dtype: 'int32' };
    this.pending.set(info, new Int32Array(sizeOf(shape)));
    return info;
  }
  view(t: TensorInfo): Float32Array | null {
    const p = this.pending.get(t);
    if (p) return p instanceof Float32Array ? p : null;
    if (t.dtype !== 'float32') return null;
    const v = this.backend.data.get(t.dataId)?.values;
    return v instanceof Float32Array ? v : null;
  }
  viewInt(t: TensorInfo): Int32Array | null {
    const p = this.pending.get(t);
    if (p) return p instanceof Int32Array ? p : null;
    if (t.dtype !== 'int32') return null;
    const v = this.backend.data.get(t.dataId)?.values;
    return v instanceof Int32Array ? v : null;
  }
  finish(t: TensorInfo): TensorInfo {
    const values = this.pending.get(t);
    if (!values) return t;
    this.pending.delete(t);
    return this.backend.makeTensorInfo(t.shape, t.dtype, values);
  }
}

export function ioFor(backendName: string, backend: unknown): Io {
  return backendName === 'wasm' ? new WasmIo(backend as WasmBackend) : new CpuIo(backend as CpuBackend);
}

/** Thrown inside a kernel to hand the call to the backend's original kernel. */
class Unsupported extends Error {}

interface MatMulPlan {
  batch: number;
  m: number;
  n: number;
  k: number;
  strideA: number;
  strideB: number;
  outShape: number[];
}

/** Shapes of a (batched, possibly transposed) product, or null when the batch broadcast is not supported. */
export function planMatMul(aShape: number[], bShape: number[], transposeA: boolean, transposeB: boolean): MatMulPlan | null {
  const ar = aShape.length;
  const br = bShape.length;
  if (ar < 2 || br < 2) return null;
  const m = transposeA ? aShape[ar - 1]! : aShape[ar - 2]!;
  const k = transposeA ? aShape[ar - 2]! : aShape[ar - 1]!;
  const kb = transposeB ? bShape[br - 1]! : bShape[br - 2]!;
  const n = transposeB ? bShape[br - 2]! : bShape[br - 1]!;
  if (k !== kb) {
    throw new Error(
      `Error in matMul: inner shapes (${k}) and (${kb}) of Tensors with shapes ${aShape} and ${bShape} and ` +
        `transposeA=${transposeA} and transposeB=${transposeB} must match.`,
    );
  }
  const outerA = aShape.slice(0, -2);
  const outerB = bShape.slice(0, -2);
  const batchA = sizeOf(outerA);
  const batchB = sizeOf(outerB);
  // Broadcast of the batch axes (numpy rules), then only the layouts one strided loop covers: equal batches,
  // or one side a single matrix.
  const rank = Math.max(outerA.length, outerB.length);
  const outer: number[] = [];
  for (let i = 0; i < rank; i++) {
    const da = outerA[outerA.length - rank + i] ?? 1;
    const db = outerB[outerB.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new Error(`Operands could not be broadcast together with shapes ${aShape} and ${bShape}.`);
    }
    outer.push(da === 1 ? db : da);
  }
  const batch = sizeOf(outer);
  const okA = batchA === batch || batchA === 1;
  const okB = batchB === batch || batchB === 1;
  if (!okA || !okB) return null;
  return {
    batch,
    m,
    n,
    k,
    strideA: batchA === 1 ? 0 : m * k,
    strideB: batchB === 1 ? 0 : k * n,
    outShape: [...outer, m, n],
  };
}

type Fallback = KernelFunc | null;

function need<T>(v: T | null, what: string): T {
  if (v === null) throw new Error(`native kernel: ${what} must be a float32 tensor`);
  return v;
}

function callOriginal(fallback: Fallback, name: string, args: KernelArgs): TensorInfo | TensorInfo[] {
  if (!fallback) throw new Error(`${name}: unsupported by the native kernel and no original kernel to fall back to`);
  return fallback(args);
}

function matMulInto(
  addon: NativeAddon,
  io: Io,
  a: TensorInfo,
  b: TensorInfo,
  transposeA: boolean,
  transposeB: boolean,
  bias: TensorInfo | undefined,
  activation: number,
): TensorInfo {
  if (a.dtype !== 'float32' || b.dtype !== 'float32') throw new Unsupported();
  const plan = planMatMul(a.shape, b.shape, transposeA, transposeB);
  if (!plan) throw new Unsupported();
  if (bias) {
    if (bias.dtype !== 'float32') throw new Unsupported();
    // Bias over the output's last axis only (shape [N] or [1, …, N]).
    const bs = bias.shape;
    if (sizeOf(bs) !== plan.n || (bs.length > 0 && bs[bs.length - 1] !== plan.n)) throw new Unsupported();
  }
  const out = io.output(plan.outShape);
  const total = plan.batch * plan.m * plan.n;
  if (total === 0) return io.finish(out);
  const av = io.view(a);
  const bv = io.view(b);
  const ov = io.view(out);
  if (!av || !bv || !ov) throw new Unsupported();
  let biasView: Float32Array | null = null;
  if (bias) {
    biasView = io.view(bias);
    if (!biasView) throw new Unsupported();
  }
  addon.gemm(av, bv, ov, plan.batch, plan.m, plan.n, plan.k, transposeA, transposeB, plan.strideA, plan.strideB, false);
  if (biasView || activation !== 0) addon.biasAct(ov, plan.batch * plan.m, plan.n, biasView, activation);
  return io.finish(out);
}

export function makeBatchMatMul(addon: NativeAddon, backendName: string, fallback: Fallback): KernelFunc {
  return (args) => {
    const { a, b } = args.inputs as { a: TensorInfo; b: TensorInfo };
    const attrs = (args.attrs ?? {}) as { transposeA?: boolean; transposeB?: boolean };
    try {
      return matMulInto(addon, ioFor(backendName, args.backend), a, b, !!attrs.transposeA, !!attrs.transposeB, undefined, 0);
    } catch (e) {
      if (e instanceof Unsupported) return callOriginal(fallback, 'BatchMatMul', args);
      throw e;
    }
  };
}

/** tfjs Softmax {logits} attrs {dim}: native over the last axis for float32, else the original kernel. */
export function makeSoftmaxReplacement(addon: NativeAddon, backendName: string, fallback: Fallback): KernelFunc {
  return (args) => {
    const { logits } = args.inputs as { logits: TensorInfo };
    const dim = ((args.attrs ?? {}) as { dim?: number }).dim ?? -1;
    const rank = logits.shape.length;
    if (logits.dtype !== 'float32' || rank === 0 || (dim !== -1 && dim !== rank - 1)) {
      return callOriginal(fallback, 'Softmax', args);
    }
    const io = ioFor(backendName, args.backend);
    const cols = logits.shape[rank - 1]!;
    const rows = cols === 0 ? 0 : sizeOf(logits.shape) / cols;
    const out = io.output([...logits.shape]);
    if (rows * cols > 0) addon.softmax(need(io.view(logits), 'logits'), need(io.view(out), 'y'), rows, cols, 0, 0);
    return io.finish(out);
  };
}

/**
 * tfjs Sum {x} attrs {axis, keepDims}: native when x is float32 and the reduced axes are one contiguous block
 * (x viewed as [A, R, B] → [A, B]), e.g. bias gradients (leading axes) and row sums (last axis); else the
 * original kernel.
 */
export function makeSumReplacement(addon: NativeAddon, backendName: string, fallback: Fallback): KernelFunc {
  return (args) => {
    const { x } = args.inputs as { x: TensorInfo };
    const attrs = (args.attrs ?? {}) as { axis?: number | number[]; keepDims?: boolean };
    const rank = x.shape.length;
    if (x.dtype !== 'float32' || rank === 0) return callOriginal(fallback, 'Sum', args);
    const raw = attrs.axis === undefined || attrs.axis === null ? [...Array(rank).keys()] : Array.isArray(attrs.axis) ? attrs.axis : [attrs.axis];
    const axes = [...new Set(raw.map((a) => (a < 0 ? a + rank : a)))].sort((a, b) => a - b);
    if (axes.length === 0 || axes.some((a) => a < 0 || a >= rank) || axes[axes.length - 1]! - axes[0]! !== axes.length - 1) {
      return callOriginal(fallback, 'Sum', args);
    }
    const first = axes[0]!;
    const last = axes[axes.length - 1]!;
    const A = sizeOf(x.shape.slice(0, first));
    const R = sizeOf(x.shape.slice(first, last + 1));
    const Bn = sizeOf(x.shape.slice(last + 1));
    const outShape = attrs.keepDims ? x.shape.map((d, i) => (i >= first && i <= last ? 1 : d)) : x.shape.filter((_, i) => i < first || i > last);
    const io = ioFor(backendName, args.backend);
    const out = io.output(outShape);
    const ov = need(io.view(out), 'sum');
    if (A * Bn > 0) {
      if (R === 0) ov.fill(0);
      else addon.sumMiddle(need(io.view(x), 'x'), ov, A, R, Bn);
    }
    return io.finish(out);
  };
}

const ACTIVATIONS: Record<string, number> = { linear: 0, relu: 1 };

export function makeFusedMatMul(addon: NativeAddon, backendName: string, fallback: Fallback): KernelFunc {
  return (args) => {
    const { a, b, bias, preluActivationWeights } = args.inputs as Record<string, TensorInfo | undefined>;
    const attrs = (args.attrs ?? {}) as { transposeA?: boolean; transposeB?: boolean; activation?: string };
    const act = ACTIVATIONS[attrs.activation ?? 'linear'];
    try {
      if (act === undefined || preluActivationWeights) throw new Unsupported();
      return matMulInto(addon, ioFor(backendName, args.backend), a!, b!, !!attrs.transposeA, !!attrs.transposeB, bias, act);
    } catch (e) {
      if (e instanceof Unsupported) return callOriginal(fallback, '_FusedMatMul', args);
      throw e;
    }
  };
}

// ---------------------------------------------------------------------------------------------------------
// Fused kernels with our own names, called by @gptlab/tensor's ops (through tf.engine().runKernel) when the
// native kernels are active. Only float32 (targets int32); shapes are checked by the ops.

/** GptlabSoftmax {x} attrs {scale, causal}: softmax(scale·x) over the last axis; causal masks key j > query + (S − T). */
export function makeSoftmax(addon: NativeAddon, backendName: string): KernelFunc {
  return (args) => {
    const { x } = args.inputs as { x: TensorInfo };
    const attrs = (args.attrs ?? {}) as { scale?: number; causal?: boolean };
    const io = ioFor(backendName, args.backend);
    const cols = x.shape[x.shape.length - 1] ?? 1;
    const rows = cols === 0 ? 0 : sizeOf(x.shape) / cols;
    const out = io.output([...x.shape]);
    if (rows * cols > 0) {
      const xv = need(io.view(x), 'x');
      const yv = need(io.view(out), 'y');
      const scale = attrs.scale ?? 1;
      let src = xv;
      if (scale !== 1) {
        src = new Float32Array(xv.length);
        for (let i = 0; i < xv.length; i++) src[i] = xv[i]! * scale;
      }
      let causalT = 0;
      let offset = 0;
      if (attrs.causal) {
        causalT = x.shape.length >= 2 ? x.shape[x.shape.length - 2]! : 1;
        offset = cols - causalT;
        if (offset < 0) throw new Error(`GptlabSoftmax: causal needs keys ≥ queries, got shape [${x.shape}]`);
      }
      addon.softmax(src, yv, rows, cols, causalT, offset);
    }
    return io.finish(out);
  };
}

/** GptlabSoftmaxGrad {y, dy} attrs {scale}: scale · y ⊙ (dy − Σ dy·y). */
export function makeSoftmaxGrad(addon: NativeAddon, backendName: string): KernelFunc {
  return (args) => {
    const { y, dy } = args.inputs as { y: TensorInfo; dy: TensorInfo };
    const scale = ((args.attrs ?? {}) as { scale?: number }).scale ?? 1;
    const io = ioFor(backendName, args.backend);
    const cols = y.shape[y.shape.length - 1] ?? 1;
    const rows = cols === 0 ? 0 : sizeOf(y.shape) / cols;
    const out = io.output([...y.shape]);
    if (rows * cols > 0) {
      const ov = need(io.view(out), 'dx');
      addon.softmaxBackward(need(io.view(y), 'y'), need(io.view(dy), 'dy'), ov, rows, cols);
      if (scale !== 1) for (let i = 0; i < ov.length; i++) ov[i]! *= scale;
    }
    return io.finish(out);
  };
}

/** GptlabLayerNorm {x, gamma, beta} attrs {eps} → [y, xhat, rstd [..., 1]]. */
export function makeLayerNorm(addon: NativeAddon, backendName: string): KernelFunc {
  return (args) => {
    const { x, gamma, beta } = args.inputs as { x: TensorInfo; gamma: TensorInfo; beta: TensorInfo };
    const eps = ((args.attrs ?? {}) as { eps?: number }).eps ?? 1e-5;
    const io = ioFor(backendName, args.backend);
    const cols = x.shape[x.shape.length - 1] ?? 1;
    const rows = cols === 0 ? 0 : sizeOf(x.shape) / cols;
    if (sizeOf(gamma.shape) !== cols || sizeOf(beta.shape) !== cols) {
      throw new Error(`GptlabLayerNorm: gamma [${gamma.shape}] and beta [${beta.shape}] must have ${cols} elements`);
    }
    const y = io.output([...x.shape]);
    const xhat = io.output([...x.shape]);
    const rstd = io.output([...x.shape.slice(0, -1), 1]);
    if (rows * cols > 0) {
      addon.layerNorm(
        need(io.view(x), 'x'),
        need(io.view(gamma), 'gamma'),
        need(io.view(beta), 'beta'),
        need(io.view(y), 'y'),
        need(io.view(xhat), 'xhat'),
        need(io.view(rstd), 'rstd'),
        rows,
        cols,
        eps,
      );
    }
    return [io.finish(y), io.finish(xhat), io.finish(rstd)];
  };
}

/** GptlabLayerNormGrad {dy, xhat, rstd, gamma} → [dx, dgamma, dbeta]. */
export function makeLayerNormGrad(addon: NativeAddon, backendName: string): KernelFunc {
  return (args) => {
    const { dy, xhat, rstd, gamma } = args.inputs as Record<string, TensorInfo>;
    const io = ioFor(backendName, args.backend);
    const cols = xhat!.shape[xhat!.shape.length - 1] ?? 1;
    const rows = cols === 0 ? 0 : sizeOf(xhat!.shape) / cols;
    const dx = io.output([...xhat!.shape]);
    const dg = io.output([cols]);
    const db = io.output([cols]);
    const dgv = need(io.view(dg), 'dgamma');
    const dbv = need(io.view(db), 'dbeta');
    if (rows * cols > 0) {
      addon.layerNormBackward(
        need(io.view(dy!), 'dy'),
        need(io.view(xhat!), 'xhat'),
        need(io.view(rstd!), 'rstd'),
        need(io.view(gamma!), 'gamma'),
        need(io.view(dx), 'dx'),
        dgv,
        dbv,
        rows,
        cols,
      );
    } else {
      dgv.fill(0);
      dbv.fill(0);
    }
    return [io.finish(dx), io.finish(dg), io.finish(db)];
  };
}

/** GptlabGelu {x} → y (tanh approximation). */
export function makeGelu(addon: NativeAddon, backendName: string): KernelFunc {
  return (args) => {
    const { x } = args.inputs as { x: TensorInfo };
    const io = ioFor(backendName, args.backend);
    const out = io.output([...x.shape]);
    const n = sizeOf(x.shape);
    if (n > 0) addon.gelu(need(io.view(x), 'x'), need(io.view(out), 'y'), n);
    return io.finish(out);
  };
}

/** GptlabGeluGrad {x, dy} → dx. */
export function makeGeluGrad(addon: NativeAddon, backendName: string): KernelFunc {
  return (args) => {
    const { x, dy } = args.inputs as { x: TensorInfo; dy: TensorInfo };
    const io = ioFor(backendName, args.backend);
    const out = io.output([...x.shape]);
    const n = sizeOf(x.shape);
    if (n > 0) addon.geluBackward(need(io.view(x), 'x'), need(io.view(dy), 'dy'), need(io.view(out), 'dx'), n);
    return io.finish(out);
  };
}

/** GptlabCrossEntropy {logits, targets int32} attrs {ignoreIndex} → [loss scalar, d(loss)/d(logits)]. */
export function makeCrossEntropy(addon: NativeAddon, backendName: string): KernelFunc {
  return (args) => {
    const { logits, targets } = args.inputs as { logits: TensorInfo; targets: TensorInfo };
    const ignoreIndex = ((args.attrs ?? {}) as { ignoreIndex?: number }).ignoreIndex ?? -100;
    const io = ioFor(backendName, args.backend);
    const cols = logits.shape[logits.shape.length - 1] ?? 1;
    const rows = cols === 0 ? 0 : sizeOf(logits.shape) / cols;
    if (sizeOf(targets.shape) !== rows) {
      throw new Error(`GptlabCrossEntropy: ${sizeOf(targets.shape)} targets for ${rows} rows of logits [${logits.shape}]`);
    }
    const loss = io.output([]);
    const grad = io.output([...logits.shape]);
    const lv = need(io.view(loss), 'loss');
    const gv = need(io.view(grad), 'grad');
    const tv = io.viewInt(targets);
    if (!tv) throw new Error('GptlabCrossEntropy: targets must be an int32 tensor');
    lv[0] = rows * cols > 0 ? addon.crossEntropy(need(io.view(logits), 'logits'), tv, rows, cols, ignoreIndex, gv) : 0;
    return [io.finish(loss), io.finish(grad)];
  };
}
