// PPO's experience: prompts rendered with the policy's chat template, responses sampled with the KV cache by
// @gptlab/decoding's BatchedGenerator (every prompt of the batch decoding together, each row with its own seed),
// then one forward pass each of the policy (log-probs, values from the value head, entropy) and of the frozen
// reference (log-probs) over prompt + response, and the reward of each response. Log-probs are recomputed rather
// than taken from the sampler so that the first PPO epoch starts at ratio exactly 1 (the same forward as training).
//
// Positions: a response token at sequence position t+1 is the action taken at position t, so a row's actions
// are the positions promptLength−1 … promptLength+responseLength−2; every array of a Rollout has one entry per
// action, and a PpoBatch carries them at those positions with a mask of 1 there and 0 on prompt and padding.
import { tf, IGNORE_INDEX } from '@gptlab/tensor';
import { disableNativeDecoding, enableNativeDecoding, nativeDecodingEnabled, type GPT, type TaskHead } from '@gptlab/model';
import { BatchedGenerator } from '@gptlab/decoding';
import { gae, tokenEntropy, tokenLogProbs, tokenRewards, whiten, type KlEstimator } from './ppo-math';
import type { ChatTemplate } from './template';
import type { PpoPrompt } from './ppo-prompts';

/**
 * Scores responses: the reward model, or any program (tests, a judge-based reward). One number per item; `response`
 * is the reply's text without the eos token, `ended` whether the policy closed it with one.
 */
export type RewardFn = (items: { prompt: PpoPrompt; response: string; ended: boolean }[]) => Promise<number[]>;

export interface PpoTokenizer {
  encode(text: string, opts?: { allowedSpecial?: 'all' }): number[];
  decode(ids: ArrayLike<number>): string;
  readonly eosId?: number;
}

/** One sampled response and what PPO learns from it (per-action arrays, see the file comment). */
export interface Rollout {
  prompt: number[];
  response: number[];
  /** The reward model's score of the response (added to the last token's reward). */
  score: number;
  logp: number[];
  refLogp: number[];
  values: number[];
  /** Per-token KL estimate and reward (−β·KL, + score on the last token). */
  kl: number[];
  rewards: number[];
  /** Whitened over the rollout batch. */
  advantages: number[];
  /** Advantages (before whitening) + values: the value head's targets. */
  returns: number[];
  /** Mean entropy of the policy over the response's positions. */
  entropy: number;
}

export interface RolloutSettings {
  maxNewTokens: number;
  temperature: number;
  gamma: number;
  lambda: number;
  klEstimator: KlEstimator;
  /** Rows per scoring forward pass. */
  forwardBatch: number;
}

export interface RolloutModels {
  policy: GPT;
  valueHead: TaskHead;
  reference: GPT;
  tok: PpoTokenizer;
  template: ChatTemplate;
  reward: RewardFn;
}

/** Where an iteration's rollout time went (seconds). */
export interface RolloutTimes {
  generate: number;
  score: number;
  reward: number;
}

export interface PpoBatch {
  ids: Int32Array;
  /** The action token at each action position, IGNORE_INDEX elsewhere. */
  targets: Int32Array;
  mask: Float32Array;
  oldLogp: Float32Array;
  oldValues: Float32Array;
  advantages: Float32Array;
  returns: Float32Array;
  rows: number;
  T: number;
}

type PerAction = 'logp' | 'values' | 'advantages' | 'returns';

