// Where gradients come from. One optimizer step consumes a list of micro-batches ("chunks") of equal size;
// the gradient is the mean of the chunks' gradients and the loss the mean of their losses, which equals
// the gradient/loss of the whole global batch. LocalGradients computes them in this thread (gradient
// accumulation = several chunks in sequence); WorkerGradients (parallel.ts) spreads chunks over threads.
import { tf } from '@gptlab/tensor';
import type { AdamW, FlatParam } from './adamw';

export interface LossContext {
  /** Seed for dropout and other randomness of this chunk. */
  seed: number;
  /** Optimizer step (0-based). */
  step: number;
  /** Index of the chunk within the step. */
  chunk: number;
  training: boolean;
  /**
   * Records a named part of the loss (a scalar the loss is built from, e.g. GPT-1's task and LM terms) for
   * the metrics. Local gradients only; worker threads ignore it.
   */
  report?: (name: string, value: tf.Scalar) => void;
}

/** A loss function: builds the scalar loss of one micro-batch from the current parameters. */
export type LossFn<B> = (batch: B, ctx: LossContext) => tf.Scalar;

export interface StepGradients {
  /** Mean loss over the chunks. */
  loss: number;
  /** Per-chunk losses (for diagnostics). */
  chunkLosses: number[];
  /** Means over the chunks of the parts the loss function reported. */
  parts?: Record<string, number>;
  /** Mean gradients by parameter name; the caller disposes them (empty when `flat` carries them). */
  grads: Record<string, tf.Tensor>;
  /**
   * The mean gradient as one flat array (worker threads): the optimizer updates `params` (the flat weights
   * the workers read) in place, then the source's paramsUpdated() copies them to the tensors; `updated`: the
   * source already applied the step it was handed (FlatUpdate).
   */
  flat?: { layout: FlatParam[]; grads: Float32Array; params: Float32Array; sumSquares: number; updated?: boolean };
}

/**
 * The optimizer step a gradient source may apply itself (worker threads update their ranges of the weights,
 * ZeRO-1 style); it then sets `flat.updated` and has counted the step (AdamW.commitStep).
 */
export interface FlatUpdate {
  optimizer: AdamW;
  lr: number;
  /** Global-norm clip (0 disables). */
  clip: number;
}

export interface GradientSource<B> {
  compute(chunks: B[], step: number, seeds: number[], update?: FlatUpdate): Promise<StepGradients>;
  /** Called after the optimizer changed the parameters (workers copy the new weights). */
  paramsUpdated?(): Promise<void> | void;
  dispose(): Promise<void> | void;
  /** Threads computing gradients (for MFU). */
  readonly workers: number;
}

/**
 * sum + grads by parameter name (`grads` keyed by tfjs variable names, renamed through `nameOf`); disposes
 * the previous sums and the added gradients, returns the new sums.
 */
export function addGradients(
  sum: Record<string, tf.Tensor>,
  grads: tf.NamedTensorMap,
  nameOf: Map<string, string>,
): Record<string, tf.Tensor> {
  const next: Record<string, tf.Tensor> = {};
  for (const [vname, g] of Object.entries(grads)) {
    const name = nameOf.get(vname) ?? vname;
    const prev = sum[name];
    if (prev) {
      next[name] = tf.add(prev, g);
      prev.dispose();
      g.dispose();
    } else next[name] = g;
  }
  return next;
}

export class LocalGradients<B> implements GradientSource<B> {
  readonly workers = 1;
  private readonly varList: tf.Variable[];
  private readonly nameOf = new Map<string, string>();

  constructor(
    private readonly params: Record<string, tf.Variable>,
    private readonly lossFn: LossFn<B>,
  ) {
    this.varList = Object.values(params);
    for (const [name, v] of Object.entries(params)) this.nameOf.set(v.name, name);
  }

  async compute(chunks: B[], step: number, seeds: number[]): Promise<StepGradients> {
    if (chunks.length === 0) throw new Error('a step needs at least one micro-batch');
    let sum: Record<string, tf.Tensor> = {};
    const lossTensors: tf.Scalar[] = [];
    // Reported parts outlive the gradient's tidy scope (kept), read once after the step.
    const reported: { name: string; value: tf.Scalar }[] = [];
    const report = (name: string, value: tf.Scalar) => void reported.push({ name, value: tf.keep(value) });
    try {
      for (let i = 0; i < chunks.length; i++) {
        const { value, grads } = tf.variableGrads(
          () => this.lossFn(chunks[i]!, { seed: seeds[i] ?? 0, step, chunk: i, training: true, report }),
          this.varList,
        );
        lossTensors.push(value);
        sum = addGradients(sum, grads, this.nameOf);
        // Let the event loop breathe between chunks (SIGINT, progress) without holding tidy scopes.
        if (chunks.length > 1) await new Promise((r) => setImmediate(r));
      }
      const chunkLosses: number[] = [];
      for (const l of lossTensors) chunkLosses.push((await l.data())[0]!);
      const parts: Record<string, number> = {};
      for (const { name, value } of reported) parts[name] = (parts[name] ?? 0) + (await value.data())[0]! / chunks.length;
      if (chunks.length > 1) {
        const inv = 1 / chunks.length;
        for (const [k, g] of Object.entries(sum)) {
          sum[k] = tf.mul(g, inv);
          g.dispose();
        }
      }
      const loss = chunkLosses.reduce((a, b) => a + b, 0) / chunkLosses.length;
      const out = sum;
      sum = {};
      return { loss, chunkLosses, parts, grads: out };
    } finally {
      for (const l of lossTensors) l.dispose();
      for (const { value } of reported) value.dispose();
      for (const g of Object.values(sum)) g.dispose();
    }
  }

  dispose(): void {}
}
