// Fused kernels under gptlab's own names, called by @gptlab/tensor's ops (tf.engine().runKernel) when the
// native kernels are active; @gptlab/tensor registers JS versions of the same contract for plain wasm. Only
// float32 (targets int32); shapes are checked by the ops.
import { rowsAndCols, sizeOf } from '@gptlab/common';
import type { NativeAddon } from './addon';
import { ioFor, need, type KernelFunc, type MakeKernel, type TensorInfo } from './kernel-io';
import { makeCausalAttention, makeCausalAttentionGrad } from './attention-kernels';

/** GptlabSoftmax {x} attrs {scale, causal}: softmax(scale·x) over the last axis; causal masks key j > query + (S − T). */
function makeSoftmax(addon: NativeAddon, backendName: string): KernelFunc {
  return (args) => {
    const { x } = args.inputs as { x: TensorInfo };
    const attrs = (args.attrs ?? {}) as { scale?: number; causal?: boolean };
    const io = ioFor(backendName, args.backend);
    const { rows, cols } = rowsAndCols(x.shape);
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
function makeSoftmaxGrad(addon: NativeAddon, backendName: string): KernelFunc {
  return (args) => {
    const { y, dy } = args.inputs as { y: TensorInfo; dy: TensorInfo };
    const scale = ((args.attrs ?? {}) as { scale?: number }).scale ?? 1;
    const io = ioFor(backendName, args.backend);
    const { rows, cols } = rowsAndCols(y.shape);
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
function makeLayerNorm(addon: NativeAddon, backendName: string): KernelFunc {
  return (args) => {
    const { x, gamma, beta } = args.inputs as { x: TensorInfo; gamma: TensorInfo; beta: TensorInfo };
    const eps = ((args.attrs ?? {}) as { eps?: number }).eps ?? 1e-5;
    const io = ioFor(backendName, args.backend);
    const { rows, cols } = rowsAndCols(x.shape);
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
function makeLayerNormGrad(addon: NativeAddon, backendName: string): KernelFunc {
  return (args) => {
    const { dy, xhat, rstd, gamma } = args.inputs as Record<string, TensorInfo>;
    const io = ioFor(backendName, args.backend);
    const { rows, cols } = rowsAndCols(xhat!.shape);
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
function makeGelu(addon: NativeAddon, backendName: string): KernelFunc {
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
function makeGeluGrad(addon: NativeAddon, backendName: string): KernelFunc {
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
function makeCrossEntropy(addon: NativeAddon, backendName: string): KernelFunc {
  return (args) => {
    const { logits, targets } = args.inputs as { logits: TensorInfo; targets: TensorInfo };
    const ignoreIndex = ((args.attrs ?? {}) as { ignoreIndex?: number }).ignoreIndex ?? -100;
    const io = ioFor(backendName, args.backend);
    const { rows, cols } = rowsAndCols(logits.shape);
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

/** The fused kernels' names (the contract with @gptlab/tensor's ops). */
export const FUSED_KERNELS = {
  softmax: 'GptlabSoftmax',
  softmaxGrad: 'GptlabSoftmaxGrad',
  layerNorm: 'GptlabLayerNorm',
  layerNormGrad: 'GptlabLayerNormGrad',
  gelu: 'GptlabGelu',
  geluGrad: 'GptlabGeluGrad',
  crossEntropy: 'GptlabCrossEntropy',
  causalAttention: 'GptlabCausalAttention',
  causalAttentionGrad: 'GptlabCausalAttentionGrad',
} as const;

/** The fused kernels by name, in registration order (they replace nothing: no fallback). */
export const FUSED: Record<string, MakeKernel> = {
  [FUSED_KERNELS.softmax]: makeSoftmax,
  [FUSED_KERNELS.softmaxGrad]: makeSoftmaxGrad,
  [FUSED_KERNELS.layerNorm]: makeLayerNorm,
  [FUSED_KERNELS.layerNormGrad]: makeLayerNormGrad,
  [FUSED_KERNELS.gelu]: makeGelu,
  [FUSED_KERNELS.geluGrad]: makeGeluGrad,
  [FUSED_KERNELS.crossEntropy]: makeCrossEntropy,
  [FUSED_KERNELS.causalAttention]: makeCausalAttention,
  [FUSED_KERNELS.causalAttentionGrad]: makeCausalAttentionGrad,
};
