// `gptlab-train scaling`: GPT-4's "predictable scaling" in miniature. Train a sweep of model sizes on the same
// data and token budget, fit L(C) = a·C^(−b) + c on all but the largest, predict the largest model's final
// loss before training it, then train it and report the prediction error, with an SVG of the fit.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { withDefaults, UsageError, type FlagSpecs, type ParsedFlags, writeFileAtomic } from '@gptlab/common/node';
import { trainingFlopsPerToken, type GPTConfig } from '@gptlab/model';
import { printResult, type CommandIO, type TrainerCommand } from '../cli/command';
import { corpusFlag, JSON_FLAG, seedFlag, vocabSizeFlag } from '../cli/flag-groups';
import { fitPowerLaw, type PowerLawFit } from '../scaling/fit';
import { scalingPlotSVG } from '../scaling/plot';
import { pretrain, type PretrainConfig } from './pretrain';

const flags: FlagSpecs = {
  corpus: corpusFlag('training corpus (wordnet or paths); shared by every run', 'wordnet'),
  data: { type: 'string', help: 'token shards instead of --corpus', metavar: 'DIR' },
  widths: {
    type: 'list',
    help: 'model widths of the sweep (at least 4; the largest is predicted)',
    default: ['32', '48', '64', '96', '128'],
  },
  'n-layer': { type: 'int', min: 1, help: 'blocks of every model', default: 2 },
  'head-dim': { type: 'int', min: 1, help: 'width per attention head', default: 16 },
  tokens: { type: 'int', min: 1, help: 'training tokens per run (the same budget for every size)', default: 400000 },
  'block-size': { type: 'int', min: 1, help: 'context length', default: 64 },
  'batch-size': { type: 'int', min: 1, help: 'sequences per step', default: 16 },
  'vocab-size': vocabSizeFlag(2048),
  lr: { type: 'float', help: 'peak learning rate of every run', default: 2e-3 },
  'eval-batches': { type: 'int', min: 1, help: 'validation batches for each final loss', default: 32 },
  seed: seedFlag(1, 'seed of every run'),
  out: { type: 'string', help: 'sweep directory (runs, scaling.json, scaling.svg)', default: 'runs/scaling', metavar: 'DIR' },
  json: JSON_FLAG,
};

export interface ScalingRun {
  width: number;
  params: number;
  compute: number;
  valLoss: number;
  seconds: number;
}

export interface ScalingReport {
  runs: ScalingRun[];
  fit: { a: number; b: number; c: number; rmse: number };
  predicted: number;
  actual: number;
  error: number;
  relativeError: number;
  svg: string;
}

