// `gptlab-train pretrain`: GPT pretraining with AdamW, warm-up + cosine, clipping, accumulation, data-parallel
// workers, evaluation, atomic checkpoints and exact resume. `pretrain()` is the library entry point.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { tf, initBackendInfo, describeBackend, matMulPeakGflops, measureMatMul, mixSeed, type BackendInfo } from '@gptlab/tensor';
import { GPT, getPreset, PRESETS, countParameters, trainingFlopsPerToken, type GPTConfig } from '@gptlab/model';
import { ShardReader, readManifest } from '@gptlab/data';
import { generate, gptLanguageModel, type GenerateResult } from '@gptlab/decoding';
import type { BPETokenizer } from '@gptlab/tokenizer';
import { camel, parseFlags, UsageError, type FlagSpecs, type ParsedFlags } from '../cli/flags';
import { CommandError, type Command, type CommandIO } from '../cli/router';
import { AdamW } from '../train/adamw';
import { WindowSampler, validationBatches, splitBatch, inputsAndTargets, type TokenArray, type TokenBatch } from '../train/batches';
import { saveCheckpoint, resolveCheckpoint, readTrainerState, loadOptimizer, listCheckpoints } from '../train/checkpoint';
import { LocalGradients, type GradientSource } from '../train/gradients';
import { MetricsLog, lossCurveSvg } from '../train/metrics';
import { WorkerGradients } from '../train/parallel';
import { Progress } from '../train/progress';
import { tokenLossFn } from '../train/replica';
import { cosineSchedule } from '../train/schedule';
import { trainLoop, NonFiniteLossError, type TrainLoopResult } from '../train/trainer';
import { namedWeights } from '../lm';
import { preparedShards, shardTokenizer, trainedTokenizer } from './corpus';

/** Everything a pretraining run is configured by (flags, --config JSON, or the saved state of --resume). */
export interface PretrainConfig {
  preset: string;
  nLayer?: number;
  nHead?: number;
  nEmbd?: number;
  nPositions?: number;
  /** Training context T (≤ nPositions). */
  blockSize: number;
  dropout: number;
  data?: string;
  corpus?: string[];
  tokenizer?: string;
  vocabSize: number;
  cacheDir?: string;
  valFraction: number;
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
}

export const PRETRAIN_DEFAULTS: PretrainConfig = {
  preset: 'gpt2-small',
  nLayer: 4,
  nHead: 4,
  nEmbd: 256,
  blockSize: 128,
  dropout: 0,
  vocabSize: 4096,
  valFraction: 0.05,
  out: 'runs/pretrain',
  batchSize: 8,
  gradAccum: 1,
  steps: 1000,
  lr: 1e-3,
  minLrRatio: 0.1,
  warmupSteps: 50,
  weightDecay: 0.1,
  beta1: 0.9,
  beta2: 0.95,
  eps: 1e-8,
  clip: 1.0,
  seed: 1,
  evalEvery: 100,
  evalBatches: 8,
  sampleTokens: 24,
  samplePrompt: 'a dog is',
  checkpointEvery: 200,
  keepCheckpoints: 2,
  logEvery: 10,
};

