#!/usr/bin/env node
// `pnpm experiment:gpt1`: GPT-1's claim (Radford et al. 2018, §1–§5) in miniature — fine-tuning a generatively
// pretrained model beats training the same architecture from scratch, and the auxiliary LM objective (λ = 0.5)
// is compared with none (λ = 0) — on the built-in WordNet tasks (issue #17, phenomenon 3).
//
// One pretrained model, shared by every fine-tuning run: pretrained here on the WordNet glosses (a few minutes;
// its settings are in the results file), or the one given with --model DIR (e.g. runs/demo's checkpoint). Each
// (task, condition) is then fine-tuned once per seed; the seed sets the data order, dropout and the task head
// (and, from scratch, the initial weights). The task data and its synset splits are the same for every seed.
// The table is dev/test accuracy as mean ± sd over the seeds; the note names the differences beyond 2 sd (the
// spread of a condition is the larger of its sd over seeds and the binomial standard error of its test set).
//   node tooling/scripts/experiment-gpt1.mjs [--seeds 0,1,2] [--tasks cls,entail (also: sim, mc)] [--train-limit 600]
//     [--items 200] [--epochs 2] [--lr 3e-4] [--model DIR | --pretrain-steps 500] [--out runs/experiments]
//     [--results FILE (a pilot: READMEs left alone)]
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { effect } from './experiment-align.mjs';
import * as kit from './experiment-kit.mjs';

const { flag, out, seeds, nItems, resultsFile, pilot } = kit.experimentSetup('gpt1', { seeds: '0,1,2', items: '200' });
const tasks = flag('tasks', 'cls,entail').split(',');
const trainLimit = Number(flag('train-limit', '600'));
const epochs = Number(flag('epochs', '2'));
const lr = flag('lr', '3e-4');
const BATCH = 16;
const CHANCE = { cls: 1 / 8, entail: 0.5, sim: 0.5, mc: 0.25 };
const CONDITIONS = [
  { name: 'pretrained, λ=0.5', slug: 'lm0.5', args: ['--aux-lm-weight', '0.5'] },
  { name: 'pretrained, λ=0', slug: 'lm0', args: ['--aux-lm-weight', '0'] },
  { name: 'from scratch, λ=0.5', slug: 'scratch-lm0.5', args: ['--aux-lm-weight', '0.5', '--from-scratch'] },
];
// The pretraining this script does when no --model is given: small enough that pretraining plus the
// 18 fine-tuning runs fit ~25 minutes on 2 shared cores.
const PRETRAIN = {
  corpus: 'wordnet',
  'vocab-size': 2048,
  'n-layer': 4,
  'n-head': 4,
  'n-embd': 128,
  'block-size': 64,
  'batch-size': 16,
  lr: 2e-3,
  'warmup-steps': 30,
  seed: 1,
  'sample-tokens': 0,
};

const lastJsonLine = (stdout) => JSON.parse(stdout.trim().split('\n').pop());

/**
 * The shared pretrained checkpoint and how it was made. The script's own pretraining is deterministic (fixed
 * steps and seed), so a finished one with the same settings in the run directory is reused (`reused: true`; its
 * `seconds` are those of the run that made it); delete <out>/gpt1/pretrain to pretrain again.
 */
function pretrainedModel() {
  if (flag('model')) return { model: path.resolve(flag('model')), pretraining: { source: `given: --model ${flag('model')}` } };
  // A fixed step count, not a time budget: the pretrained model must not depend on the machine's load.
  const settings = { ...PRETRAIN, steps: Number(flag('pretrain-steps', '500')) };
  const dir = path.join(out, 'pretrain');
  const record = path.join(dir, 'experiment-gpt1.json');
  if (existsSync(record)) {
    const previous = JSON.parse(readFileSync(record, 'utf8'));
    if (JSON.stringify(previous.pretraining.settings) === JSON.stringify(settings)) {
      console.error(`reusing the pretrained model of ${path.relative(kit.root, dir)} (same settings)`);
      return { model: previous.model, pretraining: { ...previous.pretraining, reused: true } };
    }
  }
  const t = performance.now();
  const model = kit.pretrainRun(dir, { ...settings, 'eval-every': 1000000, 'checkpoint-every': 1000000 });
  const records = readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map(JSON.parse);
  const made = {
    model,
    pretraining: {
      source: 'pretrained by this script on the WordNet glosses (shared by all seeds and conditions)',
      settings,
      tokens: records.filter((r) => r.type === 'train').pop().tokens,
      val_loss: records.filter((r) => r.type === 'eval').pop()?.val_loss ?? null,
      seconds: Math.round((performance.now() - t) / 1000),
    },
  };
  writeFileSync(record, JSON.stringify(made, null, 1) + '\n');
  return made;
}

