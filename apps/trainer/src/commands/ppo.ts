// `gptlab-train ppo --policy SFT_DIR --reward RM_DIR --prompts FILE|wordnet-instruct`: RLHF with PPO on the shared
// Trainer (align/ppo.ts). The policy and the frozen reference both load from --policy; with --resume the policy and
// its value head come from the checkpoint and the reference again from the run's --policy.
import { UsageError, type FlagValue } from '@gptlab/common/node';
import { initBackendInfo, describeBackend } from '@gptlab/tensor';
import { loadGPT, TaskHead } from '@gptlab/model';
import { BPETokenizer } from '@gptlab/tokenizer';
import { EXIT_INTERRUPTED, interruptOnSigint, printResult, type TrainerCommand } from '../cli/command';
import { JSON_FLAG, optimizerFlags, seedFlag, TENSORBOARD_FLAG } from '../cli/flag-groups';
import { defaultsOf, settingsOf } from '../cli/settings';
import { corpusTexts } from '../corpus';
import { initCheckpointDir } from '../pretrain/init-from';
import { readTrainerState, resolveCheckpoint, resumedSettings, runDirOf } from '../train/checkpoint';
import { KL_ESTIMATORS } from '../align/ppo-math';
import { newValueHead, PPO_DEFAULTS, trainPpo, VALUE_HEAD, type PpoSettings } from '../align/ppo';
import { checkSameTokenizer, readPromptFile, rewardModelFn, WORDNET_PROMPTS, wordnetPrompts } from '../align/ppo-prompts';
import { loadRewardModel } from '../align/reward';
import { checkpointTemplate } from '../align/template';

const D = PPO_DEFAULTS;
const FLAGS = {
  policy: {
    type: 'string' as const,
    help: 'the SFT model: the starting policy and the frozen reference (required unless --resume)',
    metavar: 'DIR',
  },
  reward: { type: 'string' as const, help: 'the reward model (`gptlab-train reward`; required unless --resume)', metavar: 'DIR' },
  prompts: {
    type: 'string' as const,
    help: `prompt JSONL ({"prompt": "..."} or {"messages": [...]} without the reply), or "${WORDNET_PROMPTS}"`,
    metavar: 'FILE',
  },
  'prompt-count': { type: 'int' as const, min: 1, help: `${WORDNET_PROMPTS}: prompts drawn from the training synsets`, default: 2000 },
  steps: { type: 'int' as const, min: 1, help: 'PPO iterations (each: one rollout batch, then the PPO epochs)', default: D.steps },
  'batch-size': { type: 'int' as const, min: 1, help: 'prompts per rollout batch', default: D.batchSize },
  'mini-batch-size': { type: 'int' as const, min: 1, help: 'rollouts per optimizer step', default: D.miniBatchSize },
  'ppo-epochs': { type: 'int' as const, min: 1, help: 'passes over each rollout batch', default: D.ppoEpochs },
  ...optimizerFlags(D),
  'clip-range': { type: 'float' as const, min: 0, help: 'ε of the clipped policy ratio', default: D.clipRange },
  'clip-range-value': { type: 'float' as const, min: 0, help: 'ε of the clipped value prediction', default: D.clipRangeValue },
  'vf-coef': { type: 'float' as const, min: 0, help: 'weight of the value loss', default: D.vfCoef },
  gamma: { type: 'float' as const, min: 0, max: 1, help: 'GAE discount γ', default: D.gamma },
  lambda: { type: 'float' as const, min: 0, max: 1, help: 'GAE λ', default: D.lambda },
  'init-kl-coef': { type: 'float' as const, min: 0, help: 'initial β of the per-token KL penalty', default: D.initKlCoef },
  'kl-target': { type: 'float' as const, min: 0, help: 'adaptive KL controller target (0 = fixed β)', default: D.klTarget },
  'kl-horizon': { type: 'float' as const, min: 1, help: 'adaptive KL controller horizon (rollouts)', default: D.klHorizon },
  'kl-estimator': { type: 'string' as const, choices: KL_ESTIMATORS, help: 'per-token KL estimate in the reward', default: D.klEstimator },
  'max-new-tokens': { type: 'int' as const, min: 1, help: 'longest response sampled', default: D.maxNewTokens },
  temperature: { type: 'float' as const, min: 0, help: 'sampling temperature of the rollouts', default: D.temperature },
  'ptx-corpus': {
    type: 'string' as const,
    help: 'PPO-ptx: pretraining text mixed in (a corpus spec, as pretrain --corpus)',
    metavar: 'SPEC',
  },
  'ptx-coef': { type: 'float' as const, min: 0, help: 'γ_ptx: weight of the pretraining LM loss (InstructGPT: 27.8)', default: D.ptxCoef },
  seed: seedFlag(D.seed, 'seed of the prompt order, sampling, minibatches and the value head'),
  minutes: { type: 'float' as const, min: 0, help: 'time budget: stop (with a checkpoint) after this many minutes' },
  out: {
    type: 'string' as const,
    help: 'run directory (config, metrics.jsonl, loss.svg, reward.svg, checkpoints)',
    default: 'runs/ppo',
    metavar: 'DIR',
  },
  'checkpoint-every': { type: 'int' as const, min: 1, help: 'iterations between checkpoints (and at the end)', default: D.checkpointEvery },
  'keep-checkpoints': { type: 'int' as const, min: 1, help: 'complete checkpoints kept', default: 2 },
  'log-every': { type: 'int' as const, min: 1, help: 'optimizer steps between progress lines when stderr is not a terminal' },
  resume: { type: 'string' as const, help: 'continue a run: its directory or one checkpoint directory', metavar: 'DIR' },
  tensorboard: TENSORBOARD_FLAG,
  json: JSON_FLAG,
};

