// GPT-1 supervised fine-tuning as a training method on the shared Trainer: the pretrained decoder plus a
// linear task head, trained on L2 + λ·L1 (objective.ts) with GPT-1's settings as defaults — lr 6.25e-5,
// linear warm-up over 0.2% of training then linear decay, 3 epochs, batch 8 (the paper: 32), classifier
// dropout 0.1, weight decay 0.01, clipping at 1.0. It thereby has everything a pretraining run has: atomic
// checkpoints (model, head, tokenizer, AdamW moments), exact resume, metrics.jsonl, the loss plot, the
// progress line and the stop on a non-finite loss.
import { Rng } from '@gptlab/common';
import { tf } from '@gptlab/tensor';
import { TaskHead, saveGPT, type GPT } from '@gptlab/model';
import { chunkSeeds } from '../train/batches';
import type { TrainerState } from '../train/checkpoint';
import { LocalGradients } from '../train/gradients';
import { linearSchedule } from '../train/schedule';
import { Trainer, type BatchSource, type EvalResult, type TrainerHooks, type TrainResult } from '../train/trainer';
import { namedWeights } from '../lm';
import { formatExample, GPT1_SPECIAL_TOKENS, type FormatTokenizer, type FormattedExample } from './formats';
import { gpt1Loss, headOutputs, makeBatch, taskMetrics, type TaskBatch } from './objective';
import type { TaskDataset } from './wordnet-tasks';

export interface FinetuneOptions {
  /** The run directory (metrics, loss plot, checkpoints). */
  out: string;
  epochs?: number;
  batchSize?: number;
  lr?: number;
  /** Fraction of all steps spent warming up (GPT-1: 0.2%). */
  warmupFraction?: number;
  /** λ of the auxiliary LM loss (GPT-1: 0.5; 0 turns it off). */
  auxLmWeight?: number;
  clfDropout?: number;
  weightDecay?: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  clip?: number;
  seed?: number;
  /** Cut examples longer than the context instead of failing. */
  truncate?: boolean;
  /** Stop after this many optimizer steps (smoke tests, time-boxed experiments). */
  maxSteps?: number;
  /** Steps between dev evaluations and between checkpoints (default: one epoch). */
  evalEvery?: number;
  checkpointEvery?: number;
  keepCheckpoints?: number;
  logEvery?: number;
  /** Settings saved in checkpoints for --resume (the CLI's). */
  config?: Record<string, unknown>;
  /** Continue from this checkpoint: the model and `head` were loaded from it. */
  resume?: { dir: string; state: TrainerState; head: TaskHead };
  /** Also write TensorBoard event files into this folder. */
  tensorboard?: string;
}

export const FINETUNE_DEFAULTS = {
  epochs: 3,
  batchSize: 8,
  lr: 6.25e-5,
  warmupFraction: 0.002,
  auxLmWeight: 0.5,
  clfDropout: 0.1,
  weightDecay: 0.01,
  beta1: 0.9,
  beta2: 0.999,
  eps: 1e-8,
  clip: 1.0,
  seed: 0,
};

export interface FinetuneResult {
  head: TaskHead;
  run: TrainResult;
  /** Accuracy on the dev and test splits after training (NaN for an empty split). */
  dev: number;
  test: number;
}

/** Adds <s> <$> <e> to the tokenizer if missing and grows the model's embedding to the new vocabulary. */
export function prepareForTasks(
  model: GPT,
  tok: FormatTokenizer & { addSpecialTokens(t: readonly string[]): number[]; vocabSize: number },
): void {
  tok.addSpecialTokens(GPT1_SPECIAL_TOKENS);
  if (tok.vocabSize > model.config.vocabSize) model.resizeTokenEmbeddings(tok.vocabSize);
}

export function formatAll(
  ds: TaskDataset,
  split: 'train' | 'dev' | 'test',
  tok: FormatTokenizer,
  maxLength: number,
  truncate = false,
): FormattedExample[] {
  return ds[split].map((ex, i) => formatExample(ex, tok, { maxLength, truncate, where: `${split} example ${i + 1}` }));
}

/**
 * Epochs of shuffled batches. Each epoch's order and each step's dropout seed are pure functions of (seed,
 * epoch, step), so the source has no state to save and a resumed run draws exactly the same batches.
 */
