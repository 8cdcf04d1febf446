// PPO end to end on a nano GPT: rollouts equal the decoding package's own sampling (tokens and log-probs, so the
// recomputed log-probs sit at the right positions); the mean reward rises against an easy programmatic reward (the
// reward seam); the KL to the frozen reference starts at exactly 0 and grows; no tensor leaks across iterations; an
// interrupted run resumed mid-iteration ends with the same weights and records as an uninterrupted one; PPO-ptx
// trains on its corpus; bad prompts name file:line and mismatched tokenizers are one clear error.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { causalMask, initBackend, tf } from '@gptlab/tensor';
import { GPT, getPreset, loadGPT, saveGPT, TaskHead } from '@gptlab/model';
import { BPETokenizer } from '@gptlab/tokenizer';
import { generateAll, gptLanguageModel } from '@gptlab/decoding';
import { newValueHead, PPO_DEFAULTS, trainPpo, VALUE_HEAD, type PpoModels, type PpoRunOptions } from '../src/align/ppo';
import { checkSameTokenizer, readPromptFile, type PpoPrompt } from '../src/align/ppo-prompts';
import { collectRollouts, type RewardFn } from '../src/align/ppo-rollout';
import { gae } from '../src/align/ppo-math';
import { checkpointTemplate, DEFAULT_CHAT_TEMPLATE } from '../src/align/template';
import { listCheckpoints, readTrainerState } from '../src/train/checkpoint';
import { readMetrics, tmpDir } from './helpers';

let root: string;
let sftDir: string;
beforeAll(async () => {
  await initBackend();
  root = tmpDir('ppo');
  const tok = BPETokenizer.train(['user: name a colour', 'assistant: red green blue', 'the sky is blue'], {
    vocabSize: 290,
    minFrequency: 1,
    specialTokens: ['<|endoftext|>'],
  });
  sftDir = path.join(root, 'sft');
  const m = GPT.create(getPreset('nano', { vocabSize: tok.vocabSize, nPositions: 32 }), { seed: 3 });
  await saveGPT(m, sftDir, { tokenizer: tok, chatTemplate: DEFAULT_CHAT_TEMPLATE });
  m.dispose();
});
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

const PROMPTS: PpoPrompt[] = ['name a colour', 'the sky is', 'say something', 'green or blue?'].map((content, i) => ({
  messages: [{ role: 'user', content }],
  plain: true,
  origin: `test:${i + 1}`,
}));

/** Easy to learn from any start: the share of the reply's characters that are lower-case letters or spaces. */
const letters: RewardFn = async (items) =>
  items.map((it) => (it.response.length ? (it.response.match(/[a-z ]/g) ?? []).length / it.response.length : 0));

async function models(dir: string, reward: RewardFn, resumeDir?: string): Promise<PpoModels> {
  const policy = await loadGPT(resumeDir ?? dir);
  return {
    policy,
    reference: await loadGPT(dir),
    valueHead: resumeDir ? TaskHead.fromTensors(policy.extraTensors, VALUE_HEAD, { dropout: 0 }) : newValueHead(policy, 5),
    tok: BPETokenizer.fromDir(dir),
    template: checkpointTemplate(dir),
    reward,
  };
}
const dispose = (m: PpoModels) => [m.policy, m.reference, m.valueHead].forEach((x) => x.dispose());

const opts = (out: string, o: Partial<PpoRunOptions> = {}): PpoRunOptions => ({
  ...PPO_DEFAULTS,
  out,
  batchSize: 8,
  miniBatchSize: 4,
  ppoEpochs: 2,
  maxNewTokens: 6,
  lr: 1e-2,
  initKlCoef: 0.01,
  checkpointEvery: 1,
  ...o,
});

type IterRecord = { type: string; step: number; reward?: number; kl?: number; time_generate_s?: number; [k: string]: unknown };
const iterations = (out: string) => (readMetrics(out) as IterRecord[]).filter((r) => r.type === 'eval');

