// GPT-1 supervised fine-tuning (Radford et al. 2018, §3.2): the pretrained decoder plus a linear head on the
// hidden state at the extract token, trained on L3 = L2 (task) + λ·L1 (auxiliary language modelling on the
// same inputs; λ = 0.5 in the paper). Settings default to the paper's: lr 6.25e-5, linear warm-up over 0.2%
// of training then linear decay, 3 epochs, classifier dropout 0.1, weight decay 0.01.
import { tf, crossEntropy, IGNORE_INDEX, Rng } from '@gptlab/tensor';
import { TaskHead, type GPT } from '@gptlab/model';
import { AdamW } from '../train/adamw';
import { clipByGlobalNorm } from '../train/clip';
import { formatExample, GPT1_SPECIAL_TOKENS, type FormatTokenizer, type FormattedExample, type TaskKind } from './formats';
import type { TaskDataset } from './wordnet-tasks';

export interface FinetuneOptions {
  epochs?: number;
  batchSize?: number;
  lr?: number;
  /** Fraction of all steps spent warming up (GPT-1: 0.2%). */
  warmupFraction?: number;
  /** λ of the auxiliary LM loss (GPT-1: 0.5; 0 turns it off). */
  auxLmWeight?: number;
  clfDropout?: number;
  weightDecay?: number;
  seed?: number;
  /** Cut examples longer than the context instead of failing. */
  truncate?: boolean;
  /** Stop after this many optimizer steps (smoke tests, time-boxed experiments). */
  maxSteps?: number;
  onStep?: (s: { step: number; total: number; loss: number; taskLoss: number; lmLoss: number; lr: number }) => void;
}

export interface FinetuneResult {
  head: TaskHead;
  steps: number;
  history: { step: number; loss: number; taskLoss: number; lmLoss: number }[];
  dev: number;
  test: number;
}

/** Outputs of the head: one per class, or one score per option for multiple choice. */
export function headOutputs(kind: TaskKind, labels: string[]): number {
  return kind === 'mc' ? 1 : labels.length;
}

/** Adds <s> <$> <e> to the tokenizer if missing and grows the model's embedding to the new vocabulary. */
export function prepareForTasks(model: GPT, tok: FormatTokenizer & { addSpecialTokens(t: readonly string[]): number[]; vocabSize: number }): void {
  tok.addSpecialTokens(GPT1_SPECIAL_TOKENS);
  if (tok.vocabSize > model.config.vocabSize) model.resizeTokenEmbeddings(tok.vocabSize);
}

export function formatAll(ds: TaskDataset, split: 'train' | 'dev' | 'test', tok: FormatTokenizer, maxLength: number, truncate = false): FormattedExample[] {
  return ds[split].map((ex, i) => formatExample(ex, tok, { maxLength, truncate, where: `${split} example ${i + 1}` }));
}

interface Batch {
  ids: tf.Tensor2D;
  targets: tf.Tensor2D;
  extract: tf.Tensor1D;
  labels: tf.Tensor1D;
  examples: number;
  perExample: number;
}

/** Right-pads every sequence of the examples into one [rows, T] batch (causal attention makes right padding safe). */
function makeBatch(exs: FormattedExample[]): Batch {
  const rows = exs.flatMap((e) => e.sequences);
  const perExample = exs[0]!.sequences.length;
  for (const e of exs) {
    if (e.sequences.length !== perExample) throw new Error('all examples of a batch need the same number of sequences (options)');
  }
  const T = Math.max(...rows.map((r) => r.length));
  const ids = new Int32Array(rows.length * T);
  const targets = new Int32Array(rows.length * T).fill(IGNORE_INDEX);
  const extract = new Int32Array(rows.length);
  rows.forEach((r, i) => {
    ids.set(r, i * T);
    // LM targets: the next token, up to the extract token (nothing is predicted after <e>).
    for (let t = 0; t + 1 < r.length; t++) targets[i * T + t] = r[t + 1]!;
    extract[i] = i * T + r.length - 1;
  });
  return {
    ids: tf.tensor2d(ids, [rows.length, T], 'int32'),
    targets: tf.tensor2d(targets, [rows.length, T], 'int32'),
    extract: tf.tensor1d(extract, 'int32'),
    labels: tf.tensor1d(exs.map((e) => e.label), 'int32'),
    examples: exs.length,
    perExample,
  };
}

function disposeBatch(b: Batch): void {
  tf.dispose([b.ids, b.targets, b.extract, b.labels]);
}

