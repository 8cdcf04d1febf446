// RLHF with PPO, InstructGPT's third step as TRL's PPOTrainer runs it, on the shared Trainer. One PPO iteration is
// a rollout batch (ppo-rollout.ts: `batchSize` prompts sampled, scored by the reward model, per-token rewards
// −β·KL + score, GAE) and then `ppoEpochs` passes over it in shuffled minibatches, each minibatch one optimizer
// step of the loop: the clipped policy loss + vf_coef × the clipped value loss (+ γ_ptx × the LM loss on a
// pretraining batch: PPO-ptx). The rollout runs in the batch source's `next` (a promise) when a step starts a new
// iteration; the loop's AdamW, clipping, metrics, checkpoints, resume, NaN stop and time budget serve the rest.
//
// The loss and the value head are in ppo-loss.ts. The reference is a frozen copy of the starting (SFT) policy. A
// checkpoint holds the rollout batch being trained on and the KL controller, so --resume continues mid-iteration exactly.
import * as path from 'node:path';
import { mixSeed, Rng } from '@gptlab/common';
import { writeFileAtomic } from '@gptlab/common/node';
import type { tf } from '@gptlab/tensor';
import { saveGPT } from '@gptlab/model';
import { LocalGradients } from '../train/gradients';
import { chunkSeeds } from '../train/batches';
import { MetricsLog } from '../train/metrics';
import { Trainer, type BatchSource, type EvalResult, type TrainerHooks, type TrainerOptions, type TrainResult } from '../train/trainer';
import { namedWeights } from '../lm';
import { KlController, type KlEstimator } from './ppo-math';
import { ppoLoss, type PpoStep } from './ppo-loss';
import { collectRollouts, makePpoBatch, type Rollout, type RolloutModels, type RolloutTimes } from './ppo-rollout';
import { rewardKlSvg } from './ppo-plot';
import type { PpoPrompt } from './ppo-prompts';

export { newValueHead, ppoLoss, VALUE_HEAD, type PpoStep } from './ppo-loss';

/** TRL PPOConfig's defaults where they fit a CPU run (its batch is 256 prompts, minibatch 1 … 128). */
export const PPO_DEFAULTS = {
  steps: 20,
  batchSize: 16,
  miniBatchSize: 4,
  ppoEpochs: 4,
  lr: 1.41e-5,
  clipRange: 0.2,
  clipRangeValue: 0.2,
  vfCoef: 0.1,
  gamma: 1,
  lambda: 0.95,
  initKlCoef: 0.2,
  /** 0 turns the adaptive controller off (β stays initKlCoef). */
  klTarget: 6,
  klHorizon: 10000,
  klEstimator: 'k1' as KlEstimator,
  maxNewTokens: 32,
  temperature: 1,
  ptxCoef: 1,
  weightDecay: 0,
  beta1: 0.9,
  beta2: 0.999,
  eps: 1e-8,
  clip: 1,
  seed: 0,
  checkpointEvery: 10,
};

export type PpoSettings = typeof PPO_DEFAULTS;

export interface PpoRunOptions extends PpoSettings {
  out: string;
  minutes?: number;
  keepCheckpoints?: number;
  logEvery?: number;
  tensorboard?: string;
  config?: Record<string, unknown>;
  resume?: TrainerOptions['resume'];
}

export interface PpoModels extends RolloutModels {
  tok: RolloutModels['tok'] & { saveGPT2Files(dir: string): unknown };
}

/** What one iteration's rollout batch showed (the per-iteration record's rollout half). */
interface RolloutStats {
  reward: number;
  reward_std: number;
  kl: number;
  kl_coef: number;
  non_score_reward: number;
  response_length: number;
  entropy: number;
}

interface Held {
  iteration: number;
  rollouts: Rollout[];
  stats: RolloutStats;
  times: RolloutTimes;
}

