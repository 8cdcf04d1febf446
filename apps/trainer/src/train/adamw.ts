// AdamW written by hand (Loshchilov & Hutter 2019; PyTorch's torch.optim.AdamW update order):
//   p ← p − lr·λ·p                       (decoupled weight decay, only on params that decay)
//   m ← β1·m + (1 − β1)·g ;  v ← β2·v + (1 − β2)·g²
//   p ← p − lr · (m / (1 − β1ᵗ)) / (√(v / (1 − β2ᵗ)) + ε)
// GPT-3 hyper-parameters as defaults: β1 0.9, β2 0.95, ε 1e-8, weight decay 0.1 (Brown et al. 2020).
// Decay applies to matrices only: not to biases, LayerNorm gains, or embeddings (wte/wpe).
// The moments live in JS Float32Arrays and the update is one fused loop per parameter (float64 arithmetic,
// float32 storage): a chain of tfjs ops made ~12 full passes and allocations per parameter. Gradients can
// come as tensors (apply) or as one flat array in a parameter layout (applyFlat, the worker-thread path,
// which updates the flat weights in place and folds gradient clipping into the same pass). With
// @gptlab/tensor-native, apply() runs each parameter's update as its kernel GptlabAdamW: the same bits in one
// native pass, written straight into the new parameter tensor.
import { tf, readFloat32 } from '@gptlab/tensor';

/** @gptlab/tensor-native's fused AdamW kernel (registered only when the native kernels are active). */
const NATIVE_ADAMW = 'GptlabAdamW';

export interface AdamWOptions {
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
  /** Which parameters decay; default `defaultDecays` (rank-2 weights that are not embeddings). */
  decays?: (name: string, variable: tf.Variable) => boolean;
}

/** Rank ≥ 2 and not an embedding table (wte, wpe, or any name containing "embed"). */
export function defaultDecays(name: string, v: tf.Variable | tf.Tensor): boolean {
  if (v.rank < 2) return false;
  return !/(^|\.)(wte|wpe)(\.|$)|embed/i.test(name);
}

/** Where one parameter sits in a flat array of all parameters (the worker-thread layout). */
export interface FlatParam {
  name: string;
  shape: number[];
  offset: number;
  size: number;
}

interface Slot {
  m: Float32Array;
  v: Float32Array;
  shape: number[];
}

export class AdamW {
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  private readonly decays: (name: string, v: tf.Tensor) => boolean;
  /** Number of updates applied (t in the bias corrections). */
  step = 0;
  private slots = new Map<string, Slot>();
  private buffer = new Float32Array(0);

  constructor(options: AdamWOptions = {}) {
    this.beta1 = options.beta1 ?? 0.9;
    this.beta2 = options.beta2 ?? 0.95;
    this.eps = options.eps ?? 1e-8;
    this.weightDecay = options.weightDecay ?? 0.1;
    this.decays = (options.decays ?? defaultDecays) as (name: string, v: tf.Tensor) => boolean;
    for (const [k, b] of [
      ['beta1', this.beta1],
      ['beta2', this.beta2],
    ] as const) {
      if (!(b >= 0 && b < 1)) throw new Error(`AdamW: ${k} must be in [0, 1), got ${b}`);
    }
    if (!(this.eps > 0)) throw new Error(`AdamW: eps must be > 0, got ${this.eps}`);
    if (!(this.weightDecay >= 0)) throw new Error(`AdamW: weightDecay must be ≥ 0, got ${this.weightDecay}`);
  }

  /** Whether `name` gets weight decay under this optimizer's rule. */
  decaysParam(name: string, v: tf.Variable | { rank: number; shape: number[] }): boolean {
    return this.weightDecay > 0 && this.decays(name, v as tf.Tensor);
  }

  private slot(name: string, shape: number[], size: number): Slot {
    let s = this.slots.get(name);
    if (!s) {
      s = { m: new Float32Array(size), v: new Float32Array(size), shape: [...shape] };
      this.slots.set(name, s);
    }
    if (s.m.length !== size) throw new Error(`AdamW: "${name}" has ${size} values, its moments ${s.m.length}`);
    return s;
  }

  /** A reused output buffer of `size` values (tf.tensor copies it on wasm; other backends may keep it, so a fresh one there). */
  private scratch(size: number): Float32Array {
    if (tf.getBackend() !== 'wasm') return new Float32Array(size);
    if (this.buffer.length < size) this.buffer = new Float32Array(size);
    return this.buffer.subarray(0, size);
  }

