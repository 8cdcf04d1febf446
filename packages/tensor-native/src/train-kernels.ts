// Kernels of the training step outside forward/backward (csrc/train_ops.cc). GptlabAdamW: one parameter's AdamW
// update as one pass over parameter, gradient and moments, straight into the new parameter's memory — the same
// bits as the trainer's JS AdamW (float64 arithmetic, float32 moments), without its separate copy into a tensor.
import { sizeOf } from '@gptlab/common';
import type { NativeAddon } from './addon';
import { ioFor, need, type KernelFunc, type TensorInfo } from './kernel-io';

/** The coefficients of one update (all float64; the trainer computes them once per step). */
export interface AdamWAttrs {
  /** First and second moments of this parameter, updated in place (owned by the optimizer). */
  m: Float32Array;
  v: Float32Array;
  beta1: number;
  beta2: number;
  eps: number;
  /** 1 − lr·λ (1 when the parameter does not decay). */
  keep: number;
  /** lr / (1 − β1ᵗ). */
  stepSize: number;
  /** 1 / (1 − β2ᵗ). */
  invBc2: number;
  /** Gradient multiplier (global-norm clipping); 1 when not clipped. */
  gradScale: number;
}

/** The addon's training-step entry points. */
export interface TrainAddon {
  /** out = p updated with g·gradScale; m and v in place; out may alias p. */
  adamwUpdate(
    p: Float32Array,
    g: Float32Array,
    m: Float32Array,
    v: Float32Array,
    out: Float32Array,
    n: number,
    beta1: number,
    beta2: number,
    eps: number,
    keep: number,
    stepSize: number,
    invBc2: number,
    gradScale: number,
  ): void;
}

/**
 * The same update in JS, for an addon built before adamwUpdate existed (a stale build/Release must not break
 * training): float64 arithmetic in csrc/train_ops.cc's order, so the bits are the same either way.
 */
export function adamwUpdateJs(
  ...[p, g, m, v, out, n, beta1, beta2, eps, keep, stepSize, invBc2, gradScale]: Parameters<TrainAddon['adamwUpdate']>
): void {
  const c1 = 1 - beta1;
  const c2 = 1 - beta2;
  for (let i = 0; i < n; i++) {
    const gi = g[i]! * gradScale;
    m[i] = beta1 * m[i]! + c1 * gi;
    v[i] = beta2 * v[i]! + c2 * gi * gi;
    out[i] = p[i]! * keep - (stepSize * m[i]!) / (Math.sqrt(v[i]! * invBc2) + eps);
  }
}

/** GptlabAdamW {param, grad} attrs AdamWAttrs → the updated parameter (a new tensor of param's shape). */
export function makeAdamW(addon: NativeAddon, backendName: string): KernelFunc {
  const train = addon as unknown as NativeAddon & Partial<TrainAddon>;
  const update = typeof train.adamwUpdate === 'function' ? train.adamwUpdate.bind(train) : adamwUpdateJs;
  return (args) => {
    const { param, grad } = args.inputs as { param: TensorInfo; grad: TensorInfo };
    const a = (args.attrs ?? {}) as unknown as AdamWAttrs;
    const n = sizeOf(param.shape);
    if (sizeOf(grad.shape) !== n) throw new Error(`GptlabAdamW: gradient [${grad.shape}] for parameter [${param.shape}]`);
    if (!(a.m instanceof Float32Array) || !(a.v instanceof Float32Array) || a.m.length !== n || a.v.length !== n) {
      throw new Error(`GptlabAdamW: moments m and v must be Float32Arrays of ${n} values`);
    }
    const io = ioFor(backendName, args.backend);
    const out = io.output([...param.shape]);
    if (n > 0) {
      update(
        need(io.view(param), 'param'),
        need(io.view(grad), 'grad'),
        a.m,
        a.v,
        need(io.view(out), 'out'),
        n,
        a.beta1,
        a.beta2,
        a.eps,
        a.keep,
        a.stepSize,
        a.invBc2,
        a.gradScale,
      );
    }
    return io.finish(out);
  };
}

/** The training-step kernels by name (they replace nothing: no fallback). */
export const TRAIN_KERNELS = { adamW: 'GptlabAdamW' } as const;
export const TRAIN: Record<string, (addon: NativeAddon, backendName: string) => KernelFunc> = {
  [TRAIN_KERNELS.adamW]: makeAdamW,
};
