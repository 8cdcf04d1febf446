// One PPO iteration's time split — rollout generation (BatchedGenerator, KV cache), scoring (policy + value head
// and the frozen reference, one forward each), the reward model, and the PPO updates — and the rollout's decoding
// speed against @gptlab/decoding's single-stream `generate` on the same model: tokens/s per sequence (each
// rollout row's tokens over the batch's generation time) and aggregate, with their ratios to single-stream.
// Random weights of the given shape (the speed does not depend on them); the iteration measured is the second
// (the first includes kernel warm-up). Two JSON lines. Runs in-process from source (tsx), no build needed:
//   pnpm --filter @gptlab/trainer exec tsx bench/ppo.ts [--layers 4] [--embd 128] [--heads 4] [--vocab 1024]
//       [--positions 128] [--batch 8] [--mini-batch 4] [--epochs 2] [--new 32] [--rounds 5]
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { emit, machine, othersCores, parseFlags } from '@gptlab/bench-utils';
import { Rng } from '@gptlab/common';
import { initBackendInfo, describeBackend } from '@gptlab/tensor';
import { GPT, getPreset, loadGPT, saveGPT, enableNativeDecoding } from '@gptlab/model';
import { BPETokenizer } from '@gptlab/tokenizer';
import { generate, gptLanguageModel } from '@gptlab/decoding';
import { newValueHead, PPO_DEFAULTS, trainPpo } from '../src/align/ppo';
import { encodePrompt, sampleResponses } from '../src/align/ppo-rollout';
import { rewardModelFn, type PpoPrompt } from '../src/align/ppo-prompts';
import { loadRewardModel, newRewardHead, saveRewardModel } from '../src/align/reward';
import { DEFAULT_CHAT_TEMPLATE, ChatTemplate } from '../src/align/template';

const flags = parseFlags();
const num = (k: string, d: number) => (flags[k] === undefined ? d : Number(flags[k]));
const shape = { nLayer: num('layers', 4), nEmbd: num('embd', 128), nHead: num('heads', 4), nPositions: num('positions', 128) };
const batch = num('batch', 8);
const miniBatch = num('mini-batch', 4);
const epochs = num('epochs', 2);
const newTokens = num('new', 32);

const backend = describeBackend(await initBackendInfo());
const WORDS = 'the a dog cat bird runs jumps sleeps eats small large red blue green quickly slowly house tree river stone'.split(' ');
const rng = new Rng(1);
const phrase = (n: number) => Array.from({ length: n }, () => WORDS[rng.int(WORDS.length)]!).join(' ');
const tok = BPETokenizer.train(
  Array.from({ length: 400 }, () => phrase(12)),
  { vocabSize: num('vocab', 1024), minFrequency: 1, specialTokens: ['<|endoftext|>'] },
);
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'gptlab-bench-ppo-'));
const sft = path.join(root, 'sft');
const rmDir = path.join(root, 'rm');
const base = GPT.create(getPreset('gpt2-small', { ...shape, vocabSize: tok.vocabSize }), { seed: 1 });
await saveGPT(base, sft, { tokenizer: tok, chatTemplate: DEFAULT_CHAT_TEMPLATE });
const rmHead = newRewardHead(base, 2);
await saveRewardModel(base, rmHead, tok, rmDir);
rmHead.dispose();
base.dispose();

