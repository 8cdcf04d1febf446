// Direct Preference Optimization (Rafailov et al. 2023) as TRL's DPOTrainer runs it (sigmoid loss, beta 0.1):
//   loss = −log σ(β[(log π(y_w|x) − log π_ref(y_w|x)) − (log π(y_l|x) − log π_ref(y_l|x))])
// with log-probs summed over the response tokens only. The reference is the starting (SFT) model; its
// log-probs are computed once, before the first step, for every pair (TRL's precompute_ref_log_probs), so no
// second model is held during training. Logged like TRL: rewards/chosen = β(log π − log π_ref)(y_w),
// rewards/rejected, rewards/accuracies (chosen reward above rejected), rewards/margins.
import { tf } from '@gptlab/tensor';
import { saveGPT, type GPT } from '@gptlab/model';
import { LocalGradients, type LossFn } from '../train/gradients';
import { Trainer, type EvalResult, type TrainerHooks, type TrainResult } from '../train/trainer';
import { namedWeights } from '../lm';
import { batchLogProbs, inBatches, makePairBatch, PAIR_RUN_DEFAULTS, pairBatches, pairTrainerOptions } from './logprobs';
import type { PairBatch, PairRunOptions, ScoredPair } from './logprobs';
import { encodePair, type EncodedPair, type PreferencePair } from './preference';

/** TRL DPOConfig's defaults: beta 0.1, lr 1e-6, linear decay; batch 8. */
export const DPO_DEFAULTS = { ...PAIR_RUN_DEFAULTS, beta: 0.1, lr: 1e-6 };

// A type alias (not an interface) so that tf.tidy accepts it as a tensor container.
export type DpoTerms = {
  loss: tf.Scalar;
  chosen: tf.Scalar;
  rejected: tf.Scalar;
  accuracy: tf.Scalar;
  margin: tf.Scalar;
};

/** The DPO loss and TRL's reward statistics from per-pair sequence log-probs of the policy and the reference. */
export function dpoTerms(
  policyChosen: tf.Tensor1D,
  policyRejected: tf.Tensor1D,
  refChosen: tf.Tensor1D,
  refRejected: tf.Tensor1D,
  beta: number,
): DpoTerms {
  return tf.tidy(() => {
    const rc = tf.mul(beta, tf.sub(policyChosen, refChosen));
    const rr = tf.mul(beta, tf.sub(policyRejected, refRejected));
    const margin = tf.sub(rc, rr);
    return {
      loss: tf.mean(tf.softplus(tf.neg(margin))) as tf.Scalar, // −log σ(x) = softplus(−x), stable for any x
      chosen: tf.mean(rc) as tf.Scalar,
      rejected: tf.mean(rr) as tf.Scalar,
      accuracy: tf.mean(tf.cast(tf.greater(rc, rr), 'float32')) as tf.Scalar,
      margin: tf.mean(margin) as tf.Scalar,
    };
  });
}

/** The terms of one batch under the current policy (its reference log-probs were stored in the batch). */
function batchTerms(model: GPT, b: PairBatch, beta: number, opts: { training: boolean; seed: number }): DpoTerms {
  if (!b.refChosen || !b.refRejected) throw new Error('DPO batch without reference log-probs');
  return tf.tidy(() => {
    const lp = batchLogProbs(model, b, opts);
    const ref = (a: Float32Array) => tf.tensor1d(a);
    return dpoTerms(tf.slice(lp, 0, b.pairs), tf.slice(lp, b.pairs, b.pairs), ref(b.refChosen!), ref(b.refRejected!), beta);
  });
}

const TRL_NAMES: [keyof DpoTerms, string][] = [
  ['chosen', 'rewards/chosen'],
  ['rejected', 'rewards/rejected'],
  ['accuracy', 'rewards/accuracies'],
  ['margin', 'rewards/margins'],
];

export function dpoLoss(model: GPT, beta: number): LossFn<PairBatch> {
  return (b, ctx) =>
    tf.tidy(() => {
      const t = batchTerms(model, b, beta, { training: ctx.training, seed: ctx.seed });
      for (const [k, name] of TRL_NAMES) ctx.report?.(name, t[k]);
      return t.loss;
    });
}