export const PRETRAIN_FLAGS: FlagSpecs = {
  config: { type: 'string', help: 'JSON file with any of these settings (flags override it)', metavar: 'FILE' },
  preset: { type: 'string', help: 'model preset of @gptlab/model', default: PRETRAIN_DEFAULTS.preset },
  'n-layer': { type: 'int', help: 'transformer blocks', default: PRETRAIN_DEFAULTS.nLayer },
  'n-head': { type: 'int', help: 'attention heads (must divide --n-embd)', default: PRETRAIN_DEFAULTS.nHead },
  'n-embd': { type: 'int', help: 'model width', default: PRETRAIN_DEFAULTS.nEmbd },
  'n-positions': { type: 'int', help: 'position embeddings (default: --block-size)' },
  'block-size': { type: 'int', help: 'training context length T', default: PRETRAIN_DEFAULTS.blockSize },
  dropout: { type: 'float', help: 'dropout rate (embedding, attention, residual)', default: 0 },
  data: { type: 'string', help: 'shard directory from `gptlab-train data prepare`', metavar: 'DIR' },
  corpus: { type: 'list', help: 'wordnet or files/JSONL: runs tokenizer training + the data pipeline first (cached)', metavar: 'SPEC...' },
  tokenizer: { type: 'string', help: 'tokenizer.json (default: the one next to --data, or trained on --corpus)', metavar: 'FILE' },
  'vocab-size': { type: 'int', help: 'vocabulary of the tokenizer trained for --corpus', default: PRETRAIN_DEFAULTS.vocabSize },
  'cache-dir': { type: 'string', help: 'cache for tokenizers and shards made from --corpus (default <out>/cache)', metavar: 'DIR' },
  'val-fraction': { type: 'float', help: 'validation share of documents for --corpus', default: PRETRAIN_DEFAULTS.valFraction },
  out: { type: 'string', help: 'run directory (metrics, loss curve, checkpoints)', default: PRETRAIN_DEFAULTS.out, metavar: 'DIR' },
  'batch-size': { type: 'int', help: 'sequences per micro-batch (split across workers)', default: PRETRAIN_DEFAULTS.batchSize },
  'grad-accum': { type: 'int', help: 'micro-batches accumulated per optimizer step', default: 1 },
  steps: { type: 'int', help: 'optimizer steps (the cosine schedule ends here)', default: PRETRAIN_DEFAULTS.steps },
  minutes: { type: 'float', help: 'time budget: after a few steps the step count is set to fit it' },
  lr: { type: 'float', help: 'peak learning rate', default: PRETRAIN_DEFAULTS.lr },
  'min-lr-ratio': { type: 'float', help: 'cosine floor as a fraction of the peak (GPT-3: 0.1)', default: 0.1 },
  'warmup-steps': { type: 'int', help: 'linear warm-up steps', default: PRETRAIN_DEFAULTS.warmupSteps },
  'weight-decay': { type: 'float', help: 'AdamW decoupled weight decay on matrices', default: 0.1 },
  beta1: { type: 'float', help: 'AdamW β1', default: 0.9 },
  beta2: { type: 'float', help: 'AdamW β2', default: 0.95 },
  eps: { type: 'float', help: 'AdamW ε', default: 1e-8 },
  clip: { type: 'float', help: 'gradient clipping global norm (0 = off)', default: 1.0 },
  seed: { type: 'int', help: 'seed of the initialisation, data order and dropout', default: 1 },
  'eval-every': { type: 'int', help: 'steps between validation runs (and at the end)', default: PRETRAIN_DEFAULTS.evalEvery },
  'eval-batches': { type: 'int', help: 'validation batches per evaluation', default: PRETRAIN_DEFAULTS.evalBatches },
  'sample-tokens': { type: 'int', help: 'tokens of the greedy sample printed at each evaluation (0 = none)', default: PRETRAIN_DEFAULTS.sampleTokens },
  'sample-prompt': { type: 'string', help: 'prompt of the evaluation sample', default: PRETRAIN_DEFAULTS.samplePrompt },
  'checkpoint-every': { type: 'int', help: 'steps between checkpoints (and at the end)', default: PRETRAIN_DEFAULTS.checkpointEvery },
  'keep-checkpoints': { type: 'int', help: 'complete checkpoints kept', default: 2 },
  workers: { type: 'int', help: 'gradient worker threads (default: all cores on plain wasm, else 1)' },
  resume: { type: 'string', help: 'continue a run: its directory or one checkpoint directory', metavar: 'DIR' },
  'log-every': { type: 'int', help: 'steps between progress lines when stderr is not a terminal', default: 10 },
};

/** Settings that may change when resuming (the rest comes from the checkpoint). */
const RESUME_OVERRIDABLE = new Set(['steps', 'minutes', 'evalEvery', 'evalBatches', 'checkpointEvery', 'keepCheckpoints', 'workers', 'logEvery', 'sampleTokens', 'samplePrompt', 'out']);