const template = new ChatTemplate({ source: DEFAULT_CHAT_TEMPLATE });
const prompts: PpoPrompt[] = Array.from({ length: batch }, (_, i) => ({
  messages: [{ role: 'user', content: phrase(6 + (i % 5)) }],
  plain: false,
  origin: `bench:${i}`,
}));
const policy = await loadGPT(sft);
const reference = await loadGPT(sft);
const valueHead = newValueHead(policy, 3);
const rm = await loadRewardModel(rmDir);
const stepSeconds: number[] = [];
const stepsPerIteration = epochs * Math.ceil(batch / miniBatch);
const t0 = performance.now();
await trainPpo(
  { policy, reference, valueHead, tok, template, reward: rewardModelFn(rm, template) },
  prompts,
  {
    ...PPO_DEFAULTS,
    out: path.join(root, 'run'),
    steps: 2,
    batchSize: batch,
    miniBatchSize: miniBatch,
    ppoEpochs: epochs,
    maxNewTokens: newTokens,
  },
  undefined,
  { onStep: (r) => void stepSeconds.push(r.stepSeconds) },
);
const wall = (performance.now() - t0) / 1000;
const records = fs
  .readFileSync(path.join(root, 'run', 'metrics.jsonl'), 'utf8')
  .trim()
  .split('\n')
  .map((l) => JSON.parse(l) as Record<string, number | string>)
  .filter((r) => r.type === 'eval');
const it = records[1]!;
const gen = Number(it.time_generate_s);
const score = Number(it.time_score_s);
const reward = Number(it.time_reward_s);
const iteration = stepSeconds.slice(stepsPerIteration).reduce((a, b) => a + b, 0);
const update = iteration - gen - score - reward;
const r3 = (x: number) => Number(x.toFixed(3));
const common = { ...shape, vocab: tok.vocabSize, rollouts: batch, max_new_tokens: newTokens, backend };
emit({
  bench: 'ppo-iteration',
  ...common,
  mini_batch: miniBatch,
  ppo_epochs: epochs,
  updates: stepsPerIteration,
  iteration_s: r3(iteration),
  rollout_generate_s: r3(gen),
  score_policy_ref_s: r3(score),
  reward_model_s: r3(reward),
  update_s: r3(update),
  share: { generate: r3(gen / iteration), score: r3(score / iteration), reward: r3(reward / iteration), update: r3(update / iteration) },
  both_iterations_s: r3(wall),
  machine: machine(),
});

