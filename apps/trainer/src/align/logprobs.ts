// Preference pairs as model batches, and what the reward model and DPO read from them: a batch holds the n
// chosen sequences (rows 0..n-1) then the n rejected ones (rows n..2n-1), each prompt + response, right-padded
// (causal attention makes right padding safe: no real token attends to a pad). Targets mark the response
// tokens only, so a sequence log-prob log π(y|x) is summed over the response and never over the prompt.
import { Rng } from '@gptlab/common';
import { tf, IGNORE_INDEX } from '@gptlab/tensor';
import type { GPT } from '@gptlab/model';
import { chunkSeeds } from '../train/batches';
import { linearSchedule } from '../train/schedule';
import type { BatchSource, TrainerOptions } from '../train/trainer';
import type { FinetuneOptions } from '../finetune/finetune';
import type { EncodedPair } from './preference';

export interface PairBatch {
  /** [2n, T] token ids: chosen rows, then rejected rows. */
  ids: Int32Array;
  /** [2n, T] the next token where it is a response token, IGNORE_INDEX elsewhere. */
  targets: Int32Array;
  /** Each row's last real token, as a position in its row (the reward model's score position). */
  last: number[];
  pairs: number;
  T: number;
  /** DPO: the reference model's log π_ref(y_w|x) and log π_ref(y_l|x) of each pair. */
  refChosen?: Float32Array;
  refRejected?: Float32Array;
}

/** A pair with the reference log-probs DPO computes once before training. */
export interface ScoredPair extends EncodedPair {
  refChosen?: number;
  refRejected?: number;
}

export function makePairBatch(pairs: readonly ScoredPair[]): PairBatch {
  if (pairs.length === 0) throw new Error('a batch needs at least one pair');
  const rows = [...pairs.map((p) => ({ prompt: p.prompt, resp: p.chosen })), ...pairs.map((p) => ({ prompt: p.prompt, resp: p.rejected }))];
  const T = Math.max(...rows.map((r) => r.prompt.length + r.resp.length));
  const ids = new Int32Array(rows.length * T);
  const targets = new Int32Array(rows.length * T).fill(IGNORE_INDEX);
  const last: number[] = [];
  rows.forEach((r, i) => {
    const seq = [...r.prompt, ...r.resp];
    ids.set(seq, i * T);
    // Position t predicts token t+1: a response token at t+1 ≥ 1 is a target (with an empty prompt the first
    // response token has nothing before it and is not scored).
    for (let t = Math.max(0, r.prompt.length - 1); t + 1 < seq.length; t++) targets[i * T + t] = seq[t + 1]!;
    last.push(seq.length - 1);
  });
  const withRef = pairs.every((p) => p.refChosen !== undefined && p.refRejected !== undefined);
  return {
    ids,
    targets,
    last,
    pairs: pairs.length,
    T,
    ...(withRef
      ? { refChosen: Float32Array.from(pairs, (p) => p.refChosen!), refRejected: Float32Array.from(pairs, (p) => p.refRejected!) }
      : {}),
  };
}

/** Σ_t log softmax(logits[r, t])[targets[r, t]] over each row's non-ignored targets: [rows]. */
export function sequenceLogProbs(logits: tf.Tensor3D, targets: Int32Array): tf.Tensor1D {
  return tf.tidy(() => {
    const [rows, T, V] = logits.shape;
    const mask = Float32Array.from(targets, (t) => (t === IGNORE_INDEX ? 0 : 1));
    const flatIdx = Int32Array.from(targets, (t, i) => i * V + (t === IGNORE_INDEX ? 0 : t));
    const picked = tf.gather(tf.reshape(tf.logSoftmax(logits), [-1]), tf.tensor1d(flatIdx, 'int32'));
    return tf.sum(tf.reshape(tf.mul(picked, tf.tensor1d(mask)), [rows, T]), 1) as tf.Tensor1D;
  });
}