type Settings = PpoSettings & {
  policy: string;
  reward: string;
  prompts: string;
  promptCount: number;
  ptxCorpus?: string;
  minutes?: number;
  out: string;
  keepCheckpoints: number;
  logEvery?: number;
  tensorboard?: string;
};

const RESUME_CHANGEABLE = ['out', 'checkpointEvery', 'keepCheckpoints', 'logEvery', 'steps', 'minutes', 'tensorboard'];

function ppoSettings(flags: Record<string, FlagValue | undefined>): {
  s: Settings;
  resume?: { dir: string; state: ReturnType<typeof readTrainerState> };
} {
  const given = settingsOf(flags as Record<string, FlagValue>, ['resume', 'json']) as Partial<Settings>;
  if (typeof flags.resume === 'string') {
    // The checkpoint's settings; the output stays in the resumed run's directory unless --out says otherwise.
    const resume = { dir: resolveCheckpoint(flags.resume), state: readTrainerState(resolveCheckpoint(flags.resume)) };
    const changed = { ...given, out: given.out ?? runDirOf(resume.dir) };
    return { s: resumedSettings(resume.state.config as unknown as Settings, changed, RESUME_CHANGEABLE), resume };
  }
  for (const [flag, what] of [
    ['policy', 'DIR (the SFT model)'],
    ['reward', 'DIR (a reward model)'],
    ['prompts', `FILE|${WORDNET_PROMPTS}`],
  ] as const)
    if (given[flag] === undefined) throw new UsageError(`missing required flag --${flag} ${what}`);
  // A run directory stands for its newest checkpoint; the run records the resolved ones (the reference on resume).
  const s = { ...(defaultsOf(FLAGS) as Record<string, FlagValue>), ...given } as unknown as Settings;
  return { s: { ...s, policy: initCheckpointDir(s.policy), reward: initCheckpointDir(s.reward) } };
}

