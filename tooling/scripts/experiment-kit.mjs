// Shared by the evaluation experiments (experiment-zeroshot.mjs, experiment-icl.mjs): flags, a seeded
// generator, running the built CLI, mean ± sd, writing a results file in the shared shape (atomically, then
// re-rendering the README blocks) and a small SVG line plot with error bars.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const cli = path.join(root, 'apps/trainer/dist/cli.js');

/** `--name value` from argv, else the default. */
export function flagReader(argv = process.argv.slice(2)) {
  return (name, dflt) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : dflt;
  };
}

export function requireBuiltCli() {
  if (!existsSync(cli)) {
    console.error('apps/trainer is not built: run `pnpm --filter @gptlab/trainer... build` first');
    process.exit(1);
  }
}

/**
 * The flags every evaluation experiment takes — --seeds, --items, --results (a pilot: written elsewhere, READMEs
 * left alone), --out — with the experiment's defaults; checks the CLI is built and makes the run directory.
 */
export function experimentSetup(name, defaults) {
  const flag = flagReader();
  const out = path.resolve(flag('out', path.join(root, 'runs/experiments')), name);
  requireBuiltCli();
  mkdirSync(out, { recursive: true });
  return {
    flag,
    out,
    seeds: flag('seeds', defaults.seeds).split(',').map(Number),
    nItems: Number(flag('items', defaults.items)),
    resultsFile: flag('results', path.join(root, `docs/results/${name}.json`)),
    pilot: flag('results') !== undefined,
  };
}

/** A seeded uniform generator in [0, 1) (an LCG: the data must not depend on anything but its seed). */
export function rng(seed) {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

/** `gptlab-train ARGS`, its stdout; exits with its status when it fails. */
export function cliRun(argv) {
  console.error(`\n$ gptlab-train ${argv.join(' ')}`);
  const r = spawnSync(process.execPath, [cli, ...argv], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 26 });
  if (r.status !== 0) {
    console.error(`gptlab-train ${argv[0]} failed with exit ${r.status}`);
    process.exit(r.status ?? 1);
  }
  return r.stdout;
}

/** {flag: value} settings as command-line arguments: `--flag value` each. */
export const settingsFlags = (settings) => Object.entries(settings).flatMap(([k, v]) => [`--${k}`, String(v)]);

/** `gptlab-train pretrain` with `settings` ({flag: value}) into `dir`; the final checkpoint's directory. */
export function pretrainRun(dir, settings) {
  cliRun(['pretrain', ...settingsFlags(settings), '--out', dir]);
  return path.join(dir, 'checkpoints', readFileSync(path.join(dir, 'checkpoints/LATEST'), 'utf8').trim());
}

/** `gptlab-train eval --task-file` of a model: the harness's JSON report (acc, acc_norm, n, samples …). */
export function evalTaskFile(model, taskFile) {
  return JSON.parse(cliRun(['eval', '--model', model, '--task-file', taskFile, '--batch-size', '16', '--json']));
}

/** Mean and sample standard deviation (0 for one value). */
export function stats(xs) {
  const m = xs.reduce((a, b) => a + b, 0) / xs.length;
  const sd = xs.length > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1)) : 0;
  return { m, sd };
}

export const pctMeanSd = ({ m, sd }) => `${(100 * m).toFixed(1)} ± ${(100 * sd).toFixed(1)}`;

export function machine() {
  return `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'} (load average ${loadavg()[0].toFixed(1)} at the start: shared with other jobs)`;
}

/** Writes the results JSON (and the plot next to it) atomically; re-renders the READMEs unless `pilot`. */
export function writeResults(file, results, svg, pilot) {
  mkdirSync(path.dirname(file), { recursive: true });
  const atomic = (target, text) => {
    writeFileSync(target + '.tmp', text);
    renameSync(target + '.tmp', target);
  };
  atomic(file, JSON.stringify(results, null, 1) + '\n');
  atomic(file.replace(/\.json$/, '.svg'), svg);
  console.error(`wrote ${path.relative(root, file)} and its .svg`);
  if (!pilot) spawnSync(process.execPath, [path.join(root, 'tooling/scripts/render-results.mjs')], { stdio: 'inherit' });
}

const COLORS = ['#1f77b4', '#d62728', '#2ca02c'];

/**
 * Accuracy (0–1) against x with ±1 sd bars, one line per series, and a dashed chance line.
 * series: [{name, points: [{x, m, sd, label}]}]; opts: {xTitle, yTitle, chance, logX}.
 */
export function accuracyPlot(series, opts) {
  const W = 460;
  const H = 280;
  const pad = { l: 50, r: 16, t: 20 + 14 * series.length, b: 42 };
  const fx = opts.logX ? (x) => Math.log10(x) : (x) => x;
  const xs = series.flatMap((s) => s.points.map((p) => fx(p.x)));
  const span = Math.max(...xs) - Math.min(...xs) || 1;
  const [x0, x1] = [Math.min(...xs) - 0.08 * span, Math.max(...xs) + 0.08 * span];
  const X = (x) => pad.l + ((fx(x) - x0) / (x1 - x0)) * (W - pad.l - pad.r);
  const Y = (a) => H - pad.b - Math.min(1, Math.max(0, a)) * (H - pad.t - pad.b);
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="11">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<line x1="${pad.l}" y1="${Y(0)}" x2="${W - pad.r}" y2="${Y(0)}" stroke="black"/>`,
    `<line x1="${pad.l}" y1="${Y(0)}" x2="${pad.l}" y2="${Y(1)}" stroke="black"/>`,
    `<line x1="${pad.l}" y1="${Y(opts.chance)}" x2="${W - pad.r}" y2="${Y(opts.chance)}" stroke="gray" stroke-dasharray="4 3"/>`,
    `<text x="${W - pad.r - 4}" y="${Y(opts.chance) - 4}" fill="gray" text-anchor="end">chance</text>`,
    ...[0, 0.25, 0.5, 0.75, 1].map((a) => `<text x="${pad.l - 6}" y="${Y(a) + 4}" text-anchor="end">${a * 100}%</text>`),
    `<text x="${(W + pad.l) / 2}" y="${H - 6}" text-anchor="middle">${opts.xTitle}</text>`,
    `<text x="12" y="${H / 2}" transform="rotate(-90 12 ${H / 2})" text-anchor="middle">${opts.yTitle}</text>`,
    ...series[0].points.map((p) => `<text x="${X(p.x)}" y="${Y(0) + 14}" text-anchor="middle">${p.label ?? p.x}</text>`),
  ];
  series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length];
    parts.push(
      `<text x="${pad.l + 8}" y="${14 + 14 * i}" fill="${color}">— ${s.name}</text>`,
      `<polyline fill="none" stroke="${color}" stroke-width="2" points="${s.points.map((p) => `${X(p.x)},${Y(p.m)}`).join(' ')}"/>`,
      ...s.points.flatMap((p) => [
        `<line x1="${X(p.x)}" y1="${Y(p.m - p.sd)}" x2="${X(p.x)}" y2="${Y(p.m + p.sd)}" stroke="${color}"/>`,
        `<circle cx="${X(p.x)}" cy="${Y(p.m)}" r="3.5" fill="${color}"/>`,
      ]),
    );
  });
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}
