#!/usr/bin/env node
// `pnpm experiment:scaling`: GPT-4's predictable scaling (OpenAI 2023, §4.1) in miniature (issue #17, phenomenon 2).
//
// A family of 2-layer GPTs that differ only in width is trained on the Brown corpus without its held-out files
// (`gptlab-train scaling`; the plan is in apps/trainer/src/scaling/sweep.ts): token budgets D = D_max·(N/N_max)^γ
// (γ = 0.5, between Kaplan's and Chinchilla's compute-efficient allocations), compute C = 6·N·D with N the
// non-embedding parameters, every size once per seed. Stage 1 trains the small sizes — each ≤ 1/100 of the
// largest run's compute, spanning ≥ 1.5 decades — fits L(C) = a·C^(−b) + c (c free) to the held-out loss and to a
// capability (−mean log-probability of the right last word of Brown passages, as GPT-4 fitted HumanEval's mean
// log pass rate), and this script writes both predictions to the results file. Stage 2 then trains the largest
// size (the small runs are reused from stage 1) and the results file gets the actual values and the errors.
//   node tooling/scripts/experiment-scaling.mjs [--seeds 1,2] [--items 400 (passages)] [--results FILE (a pilot)]
//     [--widths 5,6,…] [--predict-width 96] [--tokens 1000000] [--tokens-exponent 0.5] [--lr 0.01] [--out runs/experiments]
import { readFileSync, renameSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import * as kit from './experiment-kit.mjs';

const { flag, out, seeds, nItems, resultsFile, pilot } = kit.experimentSetup('scaling', { seeds: '1,2', items: '400' });
const passThrough = ['widths', 'predict-width', 'tokens', 'tokens-exponent', 'lr', 'batch-scale']
  .filter((name) => flag(name) !== undefined)
  .flatMap((name) => [`--${name}`, flag(name)]);
const sweepArgs = ['scaling', '--out', out, '--seeds', seeds.join(','), '--passages', String(nItems), ...passThrough, '--json'];
const command = `pnpm experiment:scaling --seeds ${seeds.join(',')} --items ${nItems}${passThrough.length ? ' ' + passThrough.join(' ') : ''}`;
const t0 = performance.now();
const machine = kit.machine();

const meanOf = (xs) => kit.stats(xs).m;
const sdOf = (xs) => kit.stats(xs).sd;
const fmtSd = (xs, digits) => `${meanOf(xs).toFixed(digits)} ± ${sdOf(xs).toFixed(digits)}`;
const law = (p) => `${p.fit.a.toPrecision(3)}·C^(−${p.fit.b.toPrecision(3)}) + ${p.fit.c.toFixed(3)}`;

function runsTable(report) {
  const widths = [...new Set(report.runs.map((r) => r.width))];
  const rows = widths.map((w) => {
    const mine = report.runs.filter((r) => r.width === w);
    const r0 = mine[0];
    return [
      r0.predicted ? `${w} (predicted)` : `${w}`,
      r0.params,
      r0.tokens,
      `${r0.batchSize} × ${r0.steps}`,
      Number(r0.compute.toPrecision(3)),
      fmtSd(
        mine.map((r) => r.loss),
        3,
      ),
      fmtSd(
        mine.map((r) => r.lastWordNll),
        2,
      ),
      `${(100 * meanOf(mine.map((r) => r.lastWordAcc))).toFixed(1)}`,
    ];
  });
  return {
    columns: [
      'width',
      'non-embedding N',
      'tokens D',
      'batch × steps',
      'C = 6·N·D',
      'held-out loss (mean ± sd)',
      'last-word NLL (mean ± sd)',
      'last-word acc %',
    ],
    rows,
    note:
      `Every size trained once per seed (${seeds.join(', ')}); loss = NLL per token (nats) of held-out Brown text (the last file of each ` +
      `of the 15 categories, never trained on), last-word NLL = −mean log P(right last word) of ${nItems} passages from the same files.`,
  };
}

function predictionTable(report) {
  const p = report.prediction;
  const row = (name, key, actual) => {
    const pred = p[key];
    const cells = [
      name,
      `${law(pred)} (rmse ${pred.fit.rmse.toFixed(3)})`,
      pred.value.toFixed(3),
      `${pred.low.toFixed(3)} – ${pred.high.toFixed(3)}`,
    ];
    if (!actual) return [...cells, null, null, null];
    const m = meanOf(actual);
    return [...cells, fmtSd(actual, 3), Number((m - pred.value).toFixed(3)), `${((100 * (m - pred.value)) / m).toFixed(2)}%`];
  };
  return {
    columns: [
      'metric',
      'law fitted on the small runs',
      'predicted',
      'interval (refits, one seed per size)',
      'actual (mean ± sd over seeds)',
      'error',
      'relative error',
    ],
    rows: [row('held-out loss', 'loss', report.actual?.loss), row('last-word NLL (capability)', 'lastWordNll', report.actual?.lastWordNll)],
    note:
      `Predicted for width ${p.width} (C = ${p.compute.toExponential(2)} FLOPs, ${p.extrapolation.toFixed(0)}× the compute of the largest fitted run; ` +
      `the fitted runs span ${p.smallDecades.toFixed(2)} decades) at ${p.writtenAt}, before its runs started` +
      (report.actual ? ` (${report.actual.startedAt}).` : '; not trained yet.'),
  };
}

function results(report) {
  return {
    command,
    seeds,
    wall_s: Math.round((performance.now() - t0) / 1000),
    machine,
    tables: { prediction: predictionTable(report), runs: runsTable(report) },
    settings: report.settings,
    prediction: report.prediction,
    actual: report.actual ?? null,
    runs: report.runs,
  };
}

// Stage 1: the small runs and the prediction, written to the results file before the largest run starts.
const predicted = JSON.parse(kit.cliRun([...sweepArgs, '--stop-after-prediction']));
mkdirSync(path.dirname(resultsFile), { recursive: true });
writeFileSync(resultsFile + '.tmp', JSON.stringify(results(predicted), null, 1) + '\n');
renameSync(resultsFile + '.tmp', resultsFile);
console.error(`prediction written to ${path.relative(kit.root, resultsFile)}; now training width ${predicted.prediction.width}`);

// Stage 2: the largest size (the small runs are reused), then the comparison, the plot and the README blocks.
const report = JSON.parse(kit.cliRun(sweepArgs));
if (report.prediction.writtenAt !== predicted.prediction.writtenAt)
  throw new Error('stage 2 made a new prediction: the small runs were not reused');
kit.writeResults(resultsFile, results(report), readFileSync(report.svg, 'utf8'), pilot);
