// tfjs's own kernels that the addon replaces on 'wasm' and 'cpu': BatchMatMul and _FusedMatMul (SGEMM),
// Softmax over the last axis, and Sum over contiguous axes. Cases the addon does not cover (other dtypes,
// layouts, activations) go to the backend's original kernel, which also reports invalid shapes.
import { contiguousReduction, matMulShapes, rowsAndCols, sizeOf } from '@gptlab/common';
import type { NativeAddon } from './addon';
import {
  callOriginal,
  ioFor,
  need,
  Unsupported,
  type Fallback,
  type Io,
  type KernelFunc,
  type MakeKernel,
  type TensorInfo,
} from './kernel-io';

/** Activations the addon fuses into a product (its activation codes). */
const ACTIVATIONS: Record<string, number> = { linear: 0, relu: 1 };

/** out = act(op(a)·op(b) + bias) into a new output; throws Unsupported for what the addon does not cover. */
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
  const s = matMulShapes(a.shape, b.shape, transposeA, transposeB);
  if (!s) throw new Unsupported();
  if (bias) {
    if (bias.dtype !== 'float32') throw new Unsupported();
    // Bias over the output's last axis only (shape [N] or [1, …, N]).
    const bs = bias.shape;
    if (sizeOf(bs) !== s.n || (bs.length > 0 && bs[bs.length - 1] !== s.n)) throw new Unsupported();
  }
  const out = io.output(s.outShape);
  if (s.batch * s.m * s.n === 0) return io.finish(out);
  const av = io.view(a);
  const bv = io.view(b);
  const ov = io.view(out);
  if (!av || !bv || !ov) throw new Unsupported();
  let biasView: Float32Array | null = null;
  if (bias) {
    biasView = io.view(bias);
    if (!biasView) throw new Unsupported();
  }
  addon.gemm(av, bv, ov, s.batch, s.m, s.n, s.k, transposeA, transposeB, s.strideA, s.strideB, false);
  if (biasView || activation !== 0) addon.biasAct(ov, s.batch * s.m, s.n, biasView, activation);
  return io.finish(out);
}

/** BatchMatMul {a, b} attrs {transposeA, transposeB}. */
function makeBatchMatMul(addon: NativeAddon, backendName: string, fallback: Fallback): KernelFunc {
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

/** _FusedMatMul {a, b, bias?, preluActivationWeights?} attrs {transposeA, transposeB, activation}: linear and relu. */
function makeFusedMatMul(addon: NativeAddon, backendName: string, fallback: Fallback): KernelFunc {
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

/** Softmax {logits} attrs {dim}: native over the last axis for float32, else the original kernel. */
function makeSoftmax(addon: NativeAddon, backendName: string, fallback: Fallback): KernelFunc {
  return (args) => {
    const { logits } = args.inputs as { logits: TensorInfo };
    const dim = ((args.attrs ?? {}) as { dim?: number }).dim ?? -1;
    const rank = logits.shape.length;
    if (logits.dtype !== 'float32' || rank === 0 || (dim !== -1 && dim !== rank - 1)) {
      return callOriginal(fallback, 'Softmax', args);
    }
    const io = ioFor(backendName, args.backend);
    const { rows, cols } = rowsAndCols(logits.shape);
    const out = io.output([...logits.shape]);
    if (rows * cols > 0) addon.softmax(need(io.view(logits), 'logits'), need(io.view(out), 'y'), rows, cols, 0, 0);
    return io.finish(out);
  };
}

/**
 * Sum {x} attrs {axis, keepDims}: native when x is float32 and the reduced axes are one contiguous block
 * (x viewed as [A, R, B] → [A, B]), e.g. bias gradients (leading axes) and row sums (last axis); else the
 * original kernel.
 */
function makeSum(addon: NativeAddon, backendName: string, fallback: Fallback): KernelFunc {
  return (args) => {
    const { x } = args.inputs as { x: TensorInfo };
    const attrs = (args.attrs ?? {}) as { axis?: number | number[]; keepDims?: boolean };
    const plan = x.dtype === 'float32' && x.shape.length > 0 ? contiguousReduction(x.shape, attrs.axis, attrs.keepDims) : null;
    if (!plan) return callOriginal(fallback, 'Sum', args);
    const io = ioFor(backendName, args.backend);
    const out = io.output(plan.outShape);
    const ov = need(io.view(out), 'sum');
    if (plan.outer * plan.inner > 0) {
      if (plan.reduced === 0) ov.fill(0);
      else addon.sumMiddle(need(io.view(x), 'x'), ov, plan.outer, plan.reduced, plan.inner);
    }
    return io.finish(out);
  };
}

/** The replaced tfjs kernels by name, in registration order. */
export const REPLACEMENTS = {
  BatchMatMul: makeBatchMatMul,
  _FusedMatMul: makeFusedMatMul,
  Softmax: makeSoftmax,
  Sum: makeSum,
} satisfies Record<string, MakeKernel>;