const CONFIG_KEYS = new Set(Object.keys(PRETRAIN_FLAGS).filter((k) => k !== 'config' && k !== 'resume').map(camel));

/** Reads a --config JSON file: kebab-case or camelCase keys of the pretrain flags. */
export function readConfigFile(file: string): Partial<PretrainConfig> {
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UsageError(`--config ${file}: ${code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new UsageError(`--config ${file}: expected a JSON object`);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
    const key = camel(k);
    if (!CONFIG_KEYS.has(key)) throw new UsageError(`--config ${file}: unknown setting "${k}"; valid settings: ${[...CONFIG_KEYS].join(', ')}`);
    const spec = PRETRAIN_FLAGS[k] ?? PRETRAIN_FLAGS[key.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase())];
    if (spec && (spec.type === 'int' || spec.type === 'float') && (typeof v !== 'number' || (spec.type === 'int' && !Number.isInteger(v)))) {
      throw new UsageError(`--config ${file}: "${k}" must be ${spec.type === 'int' ? 'an integer' : 'a number'}, got ${JSON.stringify(v)}`);
    }
    out[key] = key === 'corpus' && typeof v === 'string' ? [v] : v;
  }
  return out as Partial<PretrainConfig>;
}

function flagsToConfig(flags: ParsedFlags): Partial<PretrainConfig> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(flags)) if (k !== 'config' && k !== 'resume') out[camel(k)] = v;
  return out as Partial<PretrainConfig>;
}

/** The model configuration of a run; errors name the flag. */
export function modelConfigOf(c: PretrainConfig, vocabSize: number): GPTConfig {
  if (!Object.prototype.hasOwnProperty.call(PRESETS, c.preset)) {
    throw new UsageError(`unknown preset "${c.preset}" (--preset); valid presets: ${Object.keys(PRESETS).join(', ')}`);
  }
  const overrides: Partial<GPTConfig> = { vocabSize };
  if (c.nLayer !== undefined) overrides.nLayer = c.nLayer;
  if (c.nHead !== undefined) overrides.nHead = c.nHead;
  if (c.nEmbd !== undefined) overrides.nEmbd = c.nEmbd;
  overrides.nPositions = c.nPositions ?? Math.max(c.blockSize, 1);
  overrides.embdDropout = overrides.attnDropout = overrides.residDropout = c.dropout;
  const base = PRESETS[c.preset]!;
  const nEmbd = overrides.nEmbd ?? base.nEmbd;
  const nHead = overrides.nHead ?? base.nHead;
  if (nHead > 0 && nEmbd % nHead !== 0) {
    throw new UsageError(`--n-head ${nHead} does not divide --n-embd ${nEmbd}: the width is split evenly across heads`);
  }
  if (c.blockSize > overrides.nPositions) {
    throw new UsageError(`--block-size ${c.blockSize} is longer than the model's context (--n-positions ${overrides.nPositions})`);
  }
  try {
    return getPreset(c.preset, overrides);
  } catch (e) {
    throw new UsageError((e as Error).message.replace(/config\.(\w+)/g, (_, f: string) => `--${f.replace(/[A-Z]/g, (x) => '-' + x.toLowerCase())}`));
  }
}

function checkConfig(c: PretrainConfig): void {
  const pos = (k: keyof PretrainConfig, v: unknown, min = 1) => {
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min) {
      throw new UsageError(`--${String(k).replace(/[A-Z]/g, (x) => '-' + x.toLowerCase())} must be ≥ ${min}, got ${v}`);
    }
  };
  pos('batchSize', c.batchSize);
  pos('gradAccum', c.gradAccum);
  pos('steps', c.steps);
  pos('blockSize', c.blockSize);
  pos('evalEvery', c.evalEvery);
  pos('checkpointEvery', c.checkpointEvery);
  pos('warmupSteps', c.warmupSteps, 0);
  if (!(c.lr > 0)) throw new UsageError(`--lr must be > 0, got ${c.lr}`);
  if (c.minutes !== undefined && !(c.minutes > 0)) throw new UsageError(`--minutes must be > 0, got ${c.minutes}`);
  if (c.workers !== undefined) pos('workers', c.workers);
  if (!c.data && !(c.corpus && c.corpus.length)) throw new UsageError('no training data: pass --data DIR (shards) or --corpus wordnet|PATH');
  if (c.data && c.corpus && c.corpus.length) throw new UsageError('give either --data or --corpus, not both');
}

