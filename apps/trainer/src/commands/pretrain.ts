// `gptlab-train pretrain`: GPT pretraining with AdamW, warm-up + cosine, clipping, accumulation, data-parallel
// workers, evaluation, atomic checkpoints and exact resume. One settings table makes the flags, their help,
// the defaults and the keys of a --config file; `pretrain()` sets a run up and hands it to the Trainer.
import * as path from 'node:path';
import { UsageError, type FlagSpecs } from '@gptlab/common/node';
import { initBackendInfo, describeBackend } from '@gptlab/tensor';
import { GPT, getPreset, loadGPT, PRESETS, countParameters, trainingFlopsPerToken, type GPTConfig } from '@gptlab/model';
import type { BPETokenizer } from '@gptlab/tokenizer';
import { EXIT_INTERRUPTED, interruptOnSigint, type CommandIO, type TrainerCommand } from '../cli/command';
import {
  corpusFlag,
  optimizerFlags,
  runFlags,
  seedFlag,
  shapeFlags,
  TENSORBOARD_FLAG,
  vocabSizeFlag,
  WORKERS_FLAG,
} from '../cli/flag-groups';
import { checkSettings, defaultsOf, kebab, readConfigFile, settingsOf } from '../cli/settings';
import { trainingData, type DataSettings } from '../corpus';
import { defaultWorkers, gptGradients, namedWeights } from '../lm';
import { initialModel, readChatTemplate } from '../pretrain/init-from';
import { causalLmMethod } from '../pretrain/method';
import { readTrainerState, resolveCheckpoint, resumedSettings, runDirOf } from '../train/checkpoint';
import { cosineSchedule } from '../train/schedule';
import { Trainer, type TrainerHooks, type TrainResult } from '../train/trainer';

/** Everything a pretraining run is configured by (flags, --config JSON, or the saved state of --resume). */
export interface PretrainConfig extends DataSettings {
  preset: string;
  nLayer?: number;
  nHead?: number;
  nEmbd?: number;
  nPositions?: number;
  dropout: number;
  out: string;
  batchSize: number;
  gradAccum: number;
  steps: number;
  minutes?: number;
  lr: number;
  minLrRatio: number;
  warmupSteps: number;
  weightDecay: number;
  beta1: number;
  beta2: number;
  eps: number;
  clip: number;
  seed: number;
  evalEvery: number;
  evalBatches: number;
  sampleTokens: number;
  samplePrompt: string;
  checkpointEvery: number;
  keepCheckpoints: number;
  workers?: number;
  logEvery: number;
  tensorboard?: string;
  initFrom?: string;
}

