// Flash-style causal attention as two fused tfjs kernels (csrc/attention.cc): the forward keeps only the output
// and each query row's log-sum-exp, the gradient recomputes the probabilities block by block, so nothing of
// size T × Tk is ever allocated. @gptlab/tensor's causalAttention op calls them when registered.
import { sizeOf } from '@gptlab/common';
import type { NativeAddon } from './addon';
import { ioFor, need, type KernelFunc, type TensorInfo } from './kernel-io';

type F32 = Float32Array;
/** (BH, T, Tk, D, scale): heads, queries, keys, head width and the score scale. */
type AttentionDims = [bh: number, t: number, tk: number, d: number, scale: number];

/** The addon's attention entry points (part of NativeAddon). */
export interface AttentionAddon {
  /** O = softmax(scale·Q·Kᵀ + causal mask)·V and LSE per query row; Q [BH, T, D], K and V [BH, Tk, D], Tk ≥ T. */
  attentionForward(q: F32, k: F32, v: F32, o: F32, lse: F32, ...dims: AttentionDims): void;
  /** dQ, dK, dV of the forward above from dO and its O and LSE. */
  attentionBackward(q: F32, k: F32, v: F32, o: F32, lse: F32, dO: F32, dQ: F32, dK: F32, dV: F32, ...dims: AttentionDims): void;
}

/** [..., T, D] query and [..., Tk, D] key/value shapes → the addon's (BH, T, Tk, D); throws naming the mismatch. */
function attentionDims(name: string, q: TensorInfo, k: TensorInfo, v: TensorInfo): { bh: number; t: number; tk: number; d: number } {
  const r = q.shape.length;
  const same = (a: number[], b: number[]) => a.length === b.length && a.every((x, i) => x === b[i]);
  if (r < 2 || k.shape.length !== r || !same(k.shape, v.shape) || !same(q.shape.slice(0, r - 2), k.shape.slice(0, r - 2))) {
    throw new Error(`${name}: q [${q.shape}], k [${k.shape}], v [${v.shape}] must be [..., T, D], [..., Tk, D], [..., Tk, D]`);
  }
  const [t, d] = q.shape.slice(r - 2) as [number, number];
  const tk = k.shape[r - 2]!;
  if (k.shape[r - 1] !== d) throw new Error(`${name}: q has D = ${d}, k and v have ${k.shape[r - 1]}`);
  if (tk < t) throw new Error(`${name}: causal attention needs Tk ≥ T (queries are the last T keys), got T = ${t}, Tk = ${tk}`);
  return { bh: sizeOf(q.shape.slice(0, r - 2)), t, tk, d };
}

/** GptlabCausalAttention {q, k, v} attrs {scale} → [o (shape of q), lse [..., T]]. */
export function makeCausalAttention(addon: NativeAddon, backendName: string): KernelFunc {
  return (args) => {
    const { q, k, v } = args.inputs as Record<'q' | 'k' | 'v', TensorInfo>;
    const scale = ((args.attrs ?? {}) as { scale?: number }).scale ?? 1;
    const { bh, t, tk, d } = attentionDims('GptlabCausalAttention', q, k, v);
    const io = ioFor(backendName, args.backend);
    const o = io.output([...q.shape]);
    const lse = io.output(q.shape.slice(0, -1));
    if (bh * t * d > 0) {
      const [qv, kv, vv] = [need(io.view(q), 'q'), need(io.view(k), 'k'), need(io.view(v), 'v')];
      addon.attentionForward(qv, kv, vv, need(io.view(o), 'o'), need(io.view(lse), 'lse'), bh, t, tk, d, scale);
    }
    return [io.finish(o), io.finish(lse)];
  };
}

/** GptlabCausalAttentionGrad {q, k, v, o, lse, dy} attrs {scale} → [dq, dk, dv]. */
export function makeCausalAttentionGrad(addon: NativeAddon, backendName: string): KernelFunc {
  return (args) => {
    const { q, k, v, o, lse, dy } = args.inputs as Record<'q' | 'k' | 'v' | 'o' | 'lse' | 'dy', TensorInfo>;
    const scale = ((args.attrs ?? {}) as { scale?: number }).scale ?? 1;
    const { bh, t, tk, d } = attentionDims('GptlabCausalAttentionGrad', q, k, v);
    const io = ioFor(backendName, args.backend);
    const dq = io.output([...q.shape]);
    const dk = io.output([...k.shape]);
    const dv = io.output([...v.shape]);
    if (bh * tk * d > 0) {
      const named = { q, k, v, o, lse, dy, dq, dk, dv };
      const w = Object.fromEntries(Object.entries(named).map(([n, x]) => [n, need(io.view(x), n)])) as Record<keyof typeof named, F32>;
      addon.attentionBackward(w.q, w.k, w.v, w.o, w.lse, w.dy, w.dq, w.dk, w.dv, bh, t, tk, d, scale);
    }
    return [io.finish(dq), io.finish(dk), io.finish(dv)];
  };
}
