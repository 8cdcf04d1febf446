// `gptlab-train scaling`: GPT-4's predictable scaling (§4.1) in miniature. A family of widths, each trained on
// tokens in proportion to its non-embedding parameters (scaling/sweep.ts), several seeds each; a power law
// L(C) = a·C^(−b) + c is fitted on the small runs — the loss on held-out text and a capability, the mean
// log-probability of the right last word (scaling/measure.ts) — and both are predicted for the largest width
// and written to <out>/prediction.json BEFORE it is trained; then it is trained (every seed) and compared.
// Each finished run leaves measure.json in its directory and is reused when its settings match, so an
// interrupted sweep continues, and `--stop-after-prediction` then a second call make the two stages separate.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { withDefaults, UsageError, writeFileAtomic, type FlagSpecs, type ParsedFlags } from '@gptlab/common/node';
import { printResult, type CommandIO, type TrainerCommand } from '../cli/command';
import { corpusFlag, JSON_FLAG, vocabSizeFlag } from '../cli/flag-groups';
import { brownEvalSet, measureRun, writeBrownTrainingCorpus, type EvalSet, type RunMeasurement } from '../scaling/measure';
import { scalingFigureSVG } from '../scaling/plot';
import { predictAt, type Prediction } from '../scaling/predict';
import { planSweep, sweepSpan, type PlannedRun, type SweepSettings } from '../scaling/sweep';
import { pretrain } from './pretrain';

const flags: FlagSpecs = {
  corpus: corpusFlag(
    'training corpus: brown (Brown without its held-out files) or pretrain --corpus specs; runs are measured on held-out Brown',
    'brown',
  ),
  widths: {
    type: 'list',
    help: 'widths of the small runs the law is fitted on (≥ 3)',
    default: ['5', '6', '8', '10', '12', '14', '17', '20'],
  },
  'predict-width': { type: 'int', min: 1, help: 'width of the run predicted before it is trained', default: 96 },
  'n-layer': { type: 'int', min: 1, help: 'blocks of every model', default: 2 },
  'n-head': { type: 'int', min: 1, help: 'attention heads of every model (divides every width)', default: 1 },
  tokens: { type: 'int', min: 1, help: 'training tokens D of the predicted (largest) run', default: 1000000 },
  'tokens-exponent': { type: 'float', help: 'γ in D = tokens·(N/N_largest)^γ (1: D ∝ N as Chinchilla; Kaplan ≈ 0.37)', default: 0.5 },
  'batch-scale': { type: 'float', help: 'k in batch = round(k·√(D/T)) sequences: batch and steps both grow as √D', default: 0.1 },
  'block-size': { type: 'int', min: 2, help: 'context length', default: 64 },
  'vocab-size': vocabSizeFlag(1024),
  lr: { type: 'float', help: 'peak learning rate of the predicted (largest) run', default: 2e-3 },
  'lr-exponent': { type: 'float', help: 'e in lr(width) = lr·(largest width / width)^e', default: 0.75 },
  seeds: { type: 'list', help: 'seeds: every size is trained once per seed', default: ['1', '2'] },
  passages: { type: 'int', min: 1, help: 'last-word passages of the capability metric', default: 400 },
  'stop-after-prediction': { type: 'bool', help: 'train the small runs, write the prediction, and stop' },
  out: {
    type: 'string',
    help: 'sweep directory (runs, prediction.json, scaling.json, scaling.svg)',
    default: 'runs/scaling',
    metavar: 'DIR',
  },
  json: JSON_FLAG,
};

export interface ScalingRun extends PlannedRun, RunMeasurement {
  seed: number;
  seconds: number;
}

export interface ScalingPrediction {
  /** ISO time the prediction was written, before any run of the predicted width started. */
  writtenAt: string;
  width: number;
  compute: number;
  smallDecades: number;
  extrapolation: number;
  loss: Prediction;
  lastWordNll: Prediction;
}

export interface ScalingReport {
  settings: SweepSettings & { vocabSize: number; seeds: number[]; corpus: string[] };
  runs: ScalingRun[];
  prediction: ScalingPrediction;
  /** Absent with --stop-after-prediction. */
  actual?: { startedAt: string; loss: number[]; lastWordNll: number[]; lastWordAcc: number[] };
  svg?: string;
}

const ints = (xs: string[], name: string) =>
  xs.map((v) => {
    const n = Number(v);
    if (!Number.isInteger(n)) throw new UsageError(`--${name}: "${v}" is not an integer`);
    return n;
  });

/**
 * Runs the sweep; `given` are parsed flags (kebab keys), the rest take their defaults. `evalSet` replaces the
 * held-out Brown text and passages (tests measure on a few lines).
 */