/** The settings table: flags, help, defaults and --config keys. */
export const PRETRAIN_FLAGS: FlagSpecs = {
  config: { type: 'string', help: 'JSON file with any of these settings (kebab or camelCase keys; flags override it)', metavar: 'FILE' },
  data: { type: 'string', help: 'shard directory from `gptlab-train data prepare`', metavar: 'DIR' },
  corpus: corpusFlag('wordnet, text files or JSONL: tokenizer training and the data pipeline run first (cached)'),
  tokenizer: { type: 'string', help: 'tokenizer.json (default: the one next to --data, or trained on --corpus)', metavar: 'FILE' },
  'vocab-size': vocabSizeFlag(4096),
  'val-fraction': {
    type: 'float',
    min: 0,
    max: 0.5,
    help: 'validation share: of documents, or of tokens when the corpus has too few documents',
    default: 0.05,
  },
  'cache-dir': { type: 'string', help: 'cache of tokenizers and shards made from --corpus (default <out>/cache)', metavar: 'DIR' },
  preset: { type: 'string', help: `model preset of @gptlab/model (${Object.keys(PRESETS).join(', ')})`, default: 'gpt2-small' },
  ...shapeFlags({ nLayer: 4, nHead: 4, nEmbd: 256, blockSize: 128, batchSize: 8 }),
  'n-positions': { type: 'int', min: 1, help: 'position embeddings (default: --block-size)' },
  dropout: { type: 'float', min: 0, max: 0.99, help: 'dropout rate (embedding, attention, residual)', default: 0 },
  'grad-accum': { type: 'int', min: 1, help: 'micro-batches accumulated per optimizer step', default: 1 },
  steps: { type: 'int', min: 1, help: 'optimizer steps (the cosine schedule ends here)', default: 1000 },
  minutes: { type: 'float', help: 'time budget: after a few steps the step count is set to fit it' },
  ...optimizerFlags({ lr: 1e-3, weightDecay: 0.1, beta1: 0.9, beta2: 0.95, clip: 1.0 }),
  'warmup-steps': { type: 'int', min: 0, help: 'linear warm-up steps', default: 50 },
  'min-lr-ratio': { type: 'float', min: 0, max: 1, help: 'cosine floor as a fraction of the peak (GPT-3: 0.1)', default: 0.1 },
  seed: seedFlag(1),
  workers: WORKERS_FLAG,
  ...runFlags({ out: 'runs/pretrain', evalEvery: 100, checkpointEvery: 200 }),
  'eval-batches': { type: 'int', min: 1, help: 'validation batches per evaluation', default: 8 },
  'sample-tokens': { type: 'int', min: 0, help: 'tokens of the greedy sample printed at each evaluation (0 = none)', default: 24 },
  'sample-prompt': { type: 'string', help: 'prompt of the evaluation sample', default: 'a dog is' },
  tensorboard: TENSORBOARD_FLAG,
  'init-from': {
    type: 'string',
    help: 'start from this model (gptlab or Hugging Face GPT-2 directory): its config and tokenizer, fresh optimizer',
    metavar: 'DIR',
  },
};

/** Flags that are not settings of the run. */
const NOT_SETTINGS = ['config', 'resume'];
export const PRETRAIN_DEFAULTS = defaultsOf(PRETRAIN_FLAGS) as unknown as PretrainConfig;
/** Settings that may change when resuming (the rest comes from the checkpoint). */
const RESUME_CHANGEABLE = [
  'steps',
  'minutes',
  'evalEvery',
  'evalBatches',
  'checkpointEvery',
  'keepCheckpoints',
  'workers',
  'logEvery',
  'sampleTokens',
  'samplePrompt',
  'out',
  'tensorboard',
];

/** The model configuration of a run; errors name the flag. */
export function modelConfigOf(c: PretrainConfig, vocabSize: number): GPTConfig {
  const base = Object.prototype.hasOwnProperty.call(PRESETS, c.preset) ? PRESETS[c.preset] : undefined;
  if (!base) {
    throw new UsageError(`unknown preset "${c.preset}" (--preset); valid presets: ${Object.keys(PRESETS).join(', ')}`);
  }
  const nPositions = c.nPositions ?? Math.max(c.blockSize, 1);
  const overrides: Partial<GPTConfig> = { vocabSize, nPositions, embdDropout: c.dropout, attnDropout: c.dropout, residDropout: c.dropout };
  if (c.nLayer !== undefined) overrides.nLayer = c.nLayer;
  if (c.nHead !== undefined) overrides.nHead = c.nHead;
  if (c.nEmbd !== undefined) overrides.nEmbd = c.nEmbd;
  const nEmbd = overrides.nEmbd ?? base.nEmbd;
  const nHead = overrides.nHead ?? base.nHead;
  if (nHead > 0 && nEmbd % nHead !== 0)
    throw new UsageError(`--n-head ${nHead} does not divide --n-embd ${nEmbd}: the width is split evenly across heads`);
  if (c.blockSize > nPositions)
    throw new UsageError(`--block-size ${c.blockSize} is longer than the model's context (--n-positions ${nPositions})`);
  try {
    return getPreset(c.preset, overrides);
  } catch (e) {
    throw new UsageError((e as Error).message.replace(/config\.(\w+)/g, (_, f: string) => `--${kebab(f)}`));
  }
}