/** Default worker count: every core when the backend computes on one thread (plain wasm), else 1. */
export function defaultWorkers(info: BackendInfo): number {
  return info.backend === 'wasm' && !info.native.active ? Math.max(1, os.cpus().length) : 1;
}

export interface PretrainResult {
  runDir: string;
  checkpoint: string | null;
  step: number;
  totalSteps: number;
  reason: TrainLoopResult['reason'];
  trainLoss: number;
  valLoss: number | null;
  valPerplexity: number | null;
  tokensPerSec: number;
  mfu: number | null;
  workers: number;
  params: number;
  model: GPT;
  tokenizer: BPETokenizer;
  seconds: number;
}

export interface PretrainHooks {
  /** Called after each step (tests interrupt runs with it). */
  onStep?: (step: number, loss: number) => void;
  /** Polled after each step: true stops the run with a checkpoint (like Ctrl-C). */
  shouldStop?: () => boolean;
  /** Keep the model alive in the result (default true; the CLI disposes it). */
  keepModel?: boolean;
}

function toTokenArray(a: Int32Array): TokenArray {
  return a;
}

/** Runs (or resumes) pretraining. `resume` names a run or checkpoint directory. */
export async function pretrain(
  partial: Partial<PretrainConfig> & { resume?: string },
  io: Pick<CommandIO, 'stderr' | 'isTTY'> = { stderr: (s) => process.stderr.write(s), isTTY: false },
  hooks: PretrainHooks = {},
): Promise<PretrainResult> {
  const log = (s: string) => io.stderr(s + '\n');
  let cfg: PretrainConfig;
  let resumeDir: string | null = null;
  let state: ReturnType<typeof readTrainerState> | null = null;
  const { resume, ...given } = partial;
  if (resume) {
    resumeDir = resolveCheckpoint(resume);
    state = readTrainerState(resumeDir);
    const over: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(given)) {
      if (v === undefined) continue;
      if (!RESUME_OVERRIDABLE.has(k) && JSON.stringify(v) !== JSON.stringify((state.config as Record<string, unknown>)[k])) {
        throw new UsageError(`--${k.replace(/[A-Z]/g, (x) => '-' + x.toLowerCase())} cannot change when resuming (the checkpoint says ${JSON.stringify((state.config as Record<string, unknown>)[k])}); changeable: ${[...RESUME_OVERRIDABLE].join(', ')}`);
      }
      over[k] = v;
    }
    cfg = { ...(state.config as unknown as PretrainConfig), ...over } as PretrainConfig;
    if (given.out === undefined) cfg.out = path.dirname(path.dirname(resumeDir));
  } else {
    cfg = { ...PRETRAIN_DEFAULTS, ...Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined)) } as PretrainConfig;
  }
  checkConfig(cfg);
  const info = await initBackendInfo();
  log(describeBackend(info));

  const runDir = path.resolve(cfg.out);
  fs.mkdirSync(runDir, { recursive: true });

  // ---- data and tokenizer
  let dataDir: string;
  let tokenizer: BPETokenizer;
  let tokenizerFile: string;
  if (cfg.data) {
    dataDir = path.resolve(cfg.data);
    let manifest;
    try {
      manifest = readManifest(dataDir);
    } catch (e) {
      throw new CommandError(`--data ${cfg.data}: ${(e as Error).message}`);
    }
    ({ tokenizer, file: tokenizerFile } = shardTokenizer(dataDir, manifest, cfg.tokenizer));
  } else {
    const cacheDir = path.resolve(cfg.cacheDir ?? path.join(runDir, 'cache'));
    if (cfg.tokenizer) {
      const { BPETokenizer } = await import('@gptlab/tokenizer');
      tokenizer = BPETokenizer.load(cfg.tokenizer);
      tokenizerFile = path.resolve(cfg.tokenizer);
    } else {
      ({ tokenizer, file: tokenizerFile } = await trainedTokenizer(cfg.corpus!, cacheDir, { vocabSize: cfg.vocabSize, log }));
    }
    ({ dir: dataDir } = await preparedShards(cfg.corpus!, tokenizer, cacheDir, { valFraction: cfg.valFraction, log }));
  }
  const reader = new ShardReader(dataDir);
  const trainTokens = toTokenArray(reader.readAll('train'));
  const valTokens = toTokenArray(reader.readAll('val'));
  reader.close();
  if (valTokens.length < cfg.blockSize + 1) {
    throw new CommandError(`the validation split of ${dataDir} has ${valTokens.length} tokens, fewer than one window of --block-size ${cfg.blockSize} + 1`);
  }
  const vocab = tokenizer.vocabSize;

  // ---- model and optimizer
  const modelConfig = modelConfigOf(cfg, vocab);
  let model: GPT;
  if (resumeDir) {
    model = await GPT.fromPretrained(resumeDir);
    if (model.config.vocabSize !== vocab) throw new CommandError(`${resumeDir}: the model has ${model.config.vocabSize} tokens, the tokenizer ${vocab}`);
  } else model = GPT.create(modelConfig, { seed: cfg.seed });
  const params = namedWeights(model);
  const optimizer = new AdamW({ beta1: cfg.beta1, beta2: cfg.beta2, eps: cfg.eps, weightDecay: cfg.weightDecay });
  const startStep = state?.step ?? 0;
  if (resumeDir && state) await loadOptimizer(resumeDir, optimizer, params, state.optimizer.step);

  const T = cfg.blockSize;
  const sampler = new WindowSampler(trainTokens, T, cfg.seed);
  if (state) sampler.setState(state.samplerState);
  const valBatches = validationBatches(valTokens, T, cfg.batchSize, cfg.evalBatches);

  const workers = cfg.workers ?? defaultWorkers(info);
  if (cfg.batchSize % workers !== 0) {
    throw new UsageError(`--batch-size ${cfg.batchSize} must be a multiple of --workers ${workers} (each worker takes an equal share)`);
  }
  const nParams = countParameters(model.config);
  const flopsPerToken = trainingFlopsPerToken(model.config, T);
  log(
    `model: ${cfg.preset} n_layer=${model.config.nLayer} n_head=${model.config.nHead} n_embd=${model.config.nEmbd} ` +
      `n_positions=${model.config.nPositions} vocab=${vocab} · ${nParams.toLocaleString('en-US')} parameters · context ${T}`,
  );
  log(
    `data: ${trainTokens.length.toLocaleString('en-US')} train / ${valTokens.length.toLocaleString('en-US')} val tokens (${dataDir}) · ` +
      `batch ${cfg.batchSize}×${cfg.gradAccum} × ${T} = ${(cfg.batchSize * cfg.gradAccum * T).toLocaleString('en-US')} tokens/step · workers ${workers}`,
  );
  let gradients: GradientSource<TokenBatch>;
  let peakTotal: number;
  if (workers > 1) {
    const t0 = performance.now();
    const wg = await WorkerGradients.start(params, { kind: 'gpt', config: model.config as unknown as Record<string, unknown> }, workers, info.backend, { measurePeak: true });
    gradients = wg;
    peakTotal = wg.peakGflops ?? matMulPeakGflops() * workers;
    log(`workers: ${workers} threads (plain ${info.backend}, one core each) ready in ${((performance.now() - t0) / 1000).toFixed(1)}s · matMul peak ${peakTotal.toFixed(1)} GFLOP/s together (MFU denominator)`);
  } else {
    gradients = new LocalGradients<TokenBatch>(params, tokenLossFn(model));
    peakTotal = robustPeak();
    log(`matMul peak: ${peakTotal.toFixed(1)} GFLOP/s (MFU denominator)`);
  }

  // ---- run files
  const metrics = new MetricsLog(path.join(runDir, 'metrics.jsonl'));
  if (resumeDir) metrics.truncateAfter(startStep);
  else if (fs.existsSync(metrics.file)) fs.rmSync(metrics.file);
  fs.writeFileSync(path.join(runDir, 'config.json'), JSON.stringify({ ...cfg, model: model.config }, null, 2) + '\n');
  const svgFile = path.join(runDir, 'loss.svg');
  const writeSvg = () => fs.writeFileSync(svgFile, lossCurveSvg(metrics.read(), `loss · ${path.basename(runDir)}`));

  const progress = new Progress(io.stderr, io.isTTY, cfg.logEvery);
  // Resuming keeps the run's planned length (also a length planned from --minutes) unless --steps is given.
  let totalSteps = state ? (given.steps ?? state.totalSteps) : cfg.steps;
  const schedule = (step: number, total: number) => cosineSchedule({ lr: cfg.lr, warmupSteps: cfg.warmupSteps, totalSteps: total, minLrRatio: cfg.minLrRatio })(step);
  let lastVal: { loss: number; ppl: number } | null = null;
  let lastCheckpoint: string | null = resumeDir;
  let lastMfu: number | null = null;
  let interrupted = false;
  let sigints = 0;
  const onSigint = () => {
    sigints++;
    if (sigints > 1) {
      log('second Ctrl-C: exiting without saving');
      process.exit(130);
    }
    interrupted = true;
    progress.log('Ctrl-C: finishing this step and saving a checkpoint (press again to quit now)');
  };
  process.on('SIGINT', onSigint);

  const evaluate = async (step: number) => {
    let sum = 0;
    let rows = 0;
    for (const b of valBatches) {
      const { inputs, targets } = inputsAndTargets(b);
      const l = tf.tidy(() => model.loss(tf.tensor2d(inputs, [b.rows, T], 'int32'), tf.tensor2d(targets, [b.rows, T], 'int32'), { training: false }));
      const v = (await l.data())[0]!;
      l.dispose();
      sum += v * b.rows;
      rows += b.rows;
    }
    const loss = sum / rows;
    if (!Number.isFinite(loss)) throw new NonFiniteLossError(step, 'validation loss', loss);
    lastVal = { loss, ppl: Math.exp(loss) };
    let sample: string | undefined;
    if (cfg.sampleTokens > 0) {
      try {
        sample = await sampleText(model, tokenizer, cfg.samplePrompt, { maxNewTokens: cfg.sampleTokens });
      } catch (e) {
        sample = `(no sample: ${(e as Error).message})`;
      }
    }
    metrics.append({ type: 'eval', step, val_loss: loss, val_ppl: Math.exp(loss), ...(sample !== undefined ? { sample } : {}) });
    writeSvg();
    progress.log(`eval step ${step}: val loss ${loss.toFixed(4)} · perplexity ${Math.exp(loss).toFixed(2)}${sample !== undefined ? ` · sample: ${JSON.stringify(cfg.samplePrompt + sample)}` : ''}`);
  };

  const checkpoint = async (step: number, reason: string) => {
    // Never save weights that went non-finite in the last update: the previous checkpoint stays the last good one.
    const total = tf.tidy(() => tf.addN(Object.values(params).map((v) => tf.sum(v))));
    const t = (await total.data())[0]!;
    total.dispose();
    if (!Number.isFinite(t)) throw new NonFiniteLossError(step, 'weights', t);
    const dir = await saveCheckpoint({
      runDir,
      step,
      // The tokenizer goes in as vocab.json + merges.txt too: the checkpoint is a complete HF GPT-2 directory.
      saveModel: (d) => model.save(d, { metadata: { step: String(step) }, tokenizer }),
      optimizer,
      state: {
        totalSteps,
        tokensSeen: tokensSeenNow,
        elapsedSeconds: elapsedNow,
        samplerState: sampler.getState(),
        config: cfg as unknown as Record<string, unknown>,
        extra: { reason, valLoss: lastVal ? (lastVal as { loss: number }).loss : null },
      },
      files: [tokenizerFile],
      keep: cfg.keepCheckpoints,
    });
    lastCheckpoint = dir;
    progress.log(`checkpoint: ${displayPath(dir)} (step ${step}${reason === 'interrupt' ? ', interrupted' : ''})`);
  };
  let tokensSeenNow = state?.tokensSeen ?? 0;
  let elapsedNow = state?.elapsedSeconds ?? 0;

  log(`run: ${runDir}${resumeDir ? ` · resuming from ${resumeDir} at step ${startStep}` : ''}`);
  const t0 = performance.now();
  let res: TrainLoopResult;
  try {
    res = await trainLoop<TokenBatch>({
      params,
      gradients,
      optimizer,
      lr: schedule,
      totalSteps,
      startStep,
      startTokens: state?.tokensSeen ?? 0,
      startSeconds: state?.elapsedSeconds ?? 0,
      clipNorm: cfg.clip,
      batches: (step) => {
        const chunksPerMicro = workers;
        const chunks: TokenBatch[] = [];
        for (let a = 0; a < cfg.gradAccum; a++) chunks.push(...splitBatch(sampler.sample(cfg.batchSize), chunksPerMicro));
        const seeds = chunks.map((_, i) => mixSeed(mixSeed(cfg.seed * 1000003 + step) + i));
        return { chunks, seeds, tokens: cfg.batchSize * cfg.gradAccum * T };
      },
      maxSeconds: cfg.minutes !== undefined ? cfg.minutes * 60 : undefined,
      planStepsFromBudget: cfg.minutes !== undefined && !state,
      onPlan: (n) => {
        totalSteps = n;
        progress.log(`time budget ${cfg.minutes} min: ${n} steps planned`);
      },
      evalEvery: cfg.evalEvery,
      evaluate,
      checkpointEvery: cfg.checkpointEvery,
      checkpoint,
      flopsPerToken,
      peakGflops: peakTotal,
      shouldStop: () => interrupted || (hooks.shouldStop?.() ?? false),
      onStep: (r) => {
        tokensSeenNow = r.tokensSeen;
        elapsedNow = r.elapsedSeconds;
        lastMfu = r.mfu;
        metrics.append({
          type: 'train',
          step: r.step,
          loss: r.loss,
          lr: r.lr,
          grad_norm: r.gradNorm,
          tokens: r.tokensSeen,
          tokens_per_sec: Math.round(r.tokensPerSec),
          mfu: r.mfu === null ? null : Number(r.mfu.toFixed(4)),
          elapsed_s: Number(r.elapsedSeconds.toFixed(2)),
        });
        progress.step(r);
        hooks.onStep?.(r.step, r.loss);
      },
    });
  } catch (e) {
    progress.end();
    await gradients.dispose();
    optimizer.dispose();
    model.dispose();
    process.off('SIGINT', onSigint);
    if (e instanceof NonFiniteLossError) {
      writeSvg();
      const good = listCheckpoints(runDir);
      const last = good.length ? good[good.length - 1]! : null;
      throw new CommandError(
        `${e.message}: training stopped. ` +
          (last
            ? `The last good checkpoint is ${last.dir} (step ${last.step}); resume with --resume ${runDir} (a lower --lr may help).`
            : 'No checkpoint was saved before it (try a lower --lr or more --warmup-steps).'),
        3,
      );
    }
    throw e;
  }
  progress.end();
  process.off('SIGINT', onSigint);
  await gradients.dispose();
  optimizer.dispose();
  writeSvg();
  const val = lastVal as { loss: number; ppl: number } | null;
  const result: PretrainResult = {
    runDir,
    checkpoint: lastCheckpoint,
    step: res.step,
    totalSteps: res.totalSteps,
    reason: interrupted ? 'interrupted' : res.reason,
    trainLoss: res.lastLoss,
    valLoss: val ? val.loss : null,
    valPerplexity: val ? val.ppl : null,
    tokensPerSec: res.tokensPerSec,
    mfu: res.tokensPerSec > 0 ? (res.tokensPerSec * flopsPerToken) / (peakTotal * 1e9) : lastMfu,
    workers,
    params: nParams,
    model,
    tokenizer,
    seconds: (performance.now() - t0) / 1000,
  };
  log(
    `done: step ${res.step}/${res.totalSteps}${result.reason !== 'done' ? ` (${result.reason})` : ''} · train loss ${res.lastLoss.toFixed(4)}` +
      (val ? ` · val loss ${val.loss.toFixed(4)} (perplexity ${val.ppl.toFixed(2)})` : '') +
      ` · ${Math.round(res.tokensPerSec).toLocaleString('en-US')} tok/s` +
      (result.mfu !== null ? ` · MFU ${(100 * result.mfu).toFixed(1)}%` : '') +
      ` · ${((performance.now() - t0) / 1000).toFixed(1)}s`,
  );
  log(`files: ${path.join(runDir, 'metrics.jsonl')} · ${svgFile}${lastCheckpoint ? ` · ${lastCheckpoint}` : ''}`);
  if (hooks.keepModel === false) model.dispose();
  return result;
}