/** Task scores [examples, classes or options] from a batch. */
function taskScores(kind: TaskKind, model: GPT, head: TaskHead, b: Batch, training: boolean, seed: number): { scores: tf.Tensor2D; logits: tf.Tensor3D } {
  const { logits, hidden } = model.forward(b.ids, { training, seed, outputHidden: true });
  const C = hidden!.shape[2];
  const flat = tf.reshape(hidden!, [-1, C]);
  let h = tf.gather(flat, b.extract); // [rows, C]
  if (kind === 'sim') h = tf.sum(tf.reshape(h, [b.examples, b.perExample, C]), 1); // both orders added
  const n = h.shape[0]!;
  const out = head.forward(tf.reshape(h, [n, 1, C]) as tf.Tensor3D, new Array(n).fill(0), { training, seed: seed + 1 });
  const scores = kind === 'mc' ? (tf.reshape(out, [b.examples, b.perExample]) as tf.Tensor2D) : out;
  return { scores, logits };
}

export function accuracy(kind: TaskKind, model: GPT, head: TaskHead, data: FormattedExample[], batchSize = 16): number {
  if (data.length === 0) return NaN;
  let correct = 0;
  for (let i = 0; i < data.length; i += batchSize) {
    const b = makeBatch(data.slice(i, i + batchSize));
    const pred = tf.tidy(() => tf.argMax(taskScores(kind, model, head, b, false, 0).scores, 1).dataSync());
    const labels = b.labels.dataSync();
    for (let j = 0; j < labels.length; j++) if (pred[j] === labels[j]) correct++;
    disposeBatch(b);
  }
  return correct / data.length;
}

export async function finetune(
  model: GPT,
  ds: TaskDataset,
  tok: FormatTokenizer,
  opts: FinetuneOptions = {},
): Promise<FinetuneResult> {
  const given = Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)) as FinetuneOptions;
  const o = { epochs: 3, batchSize: 8, lr: 6.25e-5, warmupFraction: 0.002, auxLmWeight: 0.5, clfDropout: 0.1, weightDecay: 0.01, seed: 0, ...given };
  const maxLength = model.config.nPositions;
  const train = formatAll(ds, 'train', tok, maxLength, o.truncate);
  const dev = formatAll(ds, 'dev', tok, maxLength, o.truncate);
  const test = formatAll(ds, 'test', tok, maxLength, o.truncate);
  if (train.length === 0) throw new Error('fine-tuning needs at least one training example');
  const head = new TaskHead(model.config.nEmbd, headOutputs(ds.kind, ds.labels), { seed: o.seed + 17, dropout: o.clfDropout });
  const params: Record<string, tf.Variable> = {};
  for (const v of [...model.trainableVariables(), ...head.variables()]) params[v.name] = v;
  const optimizer = new AdamW({ beta1: 0.9, beta2: 0.999, weightDecay: o.weightDecay, decays: (name, v) => v.rank >= 2 && !/wte|wpe|embed/.test(name) });
  const stepsPerEpoch = Math.ceil(train.length / o.batchSize);
  const total = Math.min(o.maxSteps ?? Infinity, stepsPerEpoch * o.epochs);
  const warmup = Math.max(1, Math.round(total * o.warmupFraction));
  // GPT-1: linear warm-up, then linear decay to 0.
  const lrAt = (s: number) => (s < warmup ? (o.lr * (s + 1)) / warmup : (o.lr * Math.max(0, total - s)) / Math.max(1, total - warmup));
  const rng = new Rng(o.seed);
  const history: FinetuneResult['history'] = [];
  let step = 0;
  outer: for (let epoch = 0; epoch < o.epochs; epoch++) {
    const order = train.map((_, i) => i);
    for (let i = order.length - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    for (let s = 0; s < order.length; s += o.batchSize) {
      if (step >= total) break outer;
      const b = makeBatch(order.slice(s, s + o.batchSize).map((i) => train[i]!));
      const seed = rng.seed();
      let taskLoss = 0;
      let lmLoss = 0;
      const { value, grads } = tf.variableGrads(() => {
        const { scores, logits } = taskScores(ds.kind, model, head, b, true, seed);
        const l2 = crossEntropy(scores, b.labels);
        const l1 = o.auxLmWeight > 0 ? crossEntropy(logits, b.targets) : tf.scalar(0);
        taskLoss = l2.dataSync()[0]!;
        lmLoss = l1.dataSync()[0]!;
        return tf.add(l2, tf.mul(o.auxLmWeight, l1)) as tf.Scalar;
      }, Object.values(params));
      disposeBatch(b);
      const loss = (await value.data())[0]!;
      value.dispose();
      if (!Number.isFinite(loss)) {
        tf.dispose(Object.values(grads));
        throw new Error(`fine-tuning loss became ${loss} at step ${step}`);
      }
      await clipByGlobalNorm(grads, 1.0);
      const lr = lrAt(step);
      optimizer.apply(params, grads, lr);
      tf.dispose(Object.values(grads));
      history.push({ step, loss, taskLoss, lmLoss });
      o.onStep?.({ step, total, loss, taskLoss, lmLoss, lr });
      step++;
    }
  }
  optimizer.dispose();
  return { head, steps: step, history, dev: accuracy(ds.kind, model, head, dev), test: accuracy(ds.kind, model, head, test) };
}
