// GPT-1 fine-tuning head (Radford et al. 2018, §3.2): a linear layer on the last layer's hidden state at the
// extract token <e>, trained together with the LM objective (L2 + λ·L1). nClasses outputs for classification
// and entailment; 1 output (a score per option, softmax over options) for multiple choice.
import { tf, dropout, linear, mixSeed } from '@gptlab/tensor';
import { normalArray } from './layers';

export interface TaskHeadOptions {
  /** Seed of the initial weights (N(0, 0.02), bias 0). */
  seed?: number;
  /** Name prefix of the saved tensors: `${name}.weight` [C, nClasses] and `${name}.bias` [nClasses]. */
  name?: string;
  /** Dropout on the extracted hidden state while training (GPT-1: 0.1). */
  dropout?: number;
}

let nextHeadId = 0;

export class TaskHead {
  readonly nEmbd: number;
  readonly nClasses: number;
  readonly name: string;
  readonly dropoutRate: number;
  readonly weight: tf.Variable;
  readonly bias: tf.Variable;

  constructor(nEmbd: number, nClasses: number, opts: TaskHeadOptions = {}) {
    if (!Number.isInteger(nEmbd) || nEmbd < 1) throw new Error(`TaskHead: nEmbd must be a positive integer, got ${nEmbd}`);
    if (!Number.isInteger(nClasses) || nClasses < 1) throw new Error(`TaskHead: nClasses must be a positive integer, got ${nClasses}`);
    const rate = opts.dropout ?? 0.1;
    if (!(rate >= 0 && rate < 1)) throw new Error(`TaskHead: dropout must be in [0, 1), got ${rate}`);
    this.nEmbd = nEmbd;
    this.nClasses = nClasses;
    this.name = opts.name ?? 'task_head';
    this.dropoutRate = rate;
    const id = nextHeadId++;
    const w0 = tf.tensor2d(normalArray(nEmbd * nClasses, 0.02, mixSeed(opts.seed ?? 0)), [nEmbd, nClasses]);
    const b0 = tf.zeros([nClasses]);
    this.weight = tf.variable(w0, true, `taskhead${id}/${this.name}.weight`);
    this.bias = tf.variable(b0, true, `taskhead${id}/${this.name}.bias`);
    tf.dispose([w0, b0]);
  }

  /** A head restored from saved tensors (e.g. model.extraTensors after loadGPT). */
  static fromTensors(
    tensors: Map<string, tf.Tensor> | Record<string, tf.Tensor>,
    name = 'task_head',
    opts: { dropout?: number } = {},
  ): TaskHead {
    const get = (k: string) => (tensors instanceof Map ? tensors.get(k) : tensors[k]);
    const w = get(`${name}.weight`);
    const b = get(`${name}.bias`);
    if (!w || !b) throw new Error(`TaskHead.fromTensors: missing '${name}.weight' or '${name}.bias'`);
    if (w.rank !== 2 || b.rank !== 1 || b.shape[0] !== w.shape[1]) {
      throw new Error(`TaskHead.fromTensors: '${name}.weight' [${w.shape}] and '${name}.bias' [${b.shape}] do not form a [C, n] head`);
    }
    const head = new TaskHead(w.shape[0]!, w.shape[1]!, { name, dropout: opts.dropout });
    head.weight.assign(w as tf.Tensor2D);
    head.bias.assign(b as tf.Tensor1D);
    return head;
  }

  /**
   * Scores [B, nClasses] from hidden states [B, T, C] at one position per row (the <e> token), given as an
   * array or an int32 tensor [B].
   */
  forward(hidden: tf.Tensor3D, positions: number[] | tf.Tensor1D, opts: { training?: boolean; seed?: number } = {}): tf.Tensor2D {
    if (!(hidden instanceof tf.Tensor) || hidden.rank !== 3 || hidden.shape[2] !== this.nEmbd) {
      throw new Error(`TaskHead.forward: hidden must be [batch, time, ${this.nEmbd}], got [${hidden?.shape}]`);
    }
    const [B, T] = hidden.shape as [number, number, number];
    const pos = positions instanceof tf.Tensor ? Array.from(positions.dataSync()) : positions;
    if (pos.length !== B) throw new Error(`TaskHead.forward: ${pos.length} positions for ${B} rows`);
    pos.forEach((p, i) => {
      if (!Number.isInteger(p) || p < 0 || p >= T) throw new Error(`TaskHead.forward: position ${p} of row ${i} is outside [0, ${T})`);
    });
    return tf.tidy(() => {
      const flat = tf.reshape(hidden, [B * T, this.nEmbd]);
      const idx = tf.tensor1d(
        pos.map((p, i) => i * T + p),
        'int32',
      );
      let h = tf.gather(flat, idx);
      if (opts.training && this.dropoutRate > 0) h = dropout(h, this.dropoutRate, mixSeed(opts.seed ?? 0));
      return linear(h, this.weight as tf.Tensor2D, this.bias as tf.Tensor1D) as tf.Tensor2D;
    });
  }

  variables(): tf.Variable[] {
    return [this.weight, this.bias];
  }

  /** The tensors to save with the model: saveGPT(model, dir, { extraTensors: head.tensors() }). */
  tensors(): Record<string, tf.Tensor> {
    return { [`${this.name}.weight`]: this.weight, [`${this.name}.bias`]: this.bias };
  }

  dispose(): void {
    this.weight.dispose();
    this.bias.dispose();
  }
}