/**
 * The backend's matMul peak for MFU: the best of several measurements at n = 512…2048, since other processes
 * sharing the cores make any single one low, and multi-threaded kernels only reach their peak on large
 * products (an underestimated peak shows as MFU above 100%).
 */
const peakCache = new Map<string, number>();

export function robustPeak(): number {
  const key = tf.getBackend();
  const cached = peakCache.get(key);
  if (cached !== undefined) return cached;
  let best = matMulPeakGflops();
  for (let i = 0; i < 2; i++) best = Math.max(best, measureMatMul(1024, 0.25).gflops, measureMatMul(2048, 0.3).gflops);
  peakCache.set(key, best);
  return best;
}

function displayPath(p: string): string {
  const rel = path.relative(process.cwd(), p);
  return rel && !rel.startsWith('..') ? rel : p;
}

/** Decodes a continuation of `prompt` (greedy by default, or any decoding options). */
export async function sampleText(
  model: GPT,
  tokenizer: BPETokenizer,
  prompt: string,
  options: Record<string, unknown> & { maxNewTokens: number },
): Promise<string> {
  const eos = tokenizer.eosId;
  const ids = prompt ? tokenizer.encode(prompt) : eos !== undefined ? [eos] : [0];
  const room = model.config.nPositions - ids.length;
  if (room < 1) return '';
  const r = (await generate(gptLanguageModel(model), ids.length ? ids : [eos ?? 0], {
    ...options,
    maxNewTokens: Math.min(options.maxNewTokens, room),
    tokenizer,
    ...(eos !== undefined ? { eosTokenId: eos } : {}),
  })) as GenerateResult;
  return r.text;
}

export const pretrainCommand: Command = {
  name: 'pretrain',
  summary: 'pretrain a GPT (AdamW, cosine schedule, checkpoints, resume, data-parallel workers)',
  flags: PRETRAIN_FLAGS,
  async run(argv, io) {
    const { flags, positionals } = parseFlags(argv, PRETRAIN_FLAGS, 'pretrain');
    if (positionals.length) throw new UsageError(`unexpected argument "${positionals[0]}" for \`gptlab-train pretrain\` (flags start with --)`);
    const fromFile = typeof flags.config === 'string' ? readConfigFile(flags.config) : {};
    const res = await pretrain({ ...fromFile, ...flagsToConfig(flags), resume: flags.resume as string | undefined }, io, { keepModel: false });
    return res.reason === 'interrupted' ? 130 : 0;
  },
};
