// GPT-1's fine-tuning objective (Radford et al. 2018, §3.2–3.3): the pretrained decoder reads each input
// sequence, a linear head scores the hidden state at the extract token <e>, and the loss is
// L3 = L2 (task cross-entropy) + λ·L1 (language modelling on the same inputs).
//   similarity: both orderings are read and their hidden states added before the head;
//   multiple choice: one score per candidate, a softmax over the candidates.
import { tf, crossEntropy, IGNORE_INDEX } from '@gptlab/tensor';
import type { GPT, TaskHead } from '@gptlab/model';
import type { LossFn } from '../train/gradients';
import type { FormattedExample, TaskKind } from './formats';

/** Examples as one right-padded batch of token rows (causal attention makes right padding safe). */
export interface TaskBatch {
  /** [rows, T] input ids. */
  ids: Int32Array;
  /** [rows, T] next-token targets up to <e>, IGNORE_INDEX after it. */
  targets: Int32Array;
  rows: number;
  T: number;
  /** Flat index (row·T + position) of each row's <e> token. */
  extract: Int32Array;
  /** One label per example. */
  labels: Int32Array;
  examples: number;
  /** Rows per example: 1, 2 (similarity: both orderings) or the number of candidates (multiple choice). */
  perExample: number;
}

/** Outputs of the head: one per class, or one score per candidate for multiple choice. */
export function headOutputs(kind: TaskKind, labels: string[]): number {
  return kind === 'mc' ? 1 : labels.length;
}

export function makeBatch(exs: FormattedExample[]): TaskBatch {
  const rows = exs.flatMap((e) => e.sequences);
  const perExample = exs[0]!.sequences.length;
  if (exs.some((e) => e.sequences.length !== perExample))
    throw new Error('all examples of a batch need the same number of sequences (options)');
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
  return { ids, targets, rows: rows.length, T, extract, labels: Int32Array.from(exs, (e) => e.label), examples: exs.length, perExample };
}

/**
 * Task scores [examples, classes] (or [examples, candidates] for multiple choice) and the LM logits
 * [rows, T, vocab] of a batch.
 */
export function taskScores(
  kind: TaskKind,
  model: GPT,
  head: TaskHead,
  b: TaskBatch,
  opts: { training: boolean; seed: number },
): { scores: tf.Tensor2D; logits: tf.Tensor3D } {
  return tf.tidy(() => {
    const ids = tf.tensor2d(b.ids, [b.rows, b.T], 'int32');
    const { logits, hidden } = model.forward(ids, { training: opts.training, seed: opts.seed, outputHidden: true });
    const C = hidden!.shape[2];
    let h = tf.gather(tf.reshape(hidden!, [-1, C]), tf.tensor1d(b.extract, 'int32')); // [rows, C]
    if (kind === 'sim') h = tf.sum(tf.reshape(h, [b.examples, b.perExample, C]), 1); // both orderings added
    const n = h.shape[0]!;
    const out = head.forward(tf.reshape(h, [n, 1, C]) as tf.Tensor3D, new Array<number>(n).fill(0), {
      training: opts.training,
      seed: opts.seed + 1,
    });
    const scores = kind === 'mc' ? (tf.reshape(out, [b.examples, b.perExample]) as tf.Tensor2D) : out;
    return { scores, logits };
  });
}

/**
 * L3 = L2 + λ·L1 over a batch. Reports `task_loss` (L2) and `lm_loss` (L1, also when λ = 0: then it is
 * watched, not trained).
 */
export function gpt1Loss(kind: TaskKind, model: GPT, head: TaskHead, auxLmWeight: number): LossFn<TaskBatch> {
  return (b, ctx) =>
    tf.tidy(() => {
      const { scores, logits } = taskScores(kind, model, head, b, { training: ctx.training, seed: ctx.seed });
      const taskLoss = crossEntropy(scores, tf.tensor1d(b.labels, 'int32'));
      const lmLoss = crossEntropy(logits, tf.tensor2d(b.targets, [b.rows, b.T], 'int32'));
      ctx.report?.('task_loss', taskLoss);
      ctx.report?.('lm_loss', lmLoss);
      return auxLmWeight > 0 ? (tf.add(taskLoss, tf.mul(auxLmWeight, lmLoss)) as tf.Scalar) : taskLoss;
    });
}

/** Mean task loss and accuracy over `data` (no dropout). NaN for no data. */
export async function taskMetrics(
  kind: TaskKind,
  model: GPT,
  head: TaskHead,
  data: FormattedExample[],
  batchSize = 16,
): Promise<{ loss: number; accuracy: number }> {
  if (data.length === 0) return { loss: NaN, accuracy: NaN };
  let correct = 0;
  let lossSum = 0;
  for (let i = 0; i < data.length; i += batchSize) {
    const b = makeBatch(data.slice(i, i + batchSize));
    const [pred, loss] = tf.tidy(() => {
      const { scores } = taskScores(kind, model, head, b, { training: false, seed: 0 });
      return [tf.argMax(scores, 1), crossEntropy(scores, tf.tensor1d(b.labels, 'int32'))];
    });
    const p = await pred.data();
    lossSum += (await loss.data())[0]! * b.examples;
    tf.dispose([pred, loss]);
    for (let j = 0; j < b.examples; j++) if (p[j] === b.labels[j]) correct++;
  }
  return { loss: lossSum / data.length, accuracy: correct / data.length };
}
