// The reward model of InstructGPT (Ouyang et al. 2022, §3.5) and TRL's RewardTrainer: the (SFT) decoder with
// a scalar head on the hidden state of the last token of prompt + response, trained on human (here: judged)
// preferences with the Bradley–Terry loss −log σ(r(x, y_w) − r(x, y_l)). The head is GPT-1's TaskHead with one
// output, named `reward_head`, without dropout.
//
// A saved reward model is a checkpoint directory as saveGPT writes it — model.safetensors holds the decoder
// and `reward_head.weight` [C, 1] / `reward_head.bias` [1], the tokenizer files sit beside it — plus
// reward_config.json: {"format": "gptlab-reward-model", "head": "reward_head", "pooling": "last_token",
// "text": "plain"}, where `head` names the tensors and `text` how conversations were rendered.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '@gptlab/common/node';
import { tf } from '@gptlab/tensor';
import { loadGPT, saveGPT, TaskHead, type GPT } from '@gptlab/model';
import { BPETokenizer } from '@gptlab/tokenizer';
import { LocalGradients, type LossFn } from '../train/gradients';
import { Trainer, type EvalResult, type TrainerHooks, type TrainResult } from '../train/trainer';
import { namedWeights } from '../lm';
import { inBatches, makePairBatch, PAIR_RUN_DEFAULTS, pairBatches, pairTrainerOptions } from './logprobs';
import type { PairBatch, PairRunOptions } from './logprobs';
import { encodePair, type PreferencePair } from './preference';

export const REWARD_HEAD = 'reward_head';
export const REWARD_CONFIG_FILE = 'reward_config.json';

/** TRL RewardConfig's learning rate 1e-5 (InstructGPT's reward model: 9e-6) and InstructGPT's single epoch. */
export const REWARD_DEFAULTS = { ...PAIR_RUN_DEFAULTS, lr: 1e-5 };

export function newRewardHead(model: GPT, seed: number): TaskHead {
  return new TaskHead(model.config.nEmbd, 1, { name: REWARD_HEAD, seed, dropout: 0 });
}

/** r(x, y) of every row of a batch: the head on the hidden state at each row's last real token. [2n] */
export function rewardScores(model: GPT, head: TaskHead, b: PairBatch, opts: { training: boolean; seed: number }): tf.Tensor1D {
  return tf.tidy(() => {
    const { hidden } = model.forward(tf.tensor2d(b.ids, [2 * b.pairs, b.T], 'int32'), { ...opts, outputHidden: true });
    return tf.reshape(head.forward(hidden!, b.last), [-1]) as tf.Tensor1D;
  });
}

/** Bradley–Terry: mean of −log σ(r_w − r_l) = softplus(r_l − r_w), with the accuracy (r_w > r_l) and margin. */
export function bradleyTerry(scores: tf.Tensor1D, pairs: number): { loss: tf.Scalar; accuracy: tf.Scalar; margin: tf.Scalar } {
  return tf.tidy(() => {
    const diff = tf.sub(tf.slice(scores, 0, pairs), tf.slice(scores, pairs, pairs));
    return {
      loss: tf.mean(tf.softplus(tf.neg(diff))) as tf.Scalar,
      accuracy: tf.mean(tf.cast(tf.greater(diff, 0), 'float32')) as tf.Scalar,
      margin: tf.mean(diff) as tf.Scalar,
    };
  });
}

export function rewardLoss(model: GPT, head: TaskHead): LossFn<PairBatch> {
  return (b, ctx) =>
    tf.tidy(() => {
      const bt = bradleyTerry(rewardScores(model, head, b, { training: ctx.training, seed: ctx.seed }), b.pairs);
      ctx.report?.('accuracy', bt.accuracy);
      ctx.report?.('margin', bt.margin);
      return bt.loss;
    });
}

/** Mean Bradley–Terry loss and accuracy over held-out pairs (no dropout); NaN without pairs. */
export async function rewardMetrics(
  model: GPT,
  head: TaskHead,
  batches: PairBatch[],
): Promise<{ loss: number; accuracy: number; margin: number }> {
  let n = 0;
  const sum = { loss: 0, accuracy: 0, margin: 0 };
  for (const b of batches) {
    const bt = tf.tidy(() => bradleyTerry(rewardScores(model, head, b, { training: false, seed: 0 }), b.pairs));
    for (const k of ['loss', 'accuracy', 'margin'] as const) sum[k] += (await bt[k].data())[0]! * b.pairs;
    tf.dispose([bt.loss, bt.accuracy, bt.margin]);
    n += b.pairs;
  }
  return { loss: sum.loss / n, accuracy: sum.accuracy / n, margin: sum.margin / n };
}

export interface RewardRunResult {
  run: TrainResult;
  eval: { loss: number; accuracy: number; margin: number };
}