/** log π_ref of every pair's two responses under `model` as it is now (no dropout), computed once. */
export async function withReferenceLogProbs(model: GPT, pairs: EncodedPair[], batchSize: number): Promise<ScoredPair[]> {
  const out: ScoredPair[] = [];
  for (const group of inBatches(pairs, batchSize)) {
    const b = makePairBatch(group);
    const lp = batchLogProbs(model, b, { training: false, seed: 0 });
    const v = await lp.data();
    lp.dispose();
    group.forEach((p, i) => out.push({ ...p, refChosen: v[i]!, refRejected: v[b.pairs + i]! }));
  }
  return out;
}

/** Means of the DPO terms over `batches` (no dropout). */
export async function dpoMetrics(model: GPT, batches: PairBatch[], beta: number): Promise<Record<keyof DpoTerms, number>> {
  const sum = { loss: 0, chosen: 0, rejected: 0, accuracy: 0, margin: 0 };
  let n = 0;
  for (const b of batches) {
    const t = batchTerms(model, b, beta, { training: false, seed: 0 });
    for (const k of Object.keys(sum) as (keyof DpoTerms)[]) sum[k] += (await t[k].data())[0]! * b.pairs;
    tf.dispose(Object.values(t));
    n += b.pairs;
  }
  for (const k of Object.keys(sum) as (keyof DpoTerms)[]) sum[k] /= n;
  return sum;
}

export interface DpoRunResult {
  run: TrainResult;
  eval: Record<keyof DpoTerms, number> | null;
}

/**
 * DPO-trains `model`. `reference` gives log π_ref: the starting model itself for a fresh run (its log-probs are
 * taken before the first update); for a resumed run the caller loads the original SFT model for it, and a
 * reference other than `model` is disposed here once its log-probs are taken.
 */
export async function trainDpo(
  model: GPT,
  reference: GPT,
  tok: { encode(text: string): number[]; saveGPT2Files(dir: string): unknown; readonly eosId?: number },
  data: { train: PreferencePair[]; held: PreferencePair[] },
  o: PairRunOptions & { beta: number },
  io: { stderr: (s: string) => void; isTTY: boolean } = { stderr: () => {}, isTTY: false },
  hooks: TrainerHooks = {},
): Promise<DpoRunResult> {
  const T = model.config.nPositions;
  const t0 = performance.now();
  const train = await withReferenceLogProbs(
    reference,
    data.train.map((p) => encodePair(tok, p, T)),
    o.batchSize,
  );
  const heldPairs = await withReferenceLogProbs(
    reference,
    data.held.map((p) => encodePair(tok, p, T)),
    o.batchSize,
  );
  if (reference !== model) reference.dispose();
  io.stderr(`reference log-probs: ${train.length + heldPairs.length} pairs in ${((performance.now() - t0) / 1000).toFixed(1)}s\n`);
  const held = inBatches(heldPairs, o.batchSize).map(makePairBatch);
  const params = namedWeights(model);
  const batches = pairBatches(train, o.batchSize, o.seed);
  let last: { step: number; m: Record<keyof DpoTerms, number> } | undefined;
  const evaluate = async (step: number): Promise<EvalResult> => {
    const m = await dpoMetrics(model, held, o.beta);
    last = { step, m };
    return {
      loss: m.loss,
      metrics: { eval_loss: m.loss, ...Object.fromEntries(TRL_NAMES.map(([k, name]) => [`eval_${name}`, m[k]])) },
      line: `eval loss ${m.loss.toFixed(4)} · accuracy ${(100 * m.accuracy).toFixed(1)}% · margin ${m.margin.toFixed(4)}`,
    };
  };
  const trainer = new Trainer<PairBatch>(
    {
      params,
      gradients: new LocalGradients(params, dpoLoss(model, o.beta)),
      batches,
      evaluate: held.length ? evaluate : undefined,
      saveModel: (dir, step) => saveGPT(model, dir, { tokenizer: tok, metadata: { task: 'dpo', step: String(step) } }),
    },
    pairTrainerOptions(o, batches.stepsPerEpoch),
    io,
    hooks,
  );
  const run = await trainer.train();
  const evalM = !held.length ? null : last?.step === run.step ? last.m : await dpoMetrics(model, held, o.beta);
  return { run, eval: evalM };
}