/** Rows right-padded with `pad` (causal attention: no real token attends to padding), per-action data in place. */
export function makePpoBatch(rows: readonly Pick<Rollout, 'prompt' | 'response' | PerAction>[], pad: number): PpoBatch {
  const T = Math.max(...rows.map((r) => r.prompt.length + r.response.length));
  const n = rows.length * T;
  const b: PpoBatch = {
    ids: new Int32Array(n).fill(pad),
    targets: new Int32Array(n).fill(IGNORE_INDEX),
    mask: new Float32Array(n),
    oldLogp: new Float32Array(n),
    oldValues: new Float32Array(n),
    advantages: new Float32Array(n),
    returns: new Float32Array(n),
    rows: rows.length,
    T,
  };
  rows.forEach((r, i) => {
    if (r.prompt.length === 0 || r.response.length === 0) throw new Error('a rollout needs a non-empty prompt and response');
    b.ids.set(r.prompt, i * T);
    b.ids.set(r.response, i * T + r.prompt.length);
    r.response.forEach((tokenId, k) => {
      const at = i * T + r.prompt.length - 1 + k;
      b.targets[at] = tokenId;
      b.mask[at] = 1;
      b.oldLogp[at] = r.logp[k] ?? 0;
      b.oldValues[at] = r.values[k] ?? 0;
      b.advantages[at] = r.advantages[k] ?? 0;
      b.returns[at] = r.returns[k] ?? 0;
    });
  });
  return b;
}

/** V(s_t) at every position: the value head (a [C, 1] linear layer) on the hidden states [rows, T, C]. */
export function tokenValues(head: TaskHead, hidden: tf.Tensor3D): tf.Tensor2D {
  return tf.tidy(() => {
    const [rows, T, C] = hidden.shape;
    const v = tf.add(tf.matMul(tf.reshape(hidden, [rows * T, C]), head.weight), head.bias);
    return tf.reshape(v, [rows, T]) as tf.Tensor2D;
  });
}

/** Per-action log-probs (and with a value head, values and entropies) of each row under `model`, no dropout. */
async function scoreRows(
  model: GPT,
  head: TaskHead | null,
  rows: { prompt: number[]; response: number[] }[],
  pad: number,
): Promise<{ logp: number[]; values: number[]; entropy: number[] }[]> {
  const empty = { logp: [], values: [], advantages: [], returns: [] };
  const b = makePpoBatch(
    rows.map((r) => ({ ...r, ...empty })),
    pad,
  );
  const [logp, values, entropy] = tf.tidy(() => {
    const { logits, hidden } = model.forward(tf.tensor2d(b.ids, [b.rows, b.T], 'int32'), { outputHidden: head !== null });
    return head ? [tokenLogProbs(logits, b.targets), tokenValues(head, hidden!), tokenEntropy(logits)] : [tokenLogProbs(logits, b.targets)];
  });
  const read = async (t: tf.Tensor | undefined) => (t ? await t.data() : null);
  const [lp, v, e] = [await read(logp), await read(values), await read(entropy)];
  tf.dispose([logp!, values!, entropy!].filter(Boolean));
  return rows.map((r, i) => {
    const from = i * b.T + r.prompt.length - 1;
    const slice = (a: ArrayLike<number> | null) => (a ? Array.from((a as Float32Array).subarray(from, from + r.response.length)) : []);
    return { logp: slice(lp), values: slice(v), entropy: slice(e) };
  });
}

/** The prompt's token ids: the conversation with the generation prompt, its end kept to leave room to answer. */
export function encodePrompt(tok: PpoTokenizer, template: ChatTemplate, prompt: PpoPrompt, room: number): number[] {
  const ids = tok.encode(template.render(prompt.messages, true), { allowedSpecial: 'all' });
  if (ids.length === 0) throw new Error(`${prompt.origin}: the prompt renders to no tokens`);
  return ids.slice(Math.max(0, ids.length - room));
}

/**
 * The rollout's generation: one sampled response per prompt (row i with seed seeds[i]), every prompt decoding
 * together in @gptlab/decoding's BatchedGenerator (one batched KV-cache step per token for all rows). A response
 * ends with `eos` or at maxNewTokens. Where the native addon is built, the steps run natively (all rows in one
 * call, @gptlab/model's native batched cache; each row's logits those of its sequence decoded alone) over a
 * snapshot of the policy's current weights — taken again after every PPO update, since the weights changed; the
 * policy is left as it was found (native decoding switched off again unless it was on).
 */