export async function runScaling(given: ParsedFlags, io: Pick<CommandIO, 'stderr' | 'isTTY'>, evalSet?: EvalSet): Promise<ScalingReport> {
  const f = withDefaults(flags, given);
  const sweep: SweepSettings = {
    widths: ints(f.widths as string[], 'widths'),
    predictWidth: f['predict-width'] as number,
    nLayer: f['n-layer'] as number,
    nHead: f['n-head'] as number,
    blockSize: f['block-size'] as number,
    tokens: f.tokens as number,
    tokensExponent: f['tokens-exponent'] as number,
    batchScale: f['batch-scale'] as number,
    lr: f.lr as number,
    lrExponent: f['lr-exponent'] as number,
  };
  let plan: PlannedRun[];
  try {
    plan = planSweep(sweep);
  } catch (e) {
    throw new UsageError(`--widths/--predict-width: ${(e as Error).message}`);
  }
  const seeds = ints(f.seeds as string[], 'seeds');
  if (seeds.length < 1 || new Set(seeds).size !== seeds.length) throw new UsageError('--seeds: give distinct seeds');
  const out = path.resolve(f.out as string);
  fs.mkdirSync(out, { recursive: true });
  let corpus = f.corpus as string[];
  if (corpus.length === 1 && corpus[0] === 'brown') {
    const file = path.join(out, 'brown-train.jsonl');
    if (!fs.existsSync(file)) writeBrownTrainingCorpus(file);
    corpus = [`jsonl:${file}`];
  }
  const settings = { ...sweep, vocabSize: f['vocab-size'] as number, seeds, corpus: f.corpus as string[] };
  const measureOn = evalSet ?? brownEvalSet(f.passages as number);
  const train = (run: PlannedRun, seed: number) =>
    trainOne(run, seed, { corpus, out, settings, evalSet: measureOn, passages: f.passages as number }, io);
  const runs: ScalingRun[] = [];
  for (const run of plan.filter((r) => !r.predicted)) for (const seed of seeds) runs.push(await train(run, seed));

  const target = plan.find((r) => r.predicted)!;
  const points = (key: 'loss' | 'lastWordNll') => runs.map((r) => ({ compute: r.compute, loss: r[key] }));
  const prediction: ScalingPrediction = {
    writtenAt: new Date().toISOString(),
    width: target.width,
    compute: target.compute,
    ...sweepSpan(plan),
    loss: predictAt(points('loss'), target.compute),
    lastWordNll: predictAt(points('lastWordNll'), target.compute),
  };
  // The same small runs give the same fit: keep the first prediction's time (a second call only adds the largest).
  const predictionFile = path.join(out, 'prediction.json');
  if (fs.existsSync(predictionFile)) {
    const prev = JSON.parse(fs.readFileSync(predictionFile, 'utf8')) as ScalingPrediction;
    if (JSON.stringify({ ...prev, writtenAt: '' }) === JSON.stringify({ ...prediction, writtenAt: '' }))
      prediction.writtenAt = prev.writtenAt;
  }
  writeFileAtomic(predictionFile, JSON.stringify(prediction, null, 2) + '\n');
  io.stderr(
    `\nprediction for width ${target.width} (${target.compute.toExponential(3)} FLOPs, ${prediction.extrapolation.toFixed(0)}× the largest fitted run): ` +
      `loss ${prediction.loss.value.toFixed(4)} [${prediction.loss.low.toFixed(4)}, ${prediction.loss.high.toFixed(4)}], ` +
      `last-word NLL ${prediction.lastWordNll.value.toFixed(4)} → ${path.join(out, 'prediction.json')}\n`,
  );
  const report: ScalingReport = { settings, runs, prediction };
  if (f['stop-after-prediction'] !== true) {
    const startedAt = new Date().toISOString();
    const big: ScalingRun[] = [];
    for (const seed of seeds) big.push(await train(target, seed));
    runs.push(...big);
    report.actual = {
      startedAt,
      loss: big.map((r) => r.loss),
      lastWordNll: big.map((r) => r.lastWordNll),
      lastWordAcc: big.map((r) => r.lastWordAcc),
    };
    report.svg = path.join(out, 'scaling.svg');
    writeFileAtomic(report.svg, figure(report));
  }
  writeFileAtomic(path.join(out, 'scaling.json'), JSON.stringify(report, null, 2) + '\n');
  return report;
}

interface TrainContext {
  corpus: string[];
  out: string;
  settings: ScalingReport['settings'];
  evalSet: EvalSet;
  passages: number;
}

