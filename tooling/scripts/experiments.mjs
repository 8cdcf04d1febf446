#!/usr/bin/env node
// The papers' claims in miniature, each one command (see README "Experiments"):
//   node tooling/scripts/experiments.mjs gpt1     GPT-1: fine-tuning a pretrained model vs training from scratch,
//                                                 and the auxiliary LM loss (λ = 0.5 vs 0), on the 4 WordNet tasks
//   node tooling/scripts/experiments.mjs fewshot  GPT-2/3: accuracy as the number of shots k grows (0, 1, 4)
//   node tooling/scripts/experiments.mjs scaling  GPT-4: predicted vs actual loss of the largest model of a sweep
//   node tooling/scripts/experiments.mjs align    GPT-4's alignment: base vs SFT vs PPO vs DPO on held-out prompts
//                                                 (experiment-align.mjs; also writes docs/results/align.json)
// Each writes <out>/<name>.json and <name>.md (default out: runs/experiments; gpt1's fine-tuning runs under
// <out>/gpt1/<task>-<condition>/). gpt1 and fewshot need a pretrained
// checkpoint: --model DIR, else the demo's (runs/demo), which is trained first when missing (~10 min).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { alignExperiment } from './experiment-align.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const cli = path.join(root, 'apps/trainer/dist/cli.js');
const [which, ...rest] = process.argv.slice(2);
const flag = (name, dflt) => {
  const i = rest.indexOf(`--${name}`);
  return i >= 0 ? rest[i + 1] : dflt;
};
const out = path.resolve(flag('out', path.join(root, 'runs/experiments')));
mkdirSync(out, { recursive: true });
if (!existsSync(cli)) {
  console.error('apps/trainer is not built: run `pnpm build` first');
  process.exit(1);
}

function run(args) {
  console.error(`\n$ gptlab-train ${args.join(' ')}`);
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 26 });
  if (r.status !== 0) {
    console.error(`gptlab-train ${args[0]} failed with exit ${r.status}`);
    process.exit(r.status ?? 1);
  }
  return r.stdout;
}

function pretrained() {
  const given = flag('model');
  if (given) return path.resolve(given);
  const demoRun = path.join(root, 'runs/demo');
  const latest = path.join(demoRun, 'checkpoints/LATEST');
  if (!existsSync(latest)) run(['demo', '--out', demoRun]);
  return path.join(demoRun, 'checkpoints', readFileSync(latest, 'utf8').trim());
}

const pct = (x) => (Number.isFinite(x) ? (100 * x).toFixed(1) + '%' : 'n/a');

function gpt1() {
  const model = pretrained();
  const common = [
    '--train-limit',
    flag('train-limit', '1000'),
    '--eval-limit',
    flag('eval-limit', '200'),
    '--epochs',
    flag('epochs', '2'),
    '--batch-size',
    '16',
    '--lr',
    flag('lr', '3e-4'),
    '--truncate',
    '--json',
  ];
  const conditions = [
    { name: 'pretrained, λ=0.5', slug: 'lm0.5', args: ['--aux-lm-weight', '0.5'] },
    { name: 'pretrained, λ=0', slug: 'lm0', args: ['--aux-lm-weight', '0'] },
    { name: 'from scratch, λ=0.5', slug: 'scratch-lm0.5', args: ['--aux-lm-weight', '0.5', '--from-scratch'] },
  ];
  const rows = [];
  for (const task of ['cls', 'entail', 'sim', 'mc']) {
    for (const c of conditions) {
      // Each fine-tuning run keeps its own run directory (metrics.jsonl, loss.svg, checkpoints).
      const runDir = path.join(out, 'gpt1', `${task}-${c.slug}`);
      const r = JSON.parse(
        run(['finetune', '--task', task, '--model', model, '--out', runDir, ...common, ...c.args])
          .trim()
          .split('\n')
          .pop(),
      );
      rows.push({ task, condition: c.name, ...r });
    }
  }
  const md = [
    `GPT-1 fine-tuning on WordNet tasks (model: ${path.relative(root, model)}; ${rows[0].train} training examples, ${flag('epochs', '2')} epochs, lr ${flag('lr', '3e-4')})`,
    '',
    '| task | condition | dev accuracy | test accuracy | steps | seconds |',
    '|---|---|---|---|---|---|',
    ...rows.map(
      (r) => `| ${r.task} | ${r.condition} | ${pct(r.devAccuracy)} | ${pct(r.testAccuracy)} | ${r.steps} | ${r.seconds.toFixed(0)} |`,
    ),
  ].join('\n');
  return { rows, md };
}

function fewshot() {
  const model = pretrained();
  const report = JSON.parse(
    run(['eval', '--model', model, '--shots', flag('shots', '0,1,4'), '--limit', flag('limit', '100'), '--json'])
      .trim()
      .split('\n')
      .pop(),
  );
  const tasks = [...new Set(report.fewShot.map((r) => r.task))];
  const ks = [...new Set(report.fewShot.map((r) => r.k))];
  const md = [
    `Zero/one/few-shot accuracy (model: ${path.relative(root, model)}; ${report.fewShot[0]?.n} test queries per task, options scored by per-token log-likelihood)`,
    '',
    `| task | chance | ${ks.map((k) => `k = ${k}`).join(' | ')} |`,
    `|---|---|${ks.map(() => '---').join('|')}|`,
    ...tasks.map((t) => {
      const rs = report.fewShot.filter((r) => r.task === t);
      return `| ${t} | ${pct(rs[0].chance)} | ${ks.map((k) => pct(rs.find((r) => r.k === k)?.accuracy)).join(' | ')} |`;
    }),
  ].join('\n');
  return { report, md };
}

function scaling() {
  const dir = path.join(out, 'scaling');
  const r = JSON.parse(
    run(['scaling', '--out', dir, '--widths', flag('widths', '32,48,64,96,128'), '--tokens', flag('tokens', '400000'), '--json'])
      .trim()
      .split('\n')
      .pop(),
  );
  const md = [
    `Predictable scaling: ${r.runs.length} widths, the same ${flag('tokens', '400000')} training tokens each; L(C) = a·C^(−b) + c fitted on all but the largest`,
    '',
    '| width | parameters | compute (FLOPs) | validation loss |',
    '|---|---|---|---|',
    ...r.runs.map((x) => `| ${x.width} | ${x.params.toLocaleString('en-US')} | ${x.compute.toExponential(2)} | ${x.valLoss.toFixed(4)} |`),
    '',
    `Fit: a = ${r.fit.a.toPrecision(4)}, b = ${r.fit.b.toPrecision(4)}, c = ${r.fit.c.toFixed(4)}. Predicted loss of the largest model before training it: **${r.predicted.toFixed(4)}**; actual: **${r.actual.toFixed(4)}** (error ${(100 * r.relativeError).toFixed(2)}%). Plot: ${path.relative(root, r.svg)}`,
  ].join('\n');
  return { report: r, md };
}

const align = () => alignExperiment({ run, flag, root, out });

const experiments = { gpt1, fewshot, scaling, align };
if (!experiments[which]) {
  console.error(
    `usage: node tooling/scripts/experiments.mjs gpt1|fewshot|scaling|align [--model DIR] [--out DIR] (align: [--seeds 2] [--minutes 2] [--n 150])`,
  );
  process.exit(2);
}
const result = experiments[which]();
writeFileSync(path.join(out, `${which}.json`), JSON.stringify(result, null, 2) + '\n');
writeFileSync(path.join(out, `${which}.md`), result.md + '\n');
console.log(result.md);