/** The batch source's state: the rollout batch in training, β, and the sums of the iteration's update statistics. */
interface PpoState {
  held: Held | null;
  klCoef: number;
  updates: { n: number; sums: Record<string, number> };
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

function rolloutStats(rs: Rollout[], beta: number): RolloutStats {
  const scores = rs.map((r) => r.score);
  const m = mean(scores);
  const klSums = rs.map((r) => r.kl.reduce((a, b) => a + b, 0));
  return {
    reward: m,
    reward_std: Math.sqrt(mean(scores.map((x) => (x - m) ** 2))),
    kl: mean(klSums),
    kl_coef: beta,
    non_score_reward: -beta * mean(klSums),
    response_length: mean(rs.map((r) => r.response.length)),
    entropy: mean(rs.map((r) => r.entropy)),
  };
}

/** The iteration record of metrics.jsonl (and the --json result): rollout statistics + means of its updates. */
export type IterationSummary = RolloutStats & Record<string, number>;

export interface PpoRunResult {
  run: TrainResult;
  /** PPO iterations completed. */
  iterations: number;
  last: IterationSummary | null;
}

/**
 * PPO-trains `m.policy` and its value head on `prompts` (taken in seeded shuffled order, `batchSize` per
 * iteration). `ptxTokens`, a pretraining token stream, adds the PPO-ptx term.
 */
export async function trainPpo(
  m: PpoModels,
  prompts: readonly PpoPrompt[],
  o: PpoRunOptions,
  io: { stderr: (s: string) => void; isTTY: boolean } = { stderr: () => {}, isTTY: false },
  hooks: TrainerHooks = {},
  ptxTokens?: Int32Array,
): Promise<PpoRunResult> {
  if (prompts.length === 0) throw new Error('ppo: no prompts');
  if (o.miniBatchSize > o.batchSize) throw new Error(`--mini-batch-size ${o.miniBatchSize} exceeds --batch-size ${o.batchSize}`);
  const pad = m.tok.eosId;
  if (pad === undefined) throw new Error('ppo: the tokenizer has no end-of-text token (responses end with it)');
  const T = m.policy.config.nPositions;
  if (ptxTokens && ptxTokens.length <= T)
    throw new Error(`ppo: the --ptx-corpus has ${ptxTokens.length} tokens, fewer than one context (${T + 1})`);
  const minibatches = Math.ceil(o.batchSize / o.miniBatchSize);
  const stepsPerIteration = o.ppoEpochs * minibatches;
  const kl = new KlController(o.initKlCoef, o.klTarget > 0 ? o.klTarget : null, o.klHorizon);
  const state: PpoState = { held: null, klCoef: kl.value, updates: { n: 0, sums: {} } };
  const settings = { ...o, forwardBatch: o.miniBatchSize };

  // Prompt order: a seeded shuffle per pass over the prompts; iteration i takes the next batchSize of them.
  let shuffled: { pass: number; order: number[] } | null = null;
  const orderOf = (pass: number): number[] => {
    if (shuffled?.pass !== pass) shuffled = { pass, order: new Rng(o.seed * 1000003 + pass).shuffle(prompts.map((_, i) => i)) };
    return shuffled.order;
  };
  const promptsOf = (iteration: number): PpoPrompt[] =>
    Array.from({ length: o.batchSize }, (_, k) => {
      const flat = iteration * o.batchSize + k;
      return prompts[orderOf(Math.floor(flat / prompts.length))[flat % prompts.length]!]!;
    });

  const collect = async (iteration: number): Promise<void> => {
    const seeds = Array.from({ length: o.batchSize }, (_, k) => mixSeed(mixSeed(o.seed * 7919 + iteration) + k));
    const { rollouts, times } = await collectRollouts(m, promptsOf(iteration), seeds, kl.value, settings);
    const stats = rolloutStats(rollouts, kl.value);
    // β was applied to this batch's rewards; the controller moves it for the next one (Ziegler et al.: n = batch).
    kl.update(stats.kl, o.batchSize);
    state.held = { iteration, rollouts, stats, times };
    state.klCoef = kl.value;
  };

  const batches: BatchSource<PpoStep> = {
    async next(step) {
      const iteration = Math.floor(step / stepsPerIteration);
      if (state.held?.iteration !== iteration) await collect(iteration);
      const k = step % stepsPerIteration;
      const order = new Rng(mixSeed(o.seed * 1000003 + iteration) + Math.floor(k / minibatches)).shuffle(
        state.held!.rollouts.map((_, i) => i),
      );
      const first = (k % minibatches) * o.miniBatchSize;
      const batch = makePpoBatch(
        order.slice(first, first + o.miniBatchSize).map((i) => state.held!.rollouts[i]!),
        pad,
      );
      const chunk: PpoStep = { batch };
      let tokens = batch.rows * batch.T;
      if (ptxTokens) {
        const rng = new Rng(mixSeed(o.seed * 31 + step));
        const ids = new Int32Array(o.miniBatchSize * (T + 1));
        for (let r = 0; r < o.miniBatchSize; r++) {
          const at = rng.int(ptxTokens.length - T);
          ids.set(ptxTokens.subarray(at, at + T + 1), r * (T + 1));
        }
        chunk.ptx = { ids, rows: o.miniBatchSize, T };
        tokens += o.miniBatchSize * T;
      }
      return { chunks: [chunk], seeds: chunkSeeds(o.seed, step, 1), tokens };
    },
    getState: () => state,
    setState(s) {
      const saved = s as PpoState;
      state.held = saved.held;
      state.updates = saved.updates;
      kl.value = state.klCoef = saved.klCoef;
    },
  };

  const head = m.valueHead;
  const params = { ...namedWeights(m.policy), ...(head.tensors() as Record<string, tf.Variable>) };
  const metricsFile = path.join(path.resolve(o.out), 'metrics.jsonl');
  let last: IterationSummary | null = null;
  const evaluate = async (step: number): Promise<EvalResult> => {
    const held = state.held!;
    const u = state.updates;
    const updates = Object.fromEntries(Object.entries(u.sums).map(([k, v]) => [k, v / Math.max(1, u.n)]));
    const times = { time_generate_s: held.times.generate, time_score_s: held.times.score, time_reward_s: held.times.reward };
    // The rollout's entropy (of the policy on its own samples) is the iteration's; the updates' goes in as update_entropy.
    const { entropy: updateEntropy = NaN, ...rest } = updates;
    const summary: IterationSummary = { ...rest, ...held.stats, update_entropy: updateEntropy, iteration: held.iteration + 1, ...times };
    last = summary;
    state.updates = { n: 0, sums: {} };
    const history = new MetricsLog(metricsFile).read().filter((r) => r.type === 'eval' && 'reward' in r);
    writeFileAtomic(
      path.join(path.dirname(metricsFile), 'reward.svg'),
      rewardKlSvg([...history, { step, ...summary }], path.basename(o.out)),
    );
    const f = (x: number) => x.toFixed(4);
    return {
      metrics: summary,
      line:
        `iteration ${summary.iteration} · reward ${f(summary.reward)} · kl ${f(summary.kl)} · β ${f(summary.kl_coef)} · ` +
        `entropy ${f(summary.entropy)} · clip ${f(summary.clip_fraction ?? NaN)} · value loss ${f(summary.value_loss ?? NaN)}`,
    };
  };

  const trainer = new Trainer<PpoStep>(
    {
      params,
      gradients: new LocalGradients(params, ppoLoss(m.policy, head, o)),
      batches,
      evaluate,
      saveModel: (dir, step) =>
        saveGPT(m.policy, dir, {
          tokenizer: m.tok,
          chatTemplate: m.template.spec.source,
          extraTensors: head.tensors(),
          metadata: { task: 'ppo', step: String(step) },
        }),
    },
    {
      outDir: o.out,
      config: o.config ?? {},
      optimizer: { beta1: o.beta1, beta2: o.beta2, eps: o.eps, weightDecay: o.weightDecay },
      schedule: () => o.lr, // TRL's PPOTrainer: a constant learning rate
      totalSteps: o.steps * stepsPerIteration,
      clip: o.clip,
      evalEvery: stepsPerIteration,
      checkpointEvery: o.checkpointEvery * stepsPerIteration,
      keepCheckpoints: o.keepCheckpoints ?? 2,
      logEvery: o.logEvery ?? stepsPerIteration,
      minutes: o.minutes,
      resume: o.resume,
      tensorboard: o.tensorboard,
    },
    io,
    {
      ...hooks,
      onStep: (r) => {
        state.updates.n += 1;
        for (const [k, v] of Object.entries(r.parts)) state.updates.sums[k] = (state.updates.sums[k] ?? 0) + v;
        hooks.onStep?.(r);
      },
    },
  );
  const run = await trainer.train();
  return { run, iterations: Math.floor(run.step / stepsPerIteration), last };
}
