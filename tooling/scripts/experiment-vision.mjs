#!/usr/bin/env node
// `pnpm experiment:vision`: GPT-4's image input in miniature (issue #22). Per seed one `gptlab-train vision`
// run of --minutes (default 10) with a held-out evaluation every --eval-every steps; the table is held-out OCR
// exact match and VQA accuracy against the training minutes at each evaluation (the loop's wall time from
// metrics.jsonl, evaluations included), plus a few image → answer examples of the final model. Writes
// docs/results/vision.json in the shared results shape and re-renders the README blocks that show it.
//   node tooling/scripts/experiment-vision.mjs [--seeds 0,1] [--minutes 10] [--eval-every 150] [--out runs/experiments]
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const cli = path.join(root, 'apps/trainer/dist/cli.js');
const args = process.argv.slice(2);
const flag = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const seeds = flag('seeds', '0').split(',').map(Number);
const minutes = flag('minutes', '10');
const evalEvery = flag('eval-every', '150');
const out = path.resolve(flag('out', path.join(root, 'runs/experiments')), 'vision');
if (!existsSync(cli)) {
  console.error('apps/trainer is not built: run `pnpm --filter @gptlab/trainer... build` first');
  process.exit(1);
}
mkdirSync(out, { recursive: true });

const t0 = performance.now();
const load0 = loadavg()[0];
const runs = seeds.map((seed) => {
  const dir = path.join(out, `seed-${seed}`);
  const argv = ['vision', '--minutes', minutes, '--seed', String(seed), '--eval-every', evalEvery, '--out', dir, '--json'];
  console.error(`\n$ gptlab-train ${argv.join(' ')}`);
  const r = spawnSync(process.execPath, [cli, ...argv], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (r.status !== 0) {
    console.error(`gptlab-train vision failed with exit ${r.status}`);
    process.exit(r.status ?? 1);
  }
  const final = JSON.parse(r.stdout.trim().split('\n').pop());
  const records = readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  const elapsed = new Map(records.filter((m) => m.type === 'train').map((m) => [m.step, m.elapsed_s]));
  const evals = records
    .filter((m) => m.type === 'eval')
    .map((m) => ({
      step: m.step,
      minutes: (elapsed.get(m.step) ?? NaN) / 60,
      ocr: m.ocr_exact_match,
      vqa: m.vqa_accuracy,
      loss: m.val_loss,
    }));
  return { seed, final, evals };
});

const rows = runs.flatMap((r) =>
  r.evals.map((e) => [
    r.seed,
    e.step,
    Number(e.minutes.toFixed(2)),
    Number(e.ocr.toFixed(3)),
    Number(e.vqa.toFixed(3)),
    Number(e.loss.toFixed(4)),
  ]),
);
const examples = runs[0].final.samples.map((s) => [s.task, s.prompt, s.expected, s.answer, s.answer === s.expected ? 'yes' : 'no']);
const results = {
  command: `pnpm experiment:vision --seeds ${seeds.join(',')} --minutes ${minutes} --eval-every ${evalEvery}`,
  seeds,
  wall_s: Math.round((performance.now() - t0) / 1000),
  machine: `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'} (load average ${load0.toFixed(1)} at the start: shared with other jobs)`,
  tables: {
    accuracy: {
      columns: ['seed', 'step', 'training minutes', 'OCR exact match', 'VQA accuracy', 'answer loss'],
      rows,
      note: `held-out split: ${runs[0].final.held_out} images of held-out words and ${runs[0].final.held_out} questions on held-out scenes, greedy answers`,
    },
    examples: {
      columns: ['task', 'prompt', 'expected', 'model answer', 'exact'],
      rows: examples,
      note: `the first held-out images of seed ${seeds[0]} after ${runs[0].final.steps} steps`,
    },
  },
  runs,
};
const file = path.join(root, 'docs/results/vision.json');
mkdirSync(path.dirname(file), { recursive: true });
writeFileSync(`${file}.tmp`, JSON.stringify(results, null, 2) + '\n');
renameSync(`${file}.tmp`, file);
console.error(`wrote ${path.relative(root, file)}`);
spawnSync(process.execPath, [path.join(root, 'tooling/scripts/render-results.mjs')], { stdio: 'inherit' });