/** Trains and measures one run, or returns its measure.json when a run with the same settings finished before. */
async function trainOne(run: PlannedRun, seed: number, ctx: TrainContext, io: Pick<CommandIO, 'stderr' | 'isTTY'>): Promise<ScalingRun> {
  const dir = path.join(ctx.out, `w${run.width}-seed${seed}`);
  const s = ctx.settings;
  const key = JSON.stringify({
    run,
    seed,
    corpus: s.corpus,
    vocab: s.vocabSize,
    nLayer: s.nLayer,
    nHead: s.nHead,
    blockSize: s.blockSize,
    passages: ctx.passages,
  });
  const saved = path.join(dir, 'measure.json');
  if (fs.existsSync(saved)) {
    const prev = JSON.parse(fs.readFileSync(saved, 'utf8')) as { key: string; run: ScalingRun };
    if (prev.key === key) {
      io.stderr(`width ${run.width} seed ${seed}: reusing ${saved}\n`);
      return prev.run;
    }
  }
  io.stderr(
    `\n== width ${run.width}, seed ${seed}: ${run.params} non-embedding parameters, ${run.steps} steps × ${run.batchSize}×${s.blockSize} tokens, lr ${run.lr.toPrecision(3)} ==\n`,
  );
  const t0 = performance.now();
  const r = await pretrain(
    {
      corpus: ctx.corpus,
      cacheDir: path.join(ctx.out, 'cache'), // one tokenizer and one set of shards for every run
      valFraction: 0.02,
      vocabSize: s.vocabSize,
      nLayer: s.nLayer,
      nHead: s.nHead,
      nEmbd: run.width,
      blockSize: s.blockSize,
      dropout: 0,
      batchSize: run.batchSize,
      steps: run.steps,
      lr: run.lr,
      warmupSteps: Math.max(1, Math.round(run.steps / 10)),
      evalEvery: run.steps,
      evalBatches: 4,
      checkpointEvery: run.steps,
      keepCheckpoints: 1,
      sampleTokens: 0,
      seed,
      workers: 1, // no thread start-up per run, and any batch size divides
      out: dir,
    },
    io,
    { keepModel: true },
  );
  let measured: RunMeasurement;
  try {
    measured = measureRun(r.model, r.tokenizer, ctx.evalSet);
  } finally {
    r.model.dispose();
  }
  const result: ScalingRun = { ...run, seed, ...measured, seconds: (performance.now() - t0) / 1000 };
  writeFileAtomic(saved, JSON.stringify({ key, run: result }, null, 2) + '\n');
  io.stderr(
    `width ${run.width} seed ${seed}: C = ${run.compute.toExponential(3)} FLOPs, held-out loss ${result.loss.toFixed(4)}, ` +
      `last-word NLL ${result.lastWordNll.toFixed(3)}, acc ${(100 * result.lastWordAcc).toFixed(1)}% (${result.seconds.toFixed(0)} s)\n`,
  );
  return result;
}

function figure(r: ScalingReport): string {
  const small = r.runs.filter((x) => !x.predicted);
  const big = r.runs.filter((x) => x.predicted);
  const panel = (key: 'loss' | 'lastWordNll', title: string, yTitle: string) => {
    const p = r.prediction[key];
    return {
      title,
      yTitle,
      fitted: small.map((x) => ({ compute: x.compute, loss: x[key] })),
      actual: big.map((x) => ({ compute: x.compute, loss: x[key] })),
      fit: { ...p.fit, predict: (c: number) => p.fit.a * Math.pow(c, -p.fit.b) + p.fit.c },
      prediction: { compute: r.prediction.compute, value: p.value, low: p.low, high: p.high },
    };
  };
  return scalingFigureSVG([
    panel('loss', 'Held-out loss', 'NLL per token (nats), held-out Brown'),
    panel('lastWordNll', 'Capability: last-word prediction', '−mean log P(correct last word)'),
  ]);
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

export const scalingCommand: TrainerCommand = {
  name: 'scaling',
  summary: 'fit L(C) = a·C^(−b) + c on small runs (loss and a capability), predict the largest before training it, then check',
  flags,
  usage: 'scaling [--widths 5,6,8,…,20] [--predict-width 96] [--tokens 1000000] [--tokens-exponent 0.5] [--seeds 1,2] [flags]',
  async run({ flags: given }, io) {
    const r = await runScaling(given, io);
    printResult(io, given.json === true, r, () => [
      'width  seed  non-emb params  tokens     C (FLOPs)   loss    last-word NLL  acc',
      ...r.runs.map(
        (x) =>
          `${String(x.width).padStart(5)}  ${String(x.seed).padStart(4)}  ${String(x.params).padStart(14)}  ${String(x.tokens).padStart(9)}  ` +
          `${x.compute.toExponential(2).padStart(10)}  ${x.loss.toFixed(4)}  ${x.lastWordNll.toFixed(4).padStart(13)}  ${(100 * x.lastWordAcc).toFixed(1)}%`,
      ),
      `predicted loss ${r.prediction.loss.value.toFixed(4)} [${r.prediction.loss.low.toFixed(4)}, ${r.prediction.loss.high.toFixed(4)}]` +
        (r.actual ? `, actual ${mean(r.actual.loss).toFixed(4)} (mean of ${r.actual.loss.length} seeds)` : ''),
      `predicted last-word NLL ${r.prediction.lastWordNll.value.toFixed(4)}` +
        (r.actual ? `, actual ${mean(r.actual.lastWordNll).toFixed(4)}` : ''),
      ...(r.svg ? [`plot: ${r.svg}`] : []),
    ]);
    return 0;
  },
};
