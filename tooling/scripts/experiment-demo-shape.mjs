#!/usr/bin/env node
// `pnpm experiment:demo-shape`: the demo's shape chosen by the project's scaling tools (issue #19, target 9).
//
// The demo has a wall-clock budget (10 minutes), so the compute it can spend depends on the shape: C = 6·N·D with
// D = tokens/s × seconds on THIS machine (N: non-embedding parameters, as in apps/trainer/src/scaling/sweep.ts).
//   1. throughput: `gptlab-train bench` of every candidate shape (vocabulary 4096, context 64 × batch 16: the
//      demo's tokens per step), tokens/s on the machine as it is (shared with other jobs: the load is recorded).
//   2. iso-time profiles (Chinchilla's approach 2 with the budget in seconds, not FLOPs): at each short budget t
//      (--budgets, default 20,40,80,160 s) every size of the ladder trains on the tokens it processes in t seconds —
//      a fixed STEP count from step 1's throughput, so the runs do not depend on the load while they run — with
//      the demo's optimizer settings; loss = NLL per token of the first --eval-tokens validation tokens
//      (`gptlab-train eval --data`, the same tokens for every run: same tokenizer, same document split).
//   3. a parabola in ln N through each profile gives its optimal size N*(t); at that size the machine spends
//      C* = 6·N*·tokens/s(N*)·t; N_opt ∝ C^a is fitted through the (C*, N*) (apps/trainer/src/scaling/
//      compute-optimal.ts, with a leave-one-run-out range of a) and each candidate is asked what C it spends in
//      600 s; the chosen shape is the one nearest its own N_opt(C). Then context × batch at that size: each of
//      64×16, 128×8, 64×8, 32×32 trains --variant-budget (80) s of its own tokens/s; the lowest held-out loss wins.
//   4. --compare: the demo with its old defaults and with its current ones (the chosen shape), run at the same
//      time so both see the same machine, seeds --compare-seeds; final validation loss (the demo's own, and the
//      comparable one of step 2 on --compare-eval-tokens tokens) and the samples go into the results file.
//   node tooling/scripts/experiment-demo-shape.mjs [--budgets 20,40,80,160] [--seeds 1] [--eval-tokens 16384]
//     [--results FILE (a pilot)] [--out runs/experiments]
//   node tooling/scripts/experiment-demo-shape.mjs --compare [--minutes 10] [--compare-seeds 0,1] [--reparse: read the
//     finished demos of the last comparison again instead of running them]
// Finished runs (run directories under --out) and the throughput measurements are reused by a rerun.
import { existsSync, readFileSync, readdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import path from 'node:path';
import * as kit from './experiment-kit.mjs';
import { chooseShape, fitComputeOptimal, isoFlopVertex } from '../../apps/trainer/dist/index.js';
import { shapePlot } from './demo-shape-plot.mjs';

const { flag, out, seeds, resultsFile, pilot } = kit.experimentSetup('demo-shape', { seeds: '1', items: '0' });
const VOCAB = 4096;
const [CTX, BATCH] = [64, 16];
const DEMO_SECONDS = 600;
/** The demo's defaults before this experiment (what `pnpm demo` trained until then). */
const OLD_DEMO = { 'n-layer': 4, 'n-head': 4, 'n-embd': 256, 'block-size': 64, 'batch-size': 16 };
/** The demo's optimizer settings (apps/trainer/src/commands/demo.ts: lr 2e-3, pretrain's AdamW defaults). */
const LR = 2e-3;
/** Heads of 64 dimensions (32 for widths below 128). */
const shape = (nLayer, nEmbd) => ({ name: `${nLayer}L/${nEmbd}d`, nLayer, nEmbd, nHead: nEmbd >= 128 ? nEmbd / 64 : nEmbd / 32 });
/** Sizes trained in the profiles: widths 64…256, depth growing with width. */
/** Context × batch tried at the chosen size: the demo's 64 × 16, the same tokens per step in longer windows, more steps. */
const VARIANTS = [
  [64, 16],
  [128, 8],
  [64, 8],
  [32, 32],
];
const LADDER = [shape(2, 64), shape(2, 128), shape(3, 192), shape(4, 256)];
/** Candidates for the demo: the ladder and shapes between and beyond it. */
const CANDIDATES = [...LADDER, shape(2, 96), shape(3, 128), shape(4, 192), shape(6, 256), shape(6, 320), shape(6, 384)];
const shapeFlags = (s, ctx = CTX, batch = BATCH) =>
  ['--n-layer', s.nLayer, '--n-embd', s.nEmbd, '--n-head', s.nHead, '--block-size', ctx, '--batch-size', batch].map(String);
const cache = path.join(out, 'cache');

function readJson(file) {
  return JSON.parse(readFileSync(file, 'utf8'));
}
function writeJson(file, value) {
  writeFileSync(file + '.tmp', JSON.stringify(value, null, 1) + '\n');
  renameSync(file + '.tmp', file);
}

/** One `gptlab-train bench` of a shape: tokens/s of a few seconds of timed steps. */
function bench(s, ctx, batch) {
  const steps = Math.max(6, Math.min(40, Math.round((4e7 * 1024) / (ctx * batch) / (12 * s.nLayer * s.nEmbd ** 2))));
  const argv = ['bench', ...shapeFlags(s, ctx, batch), '--vocab-size', String(VOCAB), '--steps', String(steps), '--warmup', '2', '--json'];
  const b = JSON.parse(kit.cliRun(argv).trim().split('\n').pop());
  return { tokensPerSec: b.tokens_per_sec, params: b.params - VOCAB * s.nEmbd, mfu: b.mfu, load: loadavg()[0] };
}

/**
 * Step 1: tokens/s of each (shape, context, batch), measured twice in interleaved passes, keeping the faster of the
 * two (the one the other jobs on the machine disturbed less). Cached in the run directory (delete throughput.json
 * to measure again).
 */
function throughput(shapes, ctx = CTX, batch = BATCH) {
  const file = path.join(out, 'throughput.json');
  const known = existsSync(file) ? readJson(file) : {};
  const key = (s) => (ctx === CTX && batch === BATCH ? s.name : `${s.name} ctx${ctx}x${batch}`);
  for (const pass of [0, 1]) {
    for (const s of shapes) {
      if (known[key(s)]?.passes > pass) continue;
      const m = bench(s, ctx, batch);
      const prev = known[key(s)];
      known[key(s)] = { ...(prev && prev.tokensPerSec >= m.tokensPerSec ? prev : m), passes: pass + 1 };
      writeJson(file, known);
    }
  }
  return shapes.map((s) => ({ ...s, ...known[key(s)] }));
}

/** Final checkpoint of a run directory, or null when it has not finished. */
function finished(dir) {
  const latest = path.join(dir, 'checkpoints/LATEST');
  return existsSync(latest) ? path.join(dir, 'checkpoints', readFileSync(latest, 'utf8').trim()) : null;
}

const shardsDir = (cacheDir) => {
  const name = readdirSync(cacheDir).find((f) => f.startsWith('shards-'));
  if (!name) throw new Error(`no shards in ${cacheDir}`);
  return path.join(cacheDir, name);
};

/** NLL per token of the first `tokens` validation tokens (non-overlapping windows of the model's context). */
function heldOutLoss(checkpoint, cacheDir, tokens) {
  const report = JSON.parse(
    kit.cliRun(['eval', '--model', checkpoint, '--data', shardsDir(cacheDir), '--ppl-tokens', String(tokens), '--tasks', 'none', '--json']),
  );
  return report.perplexity;
}

/**
 * Step 2: one run at budget t: the tokens the shape processes in t seconds at its measured tokens/s, in whole steps
 * (reused when its directory holds a finished run).
 */
function budgetRun(s, t, seed, evalTokens, ctx = CTX, batch = BATCH) {
  const steps = Math.max(10, Math.round((s.tokensPerSec * t) / (ctx * batch)));
  const variant = ctx === CTX && batch === BATCH ? '' : `-ctx${ctx}x${batch}`;
  const dir = path.join(out, `t${t}-${s.name.replace('/', '-')}${variant}-seed${seed}`);
  const settings = {
    steps,
    'warmup-steps': Math.min(50, Math.floor(steps / 10)),
    lr: LR,
    seed,
    'eval-every': steps,
    'checkpoint-every': steps,
  };
  if (!finished(dir)) {
    kit.cliRun([
      'pretrain',
      '--corpus',
      'wordnet',
      '--vocab-size',
      String(VOCAB),
      '--cache-dir',
      cache,
      ...shapeFlags(s, ctx, batch),
      ...kit.settingsFlags(settings),
      '--eval-batches',
      '16',
      '--sample-tokens',
      '0',
      '--out',
      dir,
    ]);
  }
  const evalFile = path.join(dir, 'held-out.json');
  if (!existsSync(evalFile)) writeJson(evalFile, heldOutLoss(finished(dir), cache, evalTokens));
  const tokens = steps * ctx * batch;
  return {
    shape: s.name,
    ctx,
    batch,
    budget_s: t,
    seed,
    params: s.params,
    steps,
    tokens,
    compute: 6 * s.params * tokens,
    loss: readJson(evalFile).loss,
  };
}

/** tokens/s at size N, interpolated in ln N between the measured ladder sizes (log-log). */
function tokensPerSecAt(measured, n) {
  const pts = measured.map((m) => [Math.log(m.params), Math.log(m.tokensPerSec)]).sort((a, b) => a[0] - b[0]);
  const x = Math.log(n);
  let i = pts.findIndex((p) => p[0] >= x);
  i = i <= 0 ? 1 : i;
  const [[x0, y0], [x1, y1]] = [pts[Math.min(i - 1, pts.length - 2)], pts[Math.min(i, pts.length - 1)]];
  return Math.exp(y0 + ((y1 - y0) * (x - x0)) / (x1 - x0));
}

const fmtN = (n) => `${(n / 1e6).toFixed(2)}M`;

function fitAndChoose() {
  const budgets = flag('budgets', '20,40,80,160').split(',').map(Number);
  const evalTokens = Number(flag('eval-tokens', '16384'));
  const measured = throughput(CANDIDATES);
  const ladder = measured.filter((m) => LADDER.some((l) => l.name === m.name));
  const runs = budgets.flatMap((t) => seeds.flatMap((seed) => ladder.map((s) => budgetRun(s, t, seed, evalTokens))));
  // One profile per budget: the mean loss over seeds at each size.
  const profiles = budgets.map((t) => {
    const sized = ladder.map((s) => {
      const mine = runs.filter((r) => r.budget_s === t && r.shape === s.name);
      return { params: s.params, loss: kit.stats(mine.map((r) => r.loss)).m };
    });
    const v = isoFlopVertex({ compute: t, runs: sized });
    return { budget_s: t, runs: sized, compute: 6 * v.nOpt * tokensPerSecAt(ladder, v.nOpt) * t };
  });
  const law = fitComputeOptimal(profiles.map((p) => ({ compute: p.compute, runs: p.runs })));
  const { chosen, table } = chooseShape(measured, law.nOpt, DEMO_SECONDS);
  // Context and batch at the chosen size: each variant trains for --variant-budget seconds at its own tokens/s.
  const tMax = Number(flag('variant-budget', '80'));
  const variants = VARIANTS.map(([ctx, batch]) => {
    const [m] = throughput([chosen.candidate], ctx, batch);
    const mine = seeds.map((seed) => budgetRun(m, tMax, seed, evalTokens, ctx, batch));
    return { ctx, batch, tokensPerSec: m.tokensPerSec, steps: mine[0].steps, loss: kit.stats(mine.map((r) => r.loss)).m, runs: mine };
  });
  const variant = variants.reduce((best, v) => (v.loss < best.loss ? v : best));
  return { budgets, evalTokens, measured, runs, profiles, law, chosen, table, variants, variant, variantBudget: tMax };
}

function fitTables(r) {
  const { law } = r;
  // Sensitivity: Chinchilla's a ≈ 0.5 instead of the fitted one, through the largest budget's vertex.
  const anchor = law.vertices[law.vertices.length - 1];
  const chinchilla = (c) => anchor.nOpt * Math.sqrt(c / anchor.compute);
  const chinchillaChoice = chooseShape(r.measured, chinchilla, DEMO_SECONDS).chosen.candidate.name;
  const se = law.exponentStdErr === null ? 'n/a' : law.exponentStdErr.toFixed(2);
  return {
    candidates: {
      columns: [
        'shape',
        'non-embedding N',
        'tokens/s (bench)',
        'tokens in 600 s',
        'C = 6·N·D',
        'N_opt(C)',
        'ln(N / N_opt)',
        'N_opt if a = 0.5',
      ],
      rows: r.table.map((c) => [
        c.candidate.name + (c === r.chosen ? ' (chosen)' : ''),
        c.candidate.params,
        Math.round(c.candidate.tokensPerSec),
        Math.round(c.tokens),
        Number(c.compute.toPrecision(3)),
        fmtN(c.nOpt),
        Number(c.mismatch.toFixed(2)),
        fmtN(chinchilla(c.compute)),
      ]),
      note:
        `Tokens/s: \`gptlab-train bench\` (random tokens, vocabulary ${VOCAB}, context ${CTX} × batch ${BATCH}) on the machine below, load average ` +
        `${kit.stats(r.measured.map((m) => m.load)).m.toFixed(1)} during the measurements. N_opt(C) = ${law.coefficient.toPrecision(3)}·C^${law.exponent.toFixed(2)} ` +
        `(a = ${law.exponent.toFixed(2)}, standard error ${se} from ${r.profiles.length} budgets; ${law.exponentRange[0].toFixed(2)} – ${law.exponentRange[1].toFixed(2)} ` +
        `over the refits that leave one run out). Chosen: the candidate nearest its own compute-optimal size. With Chinchilla's a = 0.5 ` +
        `through the largest budget's vertex instead, the choice would be ${chinchillaChoice}.`,
    },
    context_batch: {
      columns: ['context × batch', 'tokens/s (bench)', `steps in ${r.variantBudget} s`, 'held-out loss'],
      rows: r.variants.map((v) => [
        `${v.ctx} × ${v.batch}${v === r.variant ? ' (chosen)' : ''}`,
        Math.round(v.tokensPerSec),
        v.steps,
        Number(v.loss.toFixed(3)),
      ]),
      note:
        `The chosen size ${r.chosen.candidate.name} trained for ${r.variantBudget} s of its measured tokens/s with each ` +
        `context × batch; held-out loss as in the profiles (each model's own context windows over the same ${r.evalTokens} validation tokens). ` +
        `WordNet glosses are short (about 22 tokens on average with their end-of-text token), so a longer window mostly adds unrelated glosses.`,
    },
    profiles: {
      columns: [
        'budget',
        ...r.measured.filter((m) => LADDER.some((l) => l.name === m.name)).map((m) => `${m.name} loss`),
        'N* (vertex)',
        'N* range (jackknife)',
        'C* = 6·N*·D',
      ],
      rows: r.profiles.map((p, i) => {
        const v = law.vertices[i];
        const jk = v.jackknife.map(Math.exp);
        return [
          `${p.budget_s} s`,
          ...p.runs.map((x) => Number(x.loss.toFixed(3))),
          fmtN(v.nOpt) + (v.interior ? '' : ' (outside the sizes)'),
          jk.length ? `${fmtN(Math.min(...jk))} – ${fmtN(Math.max(...jk))}` : '–',
          Number(p.compute.toPrecision(3)),
        ];
      }),
      note:
        `Each size trains on the tokens it processes in the budget on this machine (steps from its bench tokens/s, context ${CTX} × batch ${BATCH}, ` +
        `lr ${LR}, the demo's AdamW and cosine schedule); loss = NLL per token (nats) of the first ${r.evalTokens} validation tokens of the demo's ` +
        `WordNet split (the same tokens for every run). Seeds: ${seeds.join(', ')}.`,
    },
  };
}

/**
 * The fit's wall time, from the tokenizer and shards (made first) to the last run's evaluation: a rerun reuses the
 * finished runs, so its own time would say nothing.
 */
function fitWallSeconds() {
  const mtime = (f) => statSync(f).mtimeMs;
  const start = Math.min(...readdirSync(cache).map((f) => mtime(path.join(cache, f))));
  const evals = readdirSync(out)
    .filter((d) => /^t\d+-/.test(d) && existsSync(path.join(out, d, 'held-out.json')))
    .map((d) => mtime(path.join(out, d, 'held-out.json')));
  return Math.round((Math.max(...evals) - start) / 1000);
}

function baseResults(r, command) {
  return {
    command,
    seeds,
    wall_s: fitWallSeconds(),
    fit_wall_s: fitWallSeconds(),
    // The load while the throughput was measured (a rerun reuses the measurements and runs: its own load says nothing).
    machine: kit
      .machine()
      .replace(
        /load average [\d.]+ at the start/,
        `load average ${kit.stats(r.measured.map((m) => m.load)).m.toFixed(1)} during the bench`,
      ),
    tables: fitTables(r),
    chosen: {
      ...r.chosen.candidate,
      blockSize: r.variant.ctx,
      batchSize: r.variant.batch,
      tokens600s: r.chosen.tokens,
      compute: r.chosen.compute,
      nOpt: r.chosen.nOpt,
    },
    variants: r.variants,
    law: {
      exponent: r.law.exponent,
      exponentStdErr: r.law.exponentStdErr,
      exponentRange: r.law.exponentRange,
      coefficient: r.law.coefficient,
      vertices: r.law.vertices,
    },
    profiles: r.profiles,
    runs: r.runs,
    throughput: r.measured,
  };
}

if (!process.argv.includes('--compare')) {
  const r = fitAndChoose();
  const previous = existsSync(resultsFile) ? readJson(resultsFile) : {};
  const c = previous.compare;
  const command =
    `pnpm experiment:demo-shape --budgets ${r.budgets.join(',')} --seeds ${seeds.join(',')}` +
    (c ? ` && pnpm experiment:demo-shape --compare --minutes ${c.minutes} --compare-seeds ${c.seeds.join(',')}` : '');
  // A refit keeps the comparison of the demos (its wall time too).
  const results = { ...baseResults(r, command), ...(c ? { compare: c } : {}) };
  if (c) {
    results.wall_s += c.wall_s;
    results.seeds = [...new Set([...seeds, ...c.seeds])].sort((a, b) => a - b);
    results.tables.before_after = previous.tables.before_after;
    results.tables.samples = previous.tables.samples;
  }
  console.error(
    `chosen: ${r.chosen.candidate.name} (N ${fmtN(r.chosen.candidate.params)}, N_opt ${fmtN(r.chosen.nOpt)}), context ${r.variant.ctx} × batch ${r.variant.batch}`,
  );
  kit.writeResults(resultsFile, results, shapePlot(r), pilot);
} else {
  const { compareDemos } = await import('./demo-shape-compare.mjs');
  await compareDemos({ flag, out, resultsFile, pilot, OLD_DEMO, cacheFrom: cache, heldOutLoss, readJson });
}