const t0 = performance.now();
const machineNote = kit.machine();
const { model, pretraining } = pretrainedModel();
const runs = [];
for (const task of tasks) {
  for (const c of CONDITIONS) {
    for (const seed of seeds) {
      // Each fine-tuning run keeps its own run directory (metrics.jsonl, loss.svg, checkpoints).
      const runDir = path.join(out, `${task}-${c.slug}-seed${seed}`);
      const argv = ['finetune', '--task', task, '--model', model, '--out', runDir, '--seed', String(seed)];
      argv.push('--train-limit', String(trainLimit), '--eval-limit', String(nItems), '--epochs', String(epochs));
      argv.push(
        '--batch-size',
        String(BATCH),
        '--lr',
        lr,
        '--checkpoint-every',
        '1000000',
        '--eval-every',
        '1000000',
        '--truncate',
        '--json',
        ...c.args,
      );
      const started = performance.now();
      const r = lastJsonLine(kit.cliRun(argv));
      const wall_s = Math.round((performance.now() - started) / 1000); // with start-up: loading, the WordNet task
      runs.push({ task, condition: c.name, seed, ...r, wall_s, runDir: path.relative(kit.root, r.runDir), checkpoint: undefined });
      console.error(`${task} · ${c.name} · seed ${seed}: dev ${r.devAccuracy.toFixed(3)}, test ${r.testAccuracy.toFixed(3)}`);
    }
  }
}

/** A condition's test accuracies with its binomial standard error, in the shape `effect` compares. */
function condition(task, name, label) {
  const mine = runs.filter((r) => r.task === task && r.condition === name);
  const values = mine.map((r) => r.testAccuracy);
  const stderrs = mine.map((r) => Math.sqrt((r.testAccuracy * (1 - r.testAccuracy)) / r.test));
  return { name: label, values, stderrs };
}

const rows = [];
for (const task of tasks) {
  for (const c of CONDITIONS) {
    const mine = runs.filter((r) => r.task === task && r.condition === c.name);
    rows.push([
      task,
      c.name,
      kit.pctMeanSd(kit.stats(mine.map((r) => r.devAccuracy))),
      kit.pctMeanSd(kit.stats(mine.map((r) => r.testAccuracy))),
      Math.round(100 * CHANCE[task] * 10) / 10,
      mine[0].steps,
      Math.round(kit.stats(mine.map((r) => r.seconds)).m),
      Math.round(kit.stats(mine.map((r) => r.wall_s)).m),
    ]);
  }
}
const comparisons = tasks.flatMap((task) => [
  { task, ...effect(condition(task, CONDITIONS[0].name, 'pretrained'), condition(task, CONDITIONS[2].name, 'from scratch')) },
  { task, ...effect(condition(task, CONDITIONS[0].name, 'λ=0.5'), condition(task, CONDITIONS[1].name, 'λ=0')) },
]);
const first = runs[0];
const pretrainText = flag('model')
  ? `the given checkpoint ${path.relative(kit.root, model)}`
  : `one model pretrained by the script on the WordNet glosses (${PRETRAIN['n-layer']} layers × ${PRETRAIN['n-embd']}, ` +
    `context ${PRETRAIN['block-size']}, ${pretraining.settings.steps} steps of ${PRETRAIN['batch-size']} × ${PRETRAIN['block-size']} tokens, ` +
    `validation loss ${pretraining.val_loss?.toFixed(2)}, ${pretraining.seconds} s` +
    `${pretraining.reused ? ' in an earlier run of this command, reused here and not in the wall time' : ''}), shared by every seed and condition`;
