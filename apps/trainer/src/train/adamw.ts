// AdamW written by hand (Loshchilov & Hutter 2019; PyTorch's torch.optim.AdamW update order):
//   p ← p − lr·λ·p                       (decoupled weight decay, only on params that decay)
//   m ← β1·m + (1 − β1)·g ;  v ← β2·v + (1 − β2)·g²
//   p ← p − lr · (m / (1 − β1ᵗ)) / (√(v / (1 − β2ᵗ)) + ε)
// GPT-3 hyper-parameters as defaults: β1 0.9, β2 0.95, ε 1e-8, weight decay 0.1 (Brown et al. 2020).
// Decay applies to matrices only: not to biases, LayerNorm gains, or embeddings (wte/wpe).
import { tf } from '@gptlab/tensor';

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

interface Slot {
  m: tf.Variable;
  v: tf.Variable;
}

export class AdamW {
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  private readonly decays: (name: string, v: tf.Variable) => boolean;
  /** Number of updates applied (t in the bias corrections). */
  step = 0;
  private slots = new Map<string, Slot>();

  constructor(options: AdamWOptions = {}) {
    this.beta1 = options.beta1 ?? 0.9;
    this.beta2 = options.beta2 ?? 0.95;
    this.eps = options.eps ?? 1e-8;
    this.weightDecay = options.weightDecay ?? 0.1;
    this.decays = options.decays ?? defaultDecays;
    for (const [k, b] of [['beta1', this.beta1], ['beta2', this.beta2]] as const) {
      if (!(b >= 0 && b < 1)) throw new Error(`AdamW: ${k} must be in [0, 1), got ${b}`);
    }
    if (!(this.eps > 0)) throw new Error(`AdamW: eps must be > 0, got ${this.eps}`);
    if (!(this.weightDecay >= 0)) throw new Error(`AdamW: weightDecay must be ≥ 0, got ${this.weightDecay}`);
  }

  /** Whether `name` gets weight decay under this optimizer's rule. */
  decaysParam(name: string, v: tf.Variable): boolean {
    return this.weightDecay > 0 && this.decays(name, v);
  }

  private slot(name: string, p: tf.Variable): Slot {
    let s = this.slots.get(name);
    if (!s) {
      // Created inside tidy so the zero temporaries are freed (variables survive a tidy).
      s = tf.tidy(() => ({ m: tf.variable(tf.zerosLike(p), false), v: tf.variable(tf.zerosLike(p), false) }));
      this.slots.set(name, s);
    }
    return s;
  }

  /**
   * One update of every parameter in `params` with the matching gradient in `grads` (same names). Gradients
   * are not disposed (the caller owns them). Parameters without a gradient are left alone.
   */
  apply(params: Record<string, tf.Variable>, grads: Record<string, tf.Tensor>, lr: number): void {
    if (!Number.isFinite(lr)) throw new Error(`AdamW: learning rate must be finite, got ${lr}`);
    this.step += 1;
    const t = this.step;
    const bc1 = 1 - Math.pow(this.beta1, t);
    const bc2 = 1 - Math.pow(this.beta2, t);
    const stepSize = lr / bc1;
    const b1 = this.beta1;
    const b2 = this.beta2;
    for (const [name, p] of Object.entries(params)) {
      const g = grads[name];
      if (!g) continue;
      if (g.size !== p.size) throw new Error(`AdamW: gradient for ${name} has shape [${g.shape}], parameter [${p.shape}]`);
      const s = this.slot(name, p);
      const decay = this.decaysParam(name, p) ? lr * this.weightDecay : 0;
      tf.tidy(() => {
        const gr = g.shape.length === p.shape.length ? g : tf.reshape(g, p.shape);
        const m = tf.add(tf.mul(s.m, b1), tf.mul(gr, 1 - b1));
        const v = tf.add(tf.mul(s.v, b2), tf.mul(tf.mul(gr, gr), 1 - b2));
        s.m.assign(m);
        s.v.assign(v);
        const denom = tf.add(tf.sqrt(tf.div(v, bc2)), this.eps);
        const base = decay > 0 ? tf.mul(p, 1 - decay) : p;
        p.assign(tf.sub(base, tf.mul(tf.div(m, denom), stepSize)));
      });
    }
  }

  /** Moment tensors by name ("m.<param>", "v.<param>") for checkpoints; the tensors stay owned here. */
  stateTensors(): Record<string, tf.Tensor> {
    const out: Record<string, tf.Tensor> = {};
    for (const [name, s] of this.slots) {
      out[`m.${name}`] = s.m;
      out[`v.${name}`] = s.v;
    }
    return out;
  }

  stateMeta(): { step: number; beta1: number; beta2: number; eps: number; weightDecay: number } {
    return { step: this.step, beta1: this.beta1, beta2: this.beta2, eps: this.eps, weightDecay: this.weightDecay };
  }

  /** Restores moments from `tensors` (as written by stateTensors); copies them. */
  loadState(step: number, tensors: Record<string, tf.Tensor>, params: Record<string, tf.Variable>): void {
    this.dispose();
    this.step = step;
    for (const [name, p] of Object.entries(params)) {
      const m = tensors[`m.${name}`];
      const v = tensors[`v.${name}`];
      if (!m && !v) continue;
      if (!m || !v) throw new Error(`optimizer state: "${name}" has only one of its two moments`);
      if (m.size !== p.size || v.size !== p.size) {
        throw new Error(`optimizer state: moments of "${name}" have ${m.size} values, the parameter has ${p.size}`);
      }
      this.slots.set(name, {
        m: tf.variable(tf.tidy(() => tf.reshape(m, p.shape)), false),
        v: tf.variable(tf.tidy(() => tf.reshape(v, p.shape)), false),
      });
    }
  }

  dispose(): void {
    for (const s of this.slots.values()) {
      s.m.dispose();
      s.v.dispose();
    }
    this.slots.clear();
  }
}