test('the reward rises on an easy reward; KL starts at 0 and grows; no tensor leaks; records and plots per iteration', async () => {
  const m = await models(sftDir, letters);
  const out = path.join(root, 'rise');
  // Attention masks are cached once per sequence length: make them all first, so what remains counts as a leak.
  for (let t = 1; t <= 32; t++) causalMask(t);
  const before = tf.memory().numTensors;
  const perIteration: number[] = [];
  const r = await trainPpo(m, PROMPTS, opts(out, { steps: 8, batchSize: 16 }), undefined, {
    onStep: (s) => void (s.step % 8 === 0 && perIteration.push(tf.memory().numTensors)),
  });
  expect(tf.memory().numTensors).toBe(before);
  expect(new Set(perIteration).size).toBe(1);
  expect(r.iterations).toBe(8);
  const its = iterations(out);
  expect(its.map((x) => x.iteration)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  expect(its[0]!.kl).toBe(0); // the policy is the reference before the first update
  const rewards = its.map((x) => x.reward!);
  const early = (rewards[0]! + rewards[1]!) / 2;
  const late = (rewards[6]! + rewards[7]!) / 2;
  expect(late).toBeGreaterThan(early + 0.15);
  expect(its[7]!.kl).toBeGreaterThan(0);
  for (const k of ['kl_coef', 'entropy', 'clip_fraction', 'value_loss', 'policy_loss', 'approx_kl', 'update_entropy'])
    expect(Number.isFinite(its[7]![k] as number)).toBe(true);
  expect(r.last!.reward).toBe(rewards[7]);
  expect(fs.readFileSync(path.join(out, 'reward.svg'), 'utf8')).toMatch(/<polyline[^>]+points="([\d.]+,[\d.]+ ){7}[\d.]+,[\d.]+"/);
  // the checkpoint is an SFT-style model directory: chat template and the value head kept
  const ckpt = listCheckpoints(out).pop()!.dir;
  expect(checkpointTemplate(ckpt).spec.source).toBe(DEFAULT_CHAT_TEMPLATE);
  const saved = await loadGPT(ckpt);
  expect(saved.extraTensors.get(`${VALUE_HEAD}.weight`)!.shape).toEqual([saved.config.nEmbd, 1]);
  saved.dispose();
  dispose(m);
}, 120000);

test('--resume mid-iteration continues exactly: same weights, same iteration records', async () => {
  const full = path.join(root, 'full');
  const a = await models(sftDir, letters);
  await trainPpo(a, PROMPTS, opts(full, { steps: 3 }));
  const weightsA = await a.policy.namedWeights().get('transformer.h.0.mlp.c_fc.weight')!.data();
  const headA = await a.valueHead.weight.data();
  dispose(a);

  const cut = path.join(root, 'cut');
  const b = await models(sftDir, letters);
  let steps = 0;
  // 4 steps per iteration (2 epochs × 2 minibatches): stop after step 6, in the middle of iteration 2
  const stopped = await trainPpo(b, PROMPTS, opts(cut, { steps: 3 }), undefined, {
    onStep: () => void steps++,
    shouldStop: () => steps === 6,
  });
  expect(stopped.run.reason).toBe('interrupted');
  dispose(b);
  const ckpt = listCheckpoints(cut).pop()!.dir;
  const state = readTrainerState(ckpt);
  expect(state.step).toBe(6);
  const c = await models(sftDir, letters, ckpt);
  const resumed = await trainPpo(c, PROMPTS, opts(cut, { steps: 3, resume: { dir: ckpt, state } }));
  expect(resumed.iterations).toBe(3);
  expect(Array.from(await c.policy.namedWeights().get('transformer.h.0.mlp.c_fc.weight')!.data())).toEqual(Array.from(weightsA));
  expect(Array.from(await c.valueHead.weight.data())).toEqual(Array.from(headA));
  dispose(c);
  const strip = (rs: IterRecord[]) => rs.map(({ time_generate_s, time_score_s, time_reward_s, ...rest }) => rest);
  expect(strip(iterations(cut))).toEqual(strip(iterations(full)));
}, 120000);

test('rollouts: sampled with the seeds given, log-probs recomputed at the right positions, rewards and GAE per token', async () => {
  const m = await models(sftDir, letters);
  const settings = { maxNewTokens: 6, temperature: 1, gamma: 1, lambda: 0.95, klEstimator: 'k1' as const, forwardBatch: 3 };
  const { rollouts } = await collectRollouts(m, PROMPTS, [11, 12, 13, 14], 0.1, settings);
  const lm = gptLanguageModel(m.policy);
  for (const [i, r] of rollouts.entries()) {
    // the decoding package alone, same prompt and seed: the same tokens, and its log-probs equal the recomputed ones
    const [alone] = await generateAll(lm, r.prompt, { type: 'sample', seed: 11 + i, maxNewTokens: 6, eosTokenId: m.tok.eosId });
    expect(r.response).toEqual(alone!.ids);
    r.logp.forEach((lp, k) => expect(lp).toBeCloseTo(alone!.logprobs[k]!, 4));
    // the reference is the same model here: KL 0, so the rewards are the score on the last token only
    expect(r.kl.every((k) => k === 0)).toBe(true);
    expect(r.rewards.slice(0, -1).every((x) => x === 0) && r.rewards[r.rewards.length - 1] === r.score).toBe(true);
    expect(r.returns).toEqual(gae(r.rewards, r.values, 1, 0.95).returns);
    expect([r.values.length, r.advantages.length]).toEqual([r.response.length, r.response.length]);
  }
  dispose(m);
});

test('PPO-ptx: the pretraining LM term trains the policy on the --ptx-corpus', async () => {
  const m = await models(sftDir, async (items) => items.map(() => 0));
  const out = path.join(root, 'ptx');
  const ptx = Int32Array.from(m.tok.encode('the sky is blue. '.repeat(30)));
  await trainPpo(m, PROMPTS, opts(out, { steps: 3, ptxCoef: 1 }), undefined, {}, ptx);
  const losses = (readMetrics(out) as { type: string; ptx_loss?: number }[]).filter((r) => r.type === 'train').map((r) => r.ptx_loss!);
  expect(losses).toHaveLength(12);
  expect(losses[11]!).toBeLessThan(losses[0]! * 0.7);
  dispose(m);
}, 60000);

describe('bad input', () => {
  const write = (name: string, lines: string[]) => {
    const f = path.join(root, name);
    fs.writeFileSync(f, lines.join('\n') + '\n');
    return f;
  };

  test('prompt files: records are read, errors name file:line and the field', () => {
    const ok = write('ok.jsonl', [
      '{"prompt": "hi"}',
      '',
      '{"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hello"}]}',
    ]);
    const ps = readPromptFile(ok);
    expect(ps.map((p) => [p.plain, p.messages.length, p.origin])).toEqual([
      [true, 1, `${ok}:1`],
      [false, 2, `${ok}:3`],
    ]);
    const bad = (lines: string[]) => () => readPromptFile(write('bad.jsonl', lines));
    expect(bad(['{"prompt": "a"}', '{"prompt": 3}'])).toThrow(/bad\.jsonl:2: .*"prompt"/);
    expect(bad(['{"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}'])).toThrow(
      /bad\.jsonl:1: field "messages" ends with an assistant turn/,
    );
    expect(bad(['{"messages": [{"role": "robot", "content": "q"}]}'])).toThrow(/bad\.jsonl:1: field "messages"\[0\]: unknown role "robot"/);
    expect(bad(['{"text": "q"}'])).toThrow(/bad\.jsonl:1: expected \{"prompt"/);
    expect(bad(['{"prompt": "a"', ''])).toThrow(/bad\.jsonl:1/);
  });

  test('a policy and a reward model with different tokenizers is one clear error', () => {
    const a = BPETokenizer.fromDir(sftDir);
    const other = BPETokenizer.train(['something else entirely'], { vocabSize: 280, minFrequency: 1, specialTokens: ['<|endoftext|>'] });
    expect(() => checkSameTokenizer(a, 'sft', a, 'rm')).not.toThrow();
    expect(() => checkSameTokenizer(a, 'sft', other, 'rm')).toThrow(
      new RegExp(`policy \\(sft, vocabulary 290\\) and the reward model \\(rm, vocabulary ${other.vocabSize}\\) use different tokenizers`),
    );
  });
});