export async function sampleResponses(
  policy: GPT,
  prompts: readonly number[][],
  seeds: readonly number[],
  s: { temperature: number; maxNewTokens: number; eos: number },
): Promise<number[][]> {
  const wasNative = nativeDecodingEnabled(policy);
  if (!wasNative) enableNativeDecoding(policy);
  const engine = new BatchedGenerator(policy, { maxBatch: Math.max(1, prompts.length) });
  try {
    const results = await Promise.all(
      prompts.map((ids, i) =>
        engine.add({
          ids,
          strategy: { type: 'sample', temperature: s.temperature, seed: seeds[i]!, maxNewTokens: s.maxNewTokens, eosTokenId: s.eos },
        }),
      ),
    );
    return results.map((r) => r[0]!.ids);
  } finally {
    await engine.close();
    if (!wasNative) disableNativeDecoding(policy);
  }
}

/**
 * Samples one response per prompt (row i with seed seeds[i]), scores it, and turns it into per-token rewards with
 * the KL coefficient `beta`, GAE advantages (whitened over the batch) and returns.
 */
export async function collectRollouts(
  m: RolloutModels,
  prompts: readonly PpoPrompt[],
  seeds: readonly number[],
  beta: number,
  s: RolloutSettings,
): Promise<{ rollouts: Rollout[]; times: RolloutTimes }> {
  const eos = m.tok.eosId;
  if (eos === undefined) throw new Error('ppo: the tokenizer has no end-of-text token (responses end with it)');
  const nPositions = m.policy.config.nPositions;
  if (s.maxNewTokens >= nPositions)
    throw new Error(`--max-new-tokens ${s.maxNewTokens} leaves no room for a prompt in ${nPositions} positions`);
  const encoded = prompts.map((p) => encodePrompt(m.tok, m.template, p, nPositions - s.maxNewTokens));

  let t0 = performance.now();
  const responses = await sampleResponses(m.policy, encoded, seeds, { ...s, eos });
  const rows = encoded.map((prompt, i) => ({ prompt, response: responses[i]! }));
  const generate = (performance.now() - t0) / 1000;

  t0 = performance.now();
  const policyScores: Awaited<ReturnType<typeof scoreRows>> = [];
  const refScores: Awaited<ReturnType<typeof scoreRows>> = [];
  for (let i = 0; i < rows.length; i += s.forwardBatch) {
    const group = rows.slice(i, i + s.forwardBatch);
    policyScores.push(...(await scoreRows(m.policy, m.valueHead, group, eos)));
    refScores.push(...(await scoreRows(m.reference, null, group, eos)));
  }
  const score = (performance.now() - t0) / 1000;

  t0 = performance.now();
  const items = rows.map((r, i) => {
    const ended = r.response[r.response.length - 1] === eos;
    return { prompt: prompts[i]!, response: m.tok.decode(ended ? r.response.slice(0, -1) : r.response), ended };
  });
  const scores = await m.reward(items);
  if (scores.length !== rows.length) throw new Error(`ppo: the reward gave ${scores.length} scores for ${rows.length} responses`);
  const reward = (performance.now() - t0) / 1000;

  const partial = rows.map((r, i) => {
    const { logp, values, entropy } = policyScores[i]!;
    const { rewards, kl } = tokenRewards(logp, refScores[i]!.logp, scores[i]!, beta, s.klEstimator);
    const { advantages, returns } = gae(rewards, values, s.gamma, s.lambda);
    const meanEntropy = entropy.reduce((a, b) => a + b, 0) / entropy.length;
    return { ...r, score: scores[i]!, logp, refLogp: refScores[i]!.logp, values, kl, rewards, advantages, returns, entropy: meanEntropy };
  });
  const white = whiten(partial.map((r) => r.advantages));
  return { rollouts: partial.map((r, i) => ({ ...r, advantages: white[i]! })), times: { generate, score, reward } };
}