// Decoding speed: the rollout's generation (sampleResponses: all prompts in one BatchedGenerator) against
// @gptlab/decoding's single-stream `generate` of the same prompts one after another, same seeds and eos,
// alternated `--rounds` times so both see the same machine load; medians and [min, max]. Per sequence: a row's
// tokens over the batch's time (what each rollout sequence gets); aggregate: all rows' tokens over it. Both sides
// decode on the same path: native (the R-row step for the rollout, the one-row step for `generate`) where the addon
// is built, else tfjs — the line says which.
const rounds = num('rounds', 5);
const nativeStatus = enableNativeDecoding(policy);
const decodePath = nativeStatus.active ? nativeStatus.detail : `tfjs (${nativeStatus.detail})`;
const encoded = prompts.map((p) => encodePrompt(tok, template, p, shape.nPositions - newTokens));
const eos = tok.eosId!;
const lm = gptLanguageModel(policy);
const calls = timeCalls(policy);
const perSeqRates: number[] = [];
const aggRates: number[] = [];
const singleRates: number[] = [];
const ratios: number[] = [];
const others: number[] = [];
const splits = { batch: [] as Record<string, number>[], single: [] as Record<string, number>[] };
for (let r = 0; r < rounds; r++) {
  others.push(othersCores(100) ?? NaN);
  const seeds = encoded.map((_, i) => 1000 * r + i);
  calls.reset();
  let ts = performance.now();
  const responses = await sampleResponses(policy, encoded, seeds, { temperature: 1, maxNewTokens: newTokens, eos });
  const batchS = (performance.now() - ts) / 1000;
  const batchTokens = responses.reduce((a, x) => a + x.length, 0);
  splits.batch.push({ ...calls.ms, total: batchS * 1000 });
  calls.reset();
  ts = performance.now();
  let singleTokens = 0;
  for (let i = 0; i < encoded.length; i++) {
    const out = await generate(lm, encoded[i]!, { type: 'sample', seed: seeds[i]!, maxNewTokens: newTokens, eosTokenId: eos });
    singleTokens += (Array.isArray(out) ? out[0]! : out).ids.length;
  }
  const singleS = (performance.now() - ts) / 1000;
  splits.single.push({ ...calls.ms, total: singleS * 1000 });
  perSeqRates.push(batchTokens / batch / batchS);
  aggRates.push(batchTokens / batchS);
  singleRates.push(singleTokens / singleS);
  ratios.push(perSeqRates[r]! / singleRates[r]!);
}
const median = (a: number[]) => {
  const b = [...a].sort((x, y) => x - y);
  return b.length % 2 ? b[(b.length - 1) / 2]! : (b[b.length / 2 - 1]! + b[b.length / 2]!) / 2;
};
emit({
  bench: 'ppo-rollout-speed',
  ...common,
  rounds,
  rollout_tokens_per_s: r3(median(aggRates)),
  rollout_tokens_per_s_per_sequence: r3(median(perSeqRates)),
  single_stream_tokens_per_s: r3(median(singleRates)),
  ratio_per_sequence: r3(median(ratios)),
  ratio_per_sequence_rounds: ratios.map(r3),
  ratio_per_sequence_spread: [r3(Math.min(...ratios)), r3(Math.max(...ratios))],
  ratio_aggregate: r3(median(aggRates.map((a, i) => a / singleRates[i]!))),
  target_ratio: 0.8,
  decode_path: `both sides: ${decodePath}`,
  others_cores_rounds: others.map((x) => Number(x.toFixed(2))),
  // where each side's time goes (ms per round, medians): prompt forwards, one-token steps (the rollout's R-row
  // steps, generate's one-row steps), and the rest (sampling each row, the generator's bookkeeping)
  time_split_ms: { rollout: medianSplit(splits.batch), single_stream: medianSplit(splits.single) },
  machine: machine(),
});
/** Medians of each field over rounds, with `other` = total − prompts − steps. */
function medianSplit(rs: Record<string, number>[]): Record<string, number> {
  const f = (k: string) => r3(median(rs.map((r) => r[k] ?? 0)));
  const n = (k: string) => median(rs.map((r) => r[k] ?? 0));
  return {
    total: f('total'),
    prompts: f('prompts'),
    steps: f('steps'),
    step_calls: f('stepCalls'),
    ms_per_step: r3(n('steps') / Math.max(1, n('stepCalls'))),
    other: r3(n('total') - n('prompts') - n('steps')),
  };
}

/**
 * Wraps the policy's forward, prefillBatched and decodeStep to time them: `prompts` (prefillBatched, forwards of
 * several tokens), `steps` (decodeStep, one-token forwards) in ms, `stepCalls`.
 */
function timeCalls(m: GPT): { ms: Record<string, number>; reset(): void } {
  const ms: Record<string, number> = { prompts: 0, steps: 0, stepCalls: 0 };
  const timed = <R>(kind: 'prompts' | 'steps', f: () => R): R => {
    const t0 = performance.now();
    try {
      return f();
    } finally {
      ms[kind]! += performance.now() - t0;
      if (kind === 'steps') ms.stepCalls! += 1;
    }
  };
  const { forward, prefillBatched, decodeStep } = {
    forward: m.forward.bind(m),
    prefillBatched: m.prefillBatched.bind(m),
    decodeStep: m.decodeStep.bind(m),
  };
  const width = (ids: Parameters<GPT['forward']>[0]) =>
    Array.isArray(ids) ? (ids[0]?.length ?? 0) : (ids as { shape: number[] }).shape[1]!;
  m.forward = (ids, opts) => timed(width(ids) === 1 ? 'steps' : 'prompts', () => forward(ids, opts));
  m.prefillBatched = (prompts, cache) => timed('prompts', () => prefillBatched(prompts, cache));
  m.decodeStep = (tokens, cache) => timed('steps', () => decodeStep(tokens, cache));
  return { ms, reset: () => Object.keys(ms).forEach((k) => (ms[k] = 0)) };
}

rm.dispose();
valueHead.dispose();
reference.dispose();
policy.dispose();
fs.rmSync(root, { recursive: true, force: true });