function checkConfig(c: PretrainConfig): void {
  checkSettings(PRETRAIN_FLAGS, c as unknown as Record<string, unknown>);
  if (!(c.lr > 0)) throw new UsageError(`--lr must be > 0, got ${c.lr}`);
  if (c.minutes !== undefined && !(c.minutes > 0)) throw new UsageError(`--minutes must be > 0, got ${c.minutes}`);
  if (!c.data && !c.corpus?.length) throw new UsageError('no training data: pass --data DIR (shards) or --corpus wordnet|PATH');
  if (c.data && c.corpus?.length) throw new UsageError('give either --data or --corpus, not both');
}

export interface PretrainResult extends TrainResult {
  valLoss: number | null;
  valPerplexity: number | null;
  workers: number;
  params: number;
  model: GPT;
  tokenizer: BPETokenizer;
}

export interface PretrainHooks extends TrainerHooks {
  /** Keep the model alive in the result (default true; the CLI disposes it). */
  keepModel?: boolean;
}

/** Runs (or, with `resume` naming a run or checkpoint directory, continues) pretraining. */
export async function pretrain(
  partial: Partial<PretrainConfig> & { resume?: string },
  io: Pick<CommandIO, 'stderr' | 'isTTY'> = { stderr: (s) => process.stderr.write(s), isTTY: false },
  hooks: PretrainHooks = {},
): Promise<PretrainResult> {
  const log = (s: string) => io.stderr(s + '\n');
  const { resume, ...given } = partial;
  if (resume && given.initFrom !== undefined) {
    throw new UsageError('give either --resume (continue a run exactly) or --init-from (a new run from a model), not both');
  }
  const resumeDir = resume ? resolveCheckpoint(resume) : undefined;
  const state = resumeDir ? readTrainerState(resumeDir) : undefined;
  const defined = Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined)) as Partial<PretrainConfig>;
  const cfg: PretrainConfig = state
    ? resumedSettings(state.config as unknown as PretrainConfig, defined, RESUME_CHANGEABLE)
    : { ...PRETRAIN_DEFAULTS, ...defined };
  if (resumeDir && given.out === undefined) cfg.out = runDirOf(resumeDir);
  checkConfig(cfg);
  const info = await initBackendInfo();
  log(describeBackend(info));
  const runDir = path.resolve(cfg.out);
  // --init-from: the checkpoint's model and tokenizer (written into the run directory, where a --resume finds it).
  const init = !state && cfg.initFrom ? await initialModel(cfg.initFrom, { ...defined, blockSize: cfg.blockSize }, runDir) : undefined;
  if (init) {
    cfg.tokenizer = init.tokenizerFile;
    log(`init: ${init.dir} (weights and tokenizer; a fresh optimizer and schedule)`);
  }
  let data: Awaited<ReturnType<typeof trainingData>>;
  try {
    data = await trainingData(cfg, runDir, log);
  } catch (e) {
    init?.model.dispose();
    throw e;
  }
  const vocab = data.tokenizer.vocabSize;

  const model = resumeDir ? await loadGPT(resumeDir) : (init?.model ?? GPT.create(modelConfigOf(cfg, vocab), { seed: cfg.seed }));
  try {
    // A Hugging Face model may pad its embedding past the tokenizer (ids that never occur); otherwise they match.
    if (vocab > model.config.vocabSize || (!cfg.initFrom && model.config.vocabSize !== vocab))
      throw new Error(`${resumeDir ?? cfg.initFrom}: the model has ${model.config.vocabSize} tokens, the tokenizer ${vocab}`);
    const workers = cfg.workers ?? defaultWorkers(info);
    if (cfg.batchSize % workers !== 0)
      throw new UsageError(`--batch-size ${cfg.batchSize} must be a multiple of --workers ${workers} (each worker takes an equal share)`);
    const T = cfg.blockSize;
    const nParams = countParameters(model.config);
    const c = model.config;
    log(
      `model: ${cfg.initFrom ? `from ${cfg.initFrom}` : cfg.preset} n_layer=${c.nLayer} n_head=${c.nHead} n_embd=${c.nEmbd} n_positions=${c.nPositions} vocab=${vocab} · ${nParams.toLocaleString('en-US')} parameters · context ${T}`,
    );
    log(
      `data: ${data.train.length.toLocaleString('en-US')} train / ${data.val.length.toLocaleString('en-US')} val tokens (${data.dataDir}) · ` +
        `batch ${cfg.batchSize}×${cfg.gradAccum} × ${T} = ${(cfg.batchSize * cfg.gradAccum * T).toLocaleString('en-US')} tokens/step · workers ${workers}`,
    );
    log(`data: ${data.how}`);
    const params = namedWeights(model);
    const { gradients, peakGflops } = await gptGradients(model, params, info, workers, log);
    const method = causalLmMethod(cfg, {
      ...data,
      model,
      params,
      gradients,
      workers,
      flopsPerToken: trainingFlopsPerToken(model.config, T),
      peakGflops,
      chatTemplate: readChatTemplate(init?.dir ?? resumeDir),
    });
    const trainer = new Trainer(
      method,
      {
        outDir: runDir,
        config: cfg as unknown as Record<string, unknown>,
        describe: { model: model.config },
        optimizer: { beta1: cfg.beta1, beta2: cfg.beta2, eps: cfg.eps, weightDecay: cfg.weightDecay },
        schedule: (step, total) =>
          cosineSchedule({ lr: cfg.lr, warmupSteps: cfg.warmupSteps, totalSteps: total, minLrRatio: cfg.minLrRatio })(step),
        // Resuming keeps the run's planned length (also one planned from --minutes) unless --steps is given.
        totalSteps: state ? (given.steps ?? state.totalSteps) : cfg.steps,
        clip: cfg.clip,
        evalEvery: cfg.evalEvery,
        checkpointEvery: cfg.checkpointEvery,
        keepCheckpoints: cfg.keepCheckpoints,
        logEvery: cfg.logEvery,
        minutes: cfg.minutes,
        resume: resumeDir && state ? { dir: resumeDir, state } : undefined,
        tensorboard: cfg.tensorboard,
      },
      io,
      hooks,
    );
    const res = await trainer.train();
    const valLoss = res.lastEval?.loss ?? null;
    if (hooks.keepModel === false) model.dispose();
    return {
      ...res,
      valLoss,
      valPerplexity: valLoss === null ? null : Math.exp(valLoss),
      workers,
      params: nParams,
      model,
      tokenizer: data.tokenizer,
    };
  } catch (e) {
    model.dispose();
    throw e;
  }
}

export const pretrainCommand: TrainerCommand = {
  name: 'pretrain',
  summary: 'pretrain a GPT (AdamW, cosine schedule, checkpoints, resume, data-parallel workers)',
  usage: 'pretrain (--corpus wordnet|FILE,... | --data DIR) [flags]',
  details:
    "One plain-text file trains like nanoGPT's input.txt: with too few documents, validation is the last --val-fraction of the tokens.",
  flags: PRETRAIN_FLAGS,
  async run({ flags }, io) {
    const fromFile = typeof flags.config === 'string' ? readConfigFile(flags.config, PRETRAIN_FLAGS, NOT_SETTINGS) : {};
    const settings = { ...fromFile, ...settingsOf(flags, NOT_SETTINGS) } as Partial<PretrainConfig>;
    const interrupt = interruptOnSigint(io);
    try {
      const res = await pretrain({ ...settings, resume: flags.resume as string | undefined }, io, {
        keepModel: false,
        shouldStop: interrupt.requested,
      });
      return res.reason === 'interrupted' ? EXIT_INTERRUPTED : 0;
    } finally {
      interrupt.dispose();
    }
  },
};
