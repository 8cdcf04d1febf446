#!/usr/bin/env node
// The papers' claims in miniature, each one command (see README "Experiments"):
//   node tooling/scripts/experiments.mjs gpt1     GPT-1: experiment-gpt1.mjs (pretrained vs from scratch, λ = 0.5 vs 0)
//   node tooling/scripts/experiments.mjs fewshot  GPT-2/3: accuracy as the number of shots k grows (0, 1, 4)
//   node tooling/scripts/experiments.mjs align    GPT-4's alignment: base vs SFT vs PPO vs DPO on held-out prompts
//                                                 (experiment-align.mjs; also writes docs/results/align.json)
// Each writes <out>/<name>.json and <name>.md (default out: runs/experiments). fewshot needs a pretrained
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

// gpt1 lives in experiment-gpt1.mjs (seeds, mean ± sd, docs/results/gpt1.json); this name forwards to it.
function gpt1() {
  const r = spawnSync(process.execPath, [path.join(root, 'tooling/scripts/experiment-gpt1.mjs'), ...rest], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
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

const align = () => alignExperiment({ run, flag, root, out });

const experiments = { gpt1, fewshot, align };
if (!experiments[which]) {
  console.error(
    `usage: node tooling/scripts/experiments.mjs gpt1|fewshot|align [--model DIR] [--out DIR] (align: [--seeds 2] [--minutes 2] [--n 150])`,
  );
  process.exit(2);
}
const result = experiments[which]();
writeFileSync(path.join(out, `${which}.json`), JSON.stringify(result, null, 2) + '\n');
writeFileSync(path.join(out, `${which}.md`), result.md + '\n');
console.log(result.md);