type SavingTokenizer = { encode(text: string): number[]; saveGPT2Files(dir: string): unknown; readonly eosId?: number };

export async function saveRewardModel(model: GPT, head: TaskHead, tok: SavingTokenizer, dir: string, step?: number): Promise<void> {
  await saveGPT(model, dir, {
    extraTensors: head.tensors(),
    tokenizer: tok,
    metadata: { task: 'reward', ...(step !== undefined ? { step: String(step) } : {}) },
  });
  const config = { format: 'gptlab-reward-model', head: REWARD_HEAD, pooling: 'last_token', text: 'plain' };
  writeFileAtomic(path.join(dir, REWARD_CONFIG_FILE), JSON.stringify(config, null, 2) + '\n');
}

export interface RewardModel {
  model: GPT;
  head: TaskHead;
  tok: BPETokenizer;
  /** r(prompt, response) for each pair of texts. */
  score(items: { prompt: string; response: string }[]): Promise<number[]>;
  dispose(): void;
}

/** A reward model saved by `gptlab-train reward` (or saveRewardModel). */
export async function loadRewardModel(dir: string): Promise<RewardModel> {
  const file = path.join(dir, REWARD_CONFIG_FILE);
  if (!fs.existsSync(file))
    throw new Error(`${dir}: not a reward model (no ${REWARD_CONFIG_FILE}; train one with \`gptlab-train reward\`)`);
  const cfg = JSON.parse(fs.readFileSync(file, 'utf8')) as { format?: string; head?: string };
  if (cfg.format !== 'gptlab-reward-model' || typeof cfg.head !== 'string') throw new Error(`${file}: not a gptlab reward model config`);
  const tok = BPETokenizer.fromDir(dir);
  const model = await loadGPT(dir);
  const head = TaskHead.fromTensors(model.extraTensors, cfg.head, { dropout: 0 });
  const score = async (items: { prompt: string; response: string }[]) => {
    const out: number[] = [];
    for (const group of inBatches(items, 16)) {
      // A batch reads its pairs as chosen then rejected rows; scoring one response each, both rows are the same.
      const enc = group.map((it) =>
        encodePair(tok, { prompt: it.prompt, chosen: it.response, rejected: it.response, line: 0 }, model.config.nPositions),
      );
      const b = makePairBatch(enc);
      const r = rewardScores(model, head, b, { training: false, seed: 0 });
      out.push(...Array.from(await r.data()).slice(0, group.length));
      r.dispose();
    }
    return out;
  };
  return { model, head, tok, score, dispose: () => (head.dispose(), model.dispose()) };
}

/**
 * Trains `head` (a new one from newRewardHead, or the resumed one) and the decoder on `train` pairs, evaluating
 * on `held` pairs: eval_loss and eval_accuracy in metrics.jsonl, on the progress line and in the result.
 */
export async function trainRewardModel(
  model: GPT,
  head: TaskHead,
  tok: SavingTokenizer,
  data: { train: PreferencePair[]; held: PreferencePair[] },
  o: PairRunOptions,
  io: { stderr: (s: string) => void; isTTY: boolean } = { stderr: () => {}, isTTY: false },
  hooks: TrainerHooks = {},
): Promise<RewardRunResult> {
  const T = model.config.nPositions;
  const train = data.train.map((p) => encodePair(tok, p, T));
  const held = inBatches(
    data.held.map((p) => encodePair(tok, p, T)),
    o.batchSize,
  ).map(makePairBatch);
  const params = { ...namedWeights(model), ...(Object.fromEntries(Object.entries(head.tensors())) as Record<string, tf.Variable>) };
  const batches = pairBatches(train, o.batchSize, o.seed);
  let last: { step: number; m: RewardRunResult['eval'] } | undefined;
  const evaluate = async (step: number): Promise<EvalResult> => {
    const m = await rewardMetrics(model, head, held);
    last = { step, m };
    return {
      loss: m.loss,
      metrics: { eval_loss: m.loss, eval_accuracy: m.accuracy, eval_margin: m.margin },
      line: `eval loss ${m.loss.toFixed(4)} · eval accuracy ${(100 * m.accuracy).toFixed(1)}%`,
    };
  };
  const trainer = new Trainer<PairBatch>(
    {
      params,
      gradients: new LocalGradients(params, rewardLoss(model, head)),
      batches,
      evaluate: held.length ? evaluate : undefined,
      saveModel: (dir, step) => saveRewardModel(model, head, tok, dir, step),
    },
    pairTrainerOptions(o, batches.stepsPerEpoch),
    io,
    hooks,
  );
  const run = await trainer.train();
  const nan = { loss: NaN, accuracy: NaN, margin: NaN };
  const evalM = !held.length ? nan : last?.step === run.step ? last.m : await rewardMetrics(model, head, held);
  return { run, eval: evalM };
}