/** Runs the sweep; `given` are parsed flags (kebab keys), the rest take their defaults. */
export async function runScaling(given: ParsedFlags, io: Pick<CommandIO, 'stderr' | 'isTTY'>): Promise<ScalingReport> {
  const f = withDefaults(flags, given);
  const widths = (f.widths as string[]).map((w) => {
    const n = Number(w);
    if (!Number.isInteger(n) || n < 1) throw new UsageError(`--widths: "${w}" is not a positive integer`);
    return n;
  });
  if (widths.length < 4)
    throw new UsageError(`--widths: a sweep needs at least 4 sizes (3 to fit a, b, c and 1 to predict), got ${widths.length}`);
  if (new Set(widths).size !== widths.length) throw new UsageError('--widths: sizes must differ');
  widths.sort((a, b) => a - b);
  const headDim = f['head-dim'] as number;
  for (const w of widths) if (w % headDim !== 0) throw new UsageError(`--widths: ${w} is not a multiple of --head-dim ${headDim}`);
  const out = path.resolve(f.out as string);
  const T = f['block-size'] as number;
  const B = f['batch-size'] as number;
  const tokens = f.tokens as number;
  const steps = Math.max(1, Math.round(tokens / (B * T)));
  const data = f.data as string | undefined;
  const base: Partial<PretrainConfig> = {
    nLayer: f['n-layer'] as number,
    blockSize: T,
    batchSize: B,
    steps,
    lr: f.lr as number,
    warmupSteps: Math.max(1, Math.round(steps / 20)),
    evalEvery: steps,
    evalBatches: f['eval-batches'] as number,
    checkpointEvery: steps,
    keepCheckpoints: 1,
    sampleTokens: 0,
    seed: f.seed as number,
    vocabSize: f['vocab-size'] as number,
    cacheDir: path.join(out, 'cache'),
    ...(data ? { data } : { corpus: f.corpus as string[] }),
  };
  const runs: ScalingRun[] = [];
  let template: GPTConfig | undefined; // the first run's model config (its vocabulary comes from the data)
  const train = async (width: number): Promise<ScalingRun> => {
    io.stderr(`\n== width ${width}: ${steps} steps × ${B}×${T} tokens ==\n`);
    const t0 = performance.now();
    const r = await pretrain({ ...base, nEmbd: width, nHead: width / headDim, out: path.join(out, `w${width}`) }, io, { keepModel: true });
    const cfg = r.model.config;
    template ??= cfg;
    r.model.dispose();
    if (r.valLoss === null || !Number.isFinite(r.valLoss)) throw new Error(`width ${width}: no finite validation loss`);
    const run: ScalingRun = {
      width,
      params: r.params,
      // Training compute of the whole run: FLOPs per token (6N + attention) × tokens seen.
      compute: trainingFlopsPerToken(cfg, T) * steps * B * T,
      valLoss: r.valLoss,
      seconds: (performance.now() - t0) / 1000,
    };
    io.stderr(
      `width ${width}: ${run.params} parameters, ${run.compute.toExponential(3)} FLOPs, validation loss ${run.valLoss.toFixed(4)}\n`,
    );
    return run;
  };
  for (const w of widths.slice(0, -1)) runs.push(await train(w));
  const fit: PowerLawFit = fitPowerLaw(runs.map((r) => ({ compute: r.compute, loss: r.valLoss })));
  // The largest model's compute is known before training it: predict now, then train and compare.
  const largest = widths[widths.length - 1]!;
  const cLargest = trainingFlopsPerToken({ ...template!, nEmbd: largest, nHead: largest / headDim }, T) * steps * B * T;
  const predicted = fit.predict(cLargest);
  io.stderr(
    `\nfit on ${runs.length} runs: L(C) = ${fit.a.toPrecision(4)}·C^(−${fit.b.toPrecision(4)}) + ${fit.c.toFixed(4)} (rmse ${fit.rmse.toFixed(4)})\n`,
  );
  io.stderr(`prediction for width ${largest} (${cLargest.toExponential(3)} FLOPs): ${predicted.toFixed(4)}\n`);
  const last = await train(largest);
  runs.push(last);
  const svg = scalingPlotSVG({
    fitted: runs.slice(0, -1).map((r) => ({ compute: r.compute, loss: r.valLoss, label: `width ${r.width}` })),
    heldOut: { compute: last.compute, loss: last.valLoss, label: `width ${last.width}` },
    fit,
    title: `Predicted vs actual loss (${widths.length} sizes, ${tokens} tokens each)`,
  });
  const report: ScalingReport = {
    runs,
    fit: { a: fit.a, b: fit.b, c: fit.c, rmse: fit.rmse },
    predicted,
    actual: last.valLoss,
    error: last.valLoss - predicted,
    relativeError: (last.valLoss - predicted) / last.valLoss,
    svg: path.join(out, 'scaling.svg'),
  };
  fs.mkdirSync(out, { recursive: true });
  writeFileAtomic(report.svg, svg);
  writeFileAtomic(path.join(out, 'scaling.json'), JSON.stringify(report, null, 2) + '\n');
  return report;
}

export const scalingCommand: TrainerCommand = {
  name: 'scaling',
  summary: 'train a sweep of sizes, fit L(C) = a·C^(−b) + c on the smaller ones, predict the largest, then check',
  flags,
  usage: 'scaling [--corpus wordnet | --data DIR] [--widths 32,48,64,96,128] [--tokens N] [flags]',
  async run({ flags: given }, io) {
    const r = await runScaling(given, io);
    printResult(io, given.json === true, r, () => [
      'width   params      compute (FLOPs)   val loss',
      ...r.runs.map(
        (x) =>
          `${String(x.width).padStart(5)}  ${String(x.params).padStart(8)}  ${x.compute.toExponential(3).padStart(16)}   ${x.valLoss.toFixed(4)}`,
      ),
      `predicted ${r.predicted.toFixed(4)}, actual ${r.actual.toFixed(4)}, error ${r.error >= 0 ? '+' : ''}${r.error.toFixed(4)} (${(100 * r.relativeError).toFixed(2)}%)`,
      `plot: ${r.svg}`,
    ]);
    return 0;
  },
};