export const ppoCommand: TrainerCommand = {
  name: 'ppo',
  summary: 'RLHF with PPO: policy from an SFT model, reward model, adaptive KL penalty, value head, GAE, clipped losses',
  usage: `ppo --policy SFT_DIR --reward RM_DIR --prompts FILE|${WORDNET_PROMPTS} [--steps N] [flags]`,
  details:
    'One iteration = a rollout batch (sampled with the KV cache, scored by the reward model, per-token reward −β·KL + score) and ' +
    '--ppo-epochs passes over it in minibatches; metrics.jsonl gets a record per iteration (reward, kl, kl_coef, entropy, clip_fraction, ' +
    'value_loss, policy_loss, approx_kl) and reward.svg plots reward and KL. Checkpoints are SFT-style model directories (chat template ' +
    'kept) with the value head as value_head.weight/bias.',
  flags: FLAGS,
  async run({ flags }, io) {
    const { s, resume } = ppoSettings(flags);
    if (s.miniBatchSize > s.batchSize) throw new UsageError(`--mini-batch-size ${s.miniBatchSize} exceeds --batch-size ${s.batchSize}`);
    const prompts = s.prompts === WORDNET_PROMPTS ? wordnetPrompts(s.promptCount, s.seed) : readPromptFile(s.prompts);
    io.stderr(describeBackend(await initBackendInfo()) + '\n');
    const tok = BPETokenizer.fromDir(s.policy);
    const rm = await loadRewardModel(s.reward);
    const template = checkpointTemplate(s.policy);
    const loaded: { dispose(): void }[] = [rm];
    const interrupt = interruptOnSigint(io);
    try {
      checkSameTokenizer(tok, s.policy, rm.tok, s.reward);
      const policy = await loadGPT(resume?.dir ?? s.policy);
      loaded.push(policy);
      const reference = await loadGPT(s.policy);
      loaded.push(reference);
      const valueHead = resume ? TaskHead.fromTensors(policy.extraTensors, VALUE_HEAD, { dropout: 0 }) : newValueHead(policy, s.seed + 17);
      loaded.push(valueHead);
      let ptx: Int32Array | undefined;
      if (s.ptxCorpus) {
        const texts = await corpusTexts([s.ptxCorpus]);
        ptx = Int32Array.from(texts.flatMap((t) => [...tok.encode(t), tok.eosId!]));
      }
      const models = { policy, reference, valueHead, tok, template, reward: rewardModelFn(rm, template) };
      const config = s as unknown as Record<string, unknown>;
      const r = await trainPpo(models, prompts, { ...s, config, resume }, io, { shouldStop: interrupt.requested }, ptx);
      const l = r.last;
      const run = {
        steps: r.iterations,
        updates: r.run.step,
        reward_mean: l?.reward ?? null,
        reward_std: l?.reward_std ?? null,
        kl: l?.kl ?? null,
        kl_coef: l?.kl_coef ?? null,
        entropy: l?.entropy ?? null,
        clip_fraction: l?.clip_fraction ?? null,
        approx_kl: l?.approx_kl ?? null,
        value_loss: l?.value_loss ?? null,
        policy_loss: l?.policy_loss ?? null,
        response_length: l?.response_length ?? null,
        out: r.run.runDir,
        checkpoint: r.run.checkpoint,
        prompts: s.prompts,
        reason: r.run.reason,
        seconds: r.run.seconds,
      };
      const f = (x: number | null) => (x === null ? 'n/a' : x.toFixed(4));
      printResult(io, flags.json === true, run, () => [
        `ppo: ${run.steps} iterations (${run.updates} updates) · reward ${f(run.reward_mean)} · kl ${f(run.kl)} · β ${f(run.kl_coef)} · ` +
          `${run.seconds.toFixed(0)} s · ${run.checkpoint ?? run.out}`,
      ]);
      return run.reason === 'interrupted' ? EXIT_INTERRUPTED : 0;
    } finally {
      interrupt.dispose();
      for (const x of loaded.reverse()) x.dispose();
    }
  },
};