  /** Starts an update: advances t and returns the coefficients every parameter shares. */
  private begin(lr: number): { stepSize: number; bc2: number } {
    if (!Number.isFinite(lr)) throw new Error(`AdamW: learning rate must be finite, got ${lr}`);
    this.step += 1;
    const t = this.step;
    return { stepSize: lr / (1 - Math.pow(this.beta1, t)), bc2: 1 - Math.pow(this.beta2, t) };
  }

  /** The fused update of one parameter: `out` = `p` updated with gradient `g`·gradScale (`out` may be `p`). */
  private update(
    s: Slot,
    p: Float32Array,
    out: Float32Array,
    g: Float32Array,
    decay: number,
    stepSize: number,
    bc2: number,
    gradScale: number,
  ): void {
    const c = { beta1: this.beta1, beta2: this.beta2, eps: this.eps, keep: 1 - decay, stepSize, invBc2: 1 / bc2, gradScale };
    adamwElements(p, out, s.m, s.v, g, c);
  }

  /**
   * The coefficients of the next update (t = step + 1) without taking it, for updates applied elsewhere
   * (gradient workers, on ranges of `shareMoments`); commitStep() then counts it.
   */
  nextCoefficients(lr: number): { stepSize: number; invBc2: number } {
    const { stepSize, bc2 } = this.begin(lr);
    this.step -= 1;
    return { stepSize, invBc2: 1 / bc2 };
  }

  commitStep(): void {
    this.step += 1;
  }

  private sharedMoments: { m: Float32Array; v: Float32Array; layout: readonly FlatParam[] } | null = null;

  /**
   * The moments of the parameters in `layout` as two flat arrays over SharedArrayBuffers (worker threads
   * update their ranges in place). The slots become views of them, so checkpoints (stateArrays) read what the
   * workers wrote; loadState and dispose replace the slots, and the next call shares the new ones.
   */
  shareMoments(layout: readonly FlatParam[]): { m: Float32Array; v: Float32Array } {
    if (this.sharedMoments?.layout === layout) return this.sharedMoments;
    const total = layout.reduce((a, l) => Math.max(a, l.offset + l.size), 0);
    const m = new Float32Array(new SharedArrayBuffer(total * 4));
    const v = new Float32Array(new SharedArrayBuffer(total * 4));
    for (const l of layout) {
      const old = this.slots.get(l.name);
      if (old && old.m.length !== l.size) throw new Error(`AdamW: "${l.name}" has ${l.size} values, its moments ${old.m.length}`);
      const s = { m: m.subarray(l.offset, l.offset + l.size), v: v.subarray(l.offset, l.offset + l.size), shape: [...l.shape] };
      if (old) {
        s.m.set(old.m);
        s.v.set(old.v);
      }
      this.slots.set(l.name, s);
    }
    this.sharedMoments = { m, v, layout };
    return this.sharedMoments;
  }

  /**
   * One update of every parameter in `params` with the matching gradient in `grads` (same names), the
   * gradients scaled by `gradScale` (global-norm clipping). Gradients are not disposed (the caller owns
   * them). Parameters without a gradient are left alone.
   */
  apply(params: Record<string, tf.Variable>, grads: Record<string, tf.Tensor>, lr: number, gradScale = 1): void {
    const { stepSize, bc2 } = this.begin(lr);
    const native = tf.getKernel(NATIVE_ADAMW, tf.getBackend()) !== undefined;
    for (const [name, p] of Object.entries(params)) {
      const g = grads[name];
      if (!g) continue;
      if (g.size !== p.size) throw new Error(`AdamW: gradient for ${name} has shape [${g.shape}], parameter [${p.shape}]`);
      const s = this.slot(name, p.shape, p.size);
      const decay = this.decaysParam(name, p) ? lr * this.weightDecay : 0;
      if (native && p.dtype === 'float32' && g.dtype === 'float32') {
        const coefficients = { beta1: this.beta1, beta2: this.beta2, eps: this.eps, keep: 1 - decay, stepSize, invBc2: 1 / bc2 };
        const attrs = { m: s.m, v: s.v, ...coefficients, gradScale } as unknown as tf.NamedAttrMap;
        const next = tf.engine().runKernel(NATIVE_ADAMW, { param: p, grad: g }, attrs) as tf.Tensor;
        p.assign(next);
        next.dispose();
        continue;
      }
      // Reads without copies (wasm: views of the heap, valid until the tensor below is allocated); the new
      // values go to a reused buffer. Fresh 20 MB arrays per step cost more than the arithmetic.
      const out = this.scratch(p.size);
      this.update(s, readFloat32(p), out, readFloat32(g), decay, stepSize, bc2, gradScale);
      const next = tf.tensor(out, p.shape, 'float32');
      p.assign(next);
      next.dispose();
    }
  }