const note =
  `Test accuracy (and dev) in % over fine-tuning seeds ${seeds.join(', ')}: ${first.train} training examples, ${first.dev} dev and ` +
  `${first.test} test per task (split by synset), ${epochs} epochs of batch ${BATCH}, lr ${lr}; pretraining: ${pretrainText}. ` +
  `Test accuracy, beyond 2 sd or not (spread: the larger of the sd over seeds and the test set's binomial error): ` +
  comparisons.map((e) => `${e.task}: ${e.text}`).join('; ') +
  '.';

const results = {
  command: `pnpm experiment:gpt1${process.argv.slice(2).length ? ' ' + process.argv.slice(2).join(' ') : ''}`,
  seeds,
  wall_s: Math.round((performance.now() - t0) / 1000),
  machine: machineNote,
  tables: {
    gpt1: {
      columns: ['task', 'condition', 'dev accuracy %', 'test accuracy %', 'chance %', 'steps', 'training s per run', 'wall s per run'],
      rows,
      note,
    },
  },
  pretraining,
  settings: { tasks, trainLimit, evalLimit: nItems, epochs, lr: Number(lr), batchSize: BATCH },
  comparisons: comparisons.map(({ task, beyond, text }) => ({ task, beyond, text })),
  runs,
};
kit.writeResults(resultsFile, results, barPlot(), pilot);

/** Test accuracy per task and condition as grouped bars with ±1 sd whiskers and each task's chance level. */
function barPlot() {
  const W = 460;
  const H = 260;
  const pad = { l: 50, r: 12, t: 20 + 14 * CONDITIONS.length, b: 30 };
  const colors = ['#1f77b4', '#2ca02c', '#d62728'];
  const groupW = (W - pad.l - pad.r) / tasks.length;
  const barW = (groupW * 0.75) / CONDITIONS.length;
  const Y = (a) => H - pad.b - Math.min(1, Math.max(0, a)) * (H - pad.t - pad.b);
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="11">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<line x1="${pad.l}" y1="${Y(0)}" x2="${W - pad.r}" y2="${Y(0)}" stroke="black"/>`,
    ...[0, 0.25, 0.5, 0.75, 1].map((a) => `<text x="${pad.l - 6}" y="${Y(a) + 4}" text-anchor="end">${a * 100}%</text>`),
    `<text x="12" y="${H / 2}" transform="rotate(-90 12 ${H / 2})" text-anchor="middle">test accuracy</text>`,
    ...CONDITIONS.map((c, i) => `<text x="${pad.l + 8}" y="${14 + 14 * i}" fill="${colors[i]}">■ ${c.name} (mean ± sd)</text>`),
  ];
  tasks.forEach((task, t) => {
    const gx = pad.l + t * groupW + groupW * 0.125;
    parts.push(`<text x="${gx + (barW * CONDITIONS.length) / 2}" y="${H - 10}" text-anchor="middle">${task}</text>`);
    const chanceY = Y(CHANCE[task]);
    parts.push(
      `<line x1="${gx - 4}" y1="${chanceY}" x2="${gx + barW * CONDITIONS.length + 4}" y2="${chanceY}" stroke="gray" stroke-dasharray="4 3"/>`,
    );
    CONDITIONS.forEach((c, i) => {
      const { m, sd } = kit.stats(runs.filter((r) => r.task === task && r.condition === c.name).map((r) => r.testAccuracy));
      const x = gx + i * barW;
      parts.push(
        `<rect x="${x + 1}" y="${Y(m)}" width="${barW - 2}" height="${Y(0) - Y(m)}" fill="${colors[i]}"/>`,
        `<line x1="${x + barW / 2}" y1="${Y(m - sd)}" x2="${x + barW / 2}" y2="${Y(m + sd)}" stroke="black"/>`,
      );
    });
  });
  parts.push(`<text x="${W - pad.r}" y="${pad.t - 6}" fill="gray" text-anchor="end">dashed: chance</text>`, '</svg>');
  return parts.join('\n') + '\n';
}