export function epochBatches(
  train: FormattedExample[],
  batchSize: number,
  seed: number,
): BatchSource<TaskBatch> & { stepsPerEpoch: number } {
  const stepsPerEpoch = Math.ceil(train.length / batchSize);
  let epoch = -1;
  let order: number[] = [];
  return {
    stepsPerEpoch,
    next(step) {
      const e = Math.floor(step / stepsPerEpoch);
      if (e !== epoch) {
        epoch = e;
        order = new Rng(seed * 1000003 + e).shuffle(train.map((_, i) => i));
      }
      const start = (step % stepsPerEpoch) * batchSize;
      const b = makeBatch(order.slice(start, start + batchSize).map((i) => train[i]!));
      return { chunks: [b], seeds: chunkSeeds(seed, step, 1), tokens: b.rows * b.T };
    },
    getState: () => null,
    setState: () => {},
  };
}

/** Fine-tunes `model` (with a new task head, or the resumed one) on `ds`; the head stays with the caller. */
export async function finetune(
  model: GPT,
  ds: TaskDataset,
  tok: FormatTokenizer & { saveGPT2Files(dir: string): unknown; readonly eosId?: number },
  opts: FinetuneOptions,
  io: { stderr: (s: string) => void; isTTY: boolean } = { stderr: () => {}, isTTY: false },
  hooks: TrainerHooks = {},
): Promise<FinetuneResult> {
  const given = Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)) as FinetuneOptions;
  const o = { ...FINETUNE_DEFAULTS, ...given };
  const maxLength = model.config.nPositions;
  const [train, dev, test] = (['train', 'dev', 'test'] as const).map((split) => formatAll(ds, split, tok, maxLength, o.truncate));
  if (train!.length === 0) throw new Error('fine-tuning needs at least one training example');
  const head =
    o.resume?.head ?? new TaskHead(model.config.nEmbd, headOutputs(ds.kind, ds.labels), { seed: o.seed + 17, dropout: o.clfDropout });
  const params = { ...namedWeights(model), ...Object.fromEntries(Object.entries(head.tensors()) as [string, tf.Variable][]) };
  const batches = epochBatches(train!, o.batchSize, o.seed);
  const totalSteps = Math.min(o.maxSteps ?? Infinity, batches.stepsPerEpoch * o.epochs);
  let evaluated: { step: number; accuracy: number } | undefined;
  const evaluate = async (step: number): Promise<EvalResult> => {
    const m = await taskMetrics(ds.kind, model, head, dev!);
    evaluated = { step, accuracy: m.accuracy };
    return {
      loss: m.loss,
      metrics: { dev_accuracy: m.accuracy },
      line: `dev loss ${m.loss.toFixed(4)} · dev accuracy ${(100 * m.accuracy).toFixed(1)}%`,
    };
  };
  const trainer = new Trainer<TaskBatch>(
    {
      params,
      gradients: new LocalGradients(params, gpt1Loss(ds.kind, model, head, o.auxLmWeight)),
      batches,
      evaluate: dev!.length ? evaluate : undefined,
      saveModel: (dir, step) =>
        saveGPT(model, dir, {
          extraTensors: head.tensors(),
          tokenizer: tok,
          metadata: { task: ds.kind, labels: JSON.stringify(ds.labels), step: String(step) },
        }),
    },
    {
      outDir: o.out,
      config: o.config ?? {},
      optimizer: { beta1: o.beta1, beta2: o.beta2, eps: o.eps, weightDecay: o.weightDecay },
      schedule: (step, total) => linearSchedule({ lr: o.lr, warmupSteps: Math.round(total * o.warmupFraction), totalSteps: total })(step),
      totalSteps,
      clip: o.clip,
      evalEvery: o.evalEvery ?? batches.stepsPerEpoch,
      checkpointEvery: o.checkpointEvery ?? batches.stepsPerEpoch,
      keepCheckpoints: o.keepCheckpoints ?? 2,
      logEvery: o.logEvery ?? 10,
      resume: o.resume,
      tensorboard: o.tensorboard,
    },
    io,
    hooks,
  );
  let run: TrainResult;
  try {
    run = await trainer.train();
  } catch (e) {
    if (!o.resume) head.dispose();
    throw e;
  }
  // The Trainer evaluates at the last step; a run stopped between evaluations is evaluated here.
  const devAccuracy = evaluated?.step === run.step ? evaluated.accuracy : (await taskMetrics(ds.kind, model, head, dev!)).accuracy;
  return { head, run, dev: devAccuracy, test: (await taskMetrics(ds.kind, model, head, test!)).accuracy };
}