  /**
   * One update of the parameters laid out in the flat array `params` (changed in place) with the flat mean
   * gradient `grads` (same layout) scaled by `gradScale`.
   */
  applyFlat(layout: readonly FlatParam[], params: Float32Array, grads: Float32Array, lr: number, gradScale = 1): void {
    const { stepSize, bc2 } = this.begin(lr);
    for (const l of layout) {
      const s = this.slot(l.name, l.shape, l.size);
      const decay = this.decaysParam(l.name, { rank: l.shape.length, shape: l.shape }) ? lr * this.weightDecay : 0;
      const p = params.subarray(l.offset, l.offset + l.size);
      this.update(s, p, p, grads.subarray(l.offset, l.offset + l.size), decay, stepSize, bc2, gradScale);
    }
  }

  /** Moments by name ("m.<param>", "v.<param>") with their shapes, for checkpoints; the arrays stay owned here. */
  stateArrays(): Record<string, { shape: number[]; data: Float32Array }> {
    const out: Record<string, { shape: number[]; data: Float32Array }> = {};
    for (const [name, s] of this.slots) {
      out[`m.${name}`] = { shape: s.shape, data: s.m };
      out[`v.${name}`] = { shape: s.shape, data: s.v };
    }
    return out;
  }

  stateMeta(): { step: number; beta1: number; beta2: number; eps: number; weightDecay: number } {
    return { step: this.step, beta1: this.beta1, beta2: this.beta2, eps: this.eps, weightDecay: this.weightDecay };
  }

  /** Restores moments from `arrays` (as written by stateArrays); copies them. */
  loadState(step: number, arrays: Record<string, Float32Array>, params: Record<string, { size: number; shape: number[] }>): void {
    this.dispose();
    this.step = step;
    for (const [name, p] of Object.entries(params)) {
      const m = arrays[`m.${name}`];
      const v = arrays[`v.${name}`];
      if (!m && !v) continue;
      if (!m || !v) throw new Error(`optimizer state: "${name}" has only one of its two moments`);
      if (m.length !== p.size || v.length !== p.size) {
        throw new Error(`optimizer state: moments of "${name}" have ${m.length} values, the parameter has ${p.size}`);
      }
      this.slots.set(name, { m: Float32Array.from(m), v: Float32Array.from(v), shape: [...p.shape] });
    }
  }

  /** Drops the moments (nothing else to free: they are JS arrays). */
  dispose(): void {
    this.slots.clear();
    this.sharedMoments = null;
  }
}

/** What one AdamW update shares across elements (keep = 1 − lr·λ for decaying parameters, else 1). */
export type AdamWCoefficients = Record<'beta1' | 'beta2' | 'eps' | 'keep' | 'stepSize' | 'invBc2' | 'gradScale', number>;

/**
 * The fused AdamW update of aligned arrays: `out` = `p` updated with gradient `g`·gradScale, moments `m`, `v`
 * in place (`out` may be `p`). AdamW.apply/applyFlat and the gradient workers (their ranges) all run this loop.
 */
export function adamwElements(
  p: Float32Array,
  out: Float32Array,
  m: Float32Array,
  v: Float32Array,
  g: Float32Array,
  c: AdamWCoefficients,
): void {
  const b1 = c.beta1;
  const b2 = c.beta2;
  const c1 = 1 - b1;
  const c2 = 1 - b2;
  const { keep, eps, stepSize, invBc2, gradScale } = c;
  for (let i = 0; i < p.length; i++) {
    const gi = g[i]! * gradScale;
    const mi = b1 * m[i]! + c1 * gi;
    const vi = b2 * v[i]! + c2 * gi * gi;
    m[i] = mi;
    v[i] = vi;
    // Moments are rounded to float32 before use, as a float32 implementation stores them.
    out[i] = p[i]! * keep - (stepSize * m[i]!) / (Math.sqrt(v[i]! * invBc2) + eps);
  }
}