/** log π(y|x) of every row of a batch under `model`: [2n], chosen rows first. */
export function batchLogProbs(model: GPT, b: PairBatch, opts: { training: boolean; seed: number }): tf.Tensor1D {
  return tf.tidy(() => {
    const { logits } = model.forward(tf.tensor2d(b.ids, [2 * b.pairs, b.T], 'int32'), opts);
    return sequenceLogProbs(logits, b.targets);
  });
}

/** Consecutive batches of `size` pairs (evaluation, reference log-probs). */
export function inBatches<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * Epochs of shuffled pair batches. The order of each epoch and each step's dropout seed are pure functions of
 * (seed, epoch, step): no state to save, and a resumed run draws exactly the same batches.
 */
export function pairBatches(
  pairs: readonly ScoredPair[],
  batchSize: number,
  seed: number,
): BatchSource<PairBatch> & { stepsPerEpoch: number } {
  const stepsPerEpoch = Math.ceil(pairs.length / batchSize);
  let shuffled: { epoch: number; order: number[] } | null = null;
  const orderOf = (epoch: number): number[] => {
    if (shuffled?.epoch !== epoch) shuffled = { epoch, order: new Rng(seed * 1000003 + epoch).shuffle(pairs.map((_, i) => i)) };
    return shuffled.order;
  };
  return {
    stepsPerEpoch,
    next(step) {
      const first = (step % stepsPerEpoch) * batchSize;
      const picked = orderOf(Math.floor(step / stepsPerEpoch)).slice(first, first + batchSize);
      const b = makePairBatch(picked.map((i) => pairs[i]!));
      return { chunks: [b], seeds: chunkSeeds(seed, step, 1), tokens: 2 * b.pairs * b.T };
    },
    getState: () => null,
    setState: () => {},
  };
}

/** The settings the reward and DPO runs share: GPT-1 fine-tuning's, without its task-head knobs. */
export type PairRunOptions = Required<
  Pick<FinetuneOptions, 'epochs' | 'batchSize' | 'lr' | 'warmupFraction' | 'weightDecay' | 'beta1' | 'beta2' | 'eps' | 'clip' | 'seed'>
> &
  Pick<
    FinetuneOptions,
    'out' | 'maxSteps' | 'evalEvery' | 'checkpointEvery' | 'keepCheckpoints' | 'logEvery' | 'config' | 'tensorboard'
  > & {
    resume?: TrainerOptions['resume'];
  };

/** TRL's TrainingArguments defaults for both (AdamW 0.9/0.999/1e-8, no decay, linear schedule, clip 1, batch 8). */
export const PAIR_RUN_DEFAULTS = {
  epochs: 1,
  batchSize: 8,
  warmupFraction: 0,
  weightDecay: 0,
  beta1: 0.9,
  beta2: 0.999,
  eps: 1e-8,
  clip: 1.0,
  seed: 0,
};

/** Trainer options of a pair run: linear warm-up then linear decay (TRL's default), an epoch between evaluations. */
export function pairTrainerOptions(o: PairRunOptions, stepsPerEpoch: number): TrainerOptions {
  return {
    outDir: o.out,
    config: o.config ?? {},
    optimizer: { beta1: o.beta1, beta2: o.beta2, eps: o.eps, weightDecay: o.weightDecay },
    schedule: (step, total) => linearSchedule({ lr: o.lr, warmupSteps: Math.round(total * o.warmupFraction), totalSteps: total })(step),
    totalSteps: Math.min(o.maxSteps ?? Infinity, stepsPerEpoch * o.epochs),
    clip: o.clip,
    evalEvery: o.evalEvery ?? stepsPerEpoch,
    checkpointEvery: o.checkpointEvery ?? stepsPerEpoch,
    keepCheckpoints: o.keepCheckpoints ?? 2,
    logEvery: o.logEvery ?? 10,
    resume: o.resume,
    tensorboard: o.tensorboard,
  };
}
