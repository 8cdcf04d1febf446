#!/usr/bin/env node
// `pnpm experiment:icl`: in-context learning (GPT-3 §3, Fig. 1.2) in miniature — k-shot accuracy that rises with
// k, from a model gptlab trains in minutes (issue #17, phenomenon 1).
//
// Design. In-context learning can only pay off in training when the context holds information the weights
// cannot: so every training document is many same-format pairs "word label," of ONE task whose label mapping is
// drawn afresh for that document. A document picks two of four WordNet noun categories (animal, plant, person,
// location — a word's category never changes, so the weights can learn it) and two label words from a pool of 24
// (red, north, seven, …) and assigns them at random: "pairs: oak north, cat red, fir north, …". Which label goes
// with which category is nowhere but in the document's earlier pairs, so the only way to predict a label better
// than a coin is to read them. Documents are bursty (each category contributes only 3 words, each recurring ~3
// times), the property Chan et al. (2022) found to make in-context learning emerge: a repeated word's label is
// predicted exactly by copying (find this word earlier, take the token after it — what an induction head of a
// 2-layer model does), a strong signal learnt first; generalising to the category's other words comes with it.
// Every word and label is one token (a 1024-token BPE trained on the documents), so 16 shots and the query fit
// in 64 tokens and a step is cheap. At evaluation a prompt is k solved pairs of a fresh task and a query word; the
// options are the two labels (chance 50 %), scored by log-likelihood with `gptlab-train eval --task-file`. Two
// conditions: the query word may occur among the shots (drawn as in training), or never does (only its
// category-mates do: generalisation by category). Training is by steps, so the numbers do not depend on the load.
//   node tooling/scripts/experiment-icl.mjs [--seeds 0,1,2] [--steps 3000] [--items 200] [--out runs/experiments]
//        [--results FILE (a pilot: READMEs left alone)] [--lr 3e-3 --n-layer 2 --n-embd 64 --n-head 4 --batch-size 32]
//   node tooling/scripts/experiment-icl.mjs --model CHECKPOINT   (evaluate a checkpoint only)
// A rerun reuses each seed's finished training run of the same settings (only the evaluations run again).
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadWordNet } from '../../packages/data/dist/index.js';
import * as kit from './experiment-kit.mjs';

const { flag, out, seeds, nItems, resultsFile, pilot } = kit.experimentSetup('icl', { seeds: '0,1,2', items: '200' });
const steps = flag('steps', '3000');
const KS = [0, 1, 2, 4, 8, 16];
const EVAL_JOBS = 3;
const CATEGORIES = ['noun.animal', 'noun.plant', 'noun.person', 'noun.location'];
const WORDS_PER_CATEGORY = 60;
/** Words of each category one document (or one "seen" prompt) uses: few, so each recurs (bursty, see above). */
const DOC_WORDS_PER_CATEGORY = 3;
const LABELS =
  'red blue green black white gold north south east west one two three seven nine ten up down left right sun moon rain snow'.split(' ');
const LINES_PER_DOC = 20;
const DOCS = 12000;
/** Every document and prompt opens with it, so that every word carries its leading space (" oak", one token). */
const HEADER = 'pairs:';

/** Category → words: single lowercase words of one category only (a word in two categories would be ambiguous). */
function categoryWords(rand) {
  const seen = new Map();
  for (const s of loadWordNet().synsets) {
    if (!CATEGORIES.includes(s.lexname)) continue;
    for (const w of s.words) if (/^[a-z]{3,9}$/.test(w)) seen.set(w, seen.has(w) && seen.get(w) !== s.lexname ? null : s.lexname);
  }
  const labels = new Set(LABELS);
  return CATEGORIES.map((c) =>
    shuffled(
      [...seen].filter(([w, cat]) => cat === c && !labels.has(w)).map(([w]) => w),
      rand,
    ).slice(0, WORDS_PER_CATEGORY),
  );
}

function shuffled(xs, rand) {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [xs[i], xs[j]] = [xs[j], xs[i]];
  }
  return xs;
}

/**
 * A fresh task: two categories, two labels, one of the two assignments; `example(exclude)` draws a pair from it.
 * `subset` > 0 limits each category to that many distinct words (the training documents' burstiness).
 */
function task(words, rand, subset = 0) {
  const [a, b] = shuffled([...words.keys()], rand);
  const labels = shuffled([...LABELS], rand).slice(0, 2);
  const pools = [a, b].map((c) => (subset > 0 ? shuffled([...words[c]], rand).slice(0, subset) : words[c]));
  const pick = (n) => Math.floor(rand() * n);
  const example = (exclude) => {
    for (;;) {
      const c = pick(2);
      const w = pools[c][pick(pools[c].length)];
      if (w !== exclude) return { word: w, label: labels[c] };
    }
  };
  return { example, labels };
}

// A document is one line (the data pipeline's repeated-line filter, Gopher's, would drop a bursty document written
// one example per line) of pairs "word label," — three tokens each, the label right after its word, so that the
// copy an induction head makes (find the earlier occurrence of this token, predict what followed it) is the answer.
const shot = (e) => `${e.word} ${e.label},`;
const CONDITIONS = ['seen', 'novel'];
const itemsFile = (k, condition) => path.join(out, `items-k${k}-${condition}.jsonl`);

function writeData() {
  const rand = kit.rng(23);
  const words = categoryWords(rand);
  const docs = [];
  for (let d = 0; d < DOCS; d++) {
    const t = task(words, rand, DOC_WORDS_PER_CATEGORY);
    const pairs = Array.from({ length: LINES_PER_DOC }, () => t.example());
    docs.push(JSON.stringify({ text: [HEADER, ...pairs.map(shot)].join(' ') }));
  }
  writeFileSync(path.join(out, 'corpus.jsonl'), docs.join('\n') + '\n');
  // Item files per k and condition; every prompt is a fresh task (its own categories, labels and mapping).
  // "seen": drawn like a training document (3 words per category), so the query word may be among the shots —
  // the more shots, the likelier; "novel": the query word is never among them, only words of its category are.
  const evalRand = kit.rng(991);
  for (const k of KS) {
    for (const condition of CONDITIONS) {
      const items = Array.from({ length: nItems }, () => {
        const t = task(words, evalRand, condition === 'seen' ? DOC_WORDS_PER_CATEGORY : 0);
        const query = t.example();
        const shots = Array.from({ length: k }, () => t.example(condition === 'novel' ? query.word : undefined));
        const context = [HEADER, ...shots.map(shot), query.word].join(' ');
        return { context, choices: t.labels.map((l) => ` ${l},`), gold: t.labels.indexOf(query.label) };
      });
      writeFileSync(itemsFile(k, condition), items.map((it) => JSON.stringify(it)).join('\n') + '\n');
    }
  }
  return { words_per_category: words.map((w) => w.length), documents: DOCS, pairs_per_document: LINES_PER_DOC };
}

const t0 = performance.now();
const machineNote = kit.machine();
const data = writeData();
const cli = path.join(kit.root, 'apps/trainer/dist/cli.js');
/** Waits (up to 5 min) while another job rebuilds apps/trainer and its dist/ is briefly gone. */
async function waitForCli() {
  for (let waited = 0; !existsSync(cli) && waited < 300; waited += 5) await sleep(5000);
}

/** `gptlab-train eval --task-file` (kit.evalTaskFile, but asynchronous), a failure retried twice: see waitForCli. */
async function evalTaskFile(model, taskFile) {
  const argv = ['eval', '--model', model, '--task-file', taskFile, '--batch-size', '16', '--json'];
  for (let attempt = 1; ; attempt++) {
    await waitForCli();
    const { status, stdout } = await new Promise((resolve) => {
      const child = spawn(process.execPath, [cli, ...argv], { stdio: ['ignore', 'pipe', 'inherit'] });
      let text = '';
      child.stdout.setEncoding('utf8').on('data', (d) => (text += d));
      child.on('close', (code) => resolve({ status: code, stdout: text }));
    });
    if (status === 0) return JSON.parse(stdout);
    console.error(`gptlab-train ${argv.join(' ')} failed with exit ${status} (attempt ${attempt} of 3)`);
    if (attempt === 3) process.exit(status ?? 1);
    await sleep(20000);
  }
}

/**
 * Accuracy per condition and k of each model ({dir, label}): 12 evaluations per model, EVAL_JOBS processes at a
 * time (each is small; on a shared machine several get a larger share of the cores than one).
 */
async function evaluateAll(models) {
  const jobs = models.flatMap((m, i) => KS.flatMap((k) => CONDITIONS.map((c) => ({ i, m, k, c }))));
  const acc = models.map(() => Object.fromEntries(CONDITIONS.map((c) => [c, {}])));
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const { i, m, k, c } = jobs[next++];
      acc[i][c][k] = (await evalTaskFile(m.dir, itemsFile(k, c))).acc;
      console.error(`${m.label} k=${k} ${c}: acc ${acc[i][c][k].toFixed(3)}`);
    }
  };
  await Promise.all(Array.from({ length: EVAL_JOBS }, worker));
  return acc;
}

// --model DIR: evaluate that checkpoint on freshly written items and stop (no training, no results file).
if (flag('model') !== undefined) {
  await evaluateAll([{ dir: path.resolve(flag('model')), label: flag('model') }]);
  process.exit(0);
}

/** The model and its training, by steps (not minutes), so that the results do not depend on the machine's load. */
const TRAIN = {
  'vocab-size': Number(flag('vocab-size', '1024')),
  'n-layer': Number(flag('n-layer', '2')),
  'n-head': Number(flag('n-head', '4')),
  'n-embd': Number(flag('n-embd', '64')),
  'block-size': Number(flag('block-size', '64')),
  'batch-size': Number(flag('batch-size', '32')),
  steps: Number(steps),
  lr: Number(flag('lr', '3e-3')),
  'warmup-steps': 100,
};
const runs = [];
for (const seed of seeds) {
  const started = performance.now();
  const dir = path.join(out, `seed${seed}`);
  // A rerun (e.g. after an evaluation failed) reuses a finished training run of the same settings and data.
  const doneFile = path.join(dir, 'icl-trained.json');
  const settings = { ...TRAIN, seed, data };
  const done = existsSync(doneFile) ? JSON.parse(readFileSync(doneFile, 'utf8')) : undefined;
  const reuse = done !== undefined && JSON.stringify(done.settings) === JSON.stringify(settings);
  await waitForCli();
  const model = reuse
    ? path.join(dir, 'checkpoints', readFileSync(path.join(dir, 'checkpoints/LATEST'), 'utf8').trim())
    : kit.pretrainRun(dir, {
        corpus: `jsonl:${path.join(out, 'corpus.jsonl')}`,
        'cache-dir': path.join(out, 'cache'),
        ...TRAIN,
        seed,
        'eval-every': 1000000,
        'sample-tokens': 0,
        'checkpoint-every': 1000000,
        'log-every': 50,
      });
  // A reused run's training time is the one measured when it trained.
  const trainS = reuse ? done.train_s : Math.round((performance.now() - started) / 1000);
  if (reuse) console.error(`seed ${seed}: reusing the finished training run in ${dir}`);
  else writeFileSync(doneFile, JSON.stringify({ settings, train_s: trainS }));
  runs.push({ seed, train_s: trainS, reused_training: reuse, model });
}
const accs = await evaluateAll(runs.map((r) => ({ dir: r.model, label: `seed ${r.seed}` })));
/** The run's final validation loss: the in-context phase change shows as a drop of it (a seed without it stays higher). */
const finalValLoss = (seed) =>
  readFileSync(path.join(out, `seed${seed}`, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
    .filter((m) => m.type === 'eval')
    .pop()?.val_loss;
runs.forEach((r, i) => Object.assign(r, { acc: accs[i], val_loss: finalValLoss(r.seed), model: path.relative(kit.root, r.model) }));

const byK = (c) => KS.map((k) => ({ k, ...kit.stats(runs.map((r) => r.acc[c][k])) }));

/**
 * Where accuracy exceeds k = 0's by more than 2 sd: the sd of the per-seed differences, or the prompts' sampling
 * error (binomial, the same prompts for every seed) where larger.
 */
function effects(c) {
  const base = byK(c)[0];
  return KS.slice(1).map((k, i) => {
    const d = kit.stats(runs.map((r) => r.acc[c][k] - r.acc[c][0]));
    const mk = byK(c)[i + 1].m;
    const itemSe = Math.sqrt((base.m * (1 - base.m) + mk * (1 - mk)) / nItems);
    return { k, delta: d.m, two_sd: 2 * Math.max(d.sd, itemSe) };
  });
}
const effectLine = (c, name) => {
  const es = effects(c);
  const beyond = es.filter((e) => e.delta > e.two_sd).map((e) => e.k);
  const detail = es.map((e) => `k=${e.k} ${(100 * e.delta).toFixed(1)} (2 sd ${(100 * e.two_sd).toFixed(1)})`).join(', ');
  return `${name}: above k = 0 beyond 2 sd at k = ${beyond.join(', ') || 'none'} (Δ points: ${detail}).`;
};
const trainS = runs.map((r) => r.train_s);
const results = {
  command: `pnpm experiment:icl --seeds ${seeds.join(',')} --steps ${steps} --items ${nItems}`,
  seeds,
  // This invocation's time plus the training time of the runs it reused: what one sequential run costs.
  wall_s: Math.round((performance.now() - t0) / 1000) + runs.reduce((sum, r) => sum + (r.reused_training ? r.train_s : 0), 0),
  machine: machineNote,
  tables: {
    icl: {
      columns: ['k (solved examples in the prompt)', 'query word may be among them: acc %', 'query word never among them: acc %'],
      rows: KS.map((k, i) => [k, kit.pctMeanSd(byK('seen')[i]), kit.pctMeanSd(byK('novel')[i])]),
      note:
        `Mean ± sd over seeds ${seeds.join(', ')}; ${nItems} prompts per k and column, each a fresh task (2 of ${CATEGORIES.length} WordNet ` +
        `noun categories, 2 of ${LABELS.length} label words, a random mapping); 2 options, chance 50 %. Model: ` +
        `${TRAIN['n-layer']} layers × ${TRAIN['n-embd']}, context ${TRAIN['block-size']}, ${steps} steps × ${TRAIN['batch-size']} × ` +
        `${TRAIN['block-size']} tokens on ${DOCS} documents of ${LINES_PER_DOC} "word label," pairs; training took ` +
        `${Math.min(...trainS)}–${Math.max(...trainS)} s per seed on the machine below. ` +
        effectLine('seen', 'Query word may be among the shots') +
        ' ' +
        effectLine('novel', 'Never among them'),
    },
    per_seed: {
      columns: ['seed', 'final validation loss (nats/token)', 'query word', ...KS.map((k) => `k = ${k}: acc %`)],
      rows: runs.flatMap((r) =>
        CONDITIONS.map((c) => [
          r.seed,
          r.val_loss,
          c === 'seen' ? 'may be among the shots' : 'never among them',
          ...KS.map((k) => (100 * r.acc[c][k]).toFixed(1)),
        ]),
      ),
      note: 'Each training seed on its own: in-context learning appears abruptly, at a seed-dependent step, and a seed that has not crossed by the end stays at chance for every k.',
    },
  },
  train: TRAIN,
  effects: Object.fromEntries(CONDITIONS.map((c) => [c, effects(c)])),
  runs,
  data,
};
const svg = kit.accuracyPlot(
  CONDITIONS.map((c) => ({
    name: c === 'seen' ? 'query word may be among the shots' : 'query word never among the shots',
    points: byK(c).map(({ k, m, sd }) => ({ x: Math.log2(k + 1), label: String(k), m, sd })),
  })),
  { xTitle: 'k, solved examples in the prompt (log scale)', yTitle: 'accuracy (mean ± sd over seeds)', chance: 0.5 },
);
// A pilot writing elsewhere (--results) leaves the READMEs alone.
kit.writeResults(resultsFile, results, svg, pilot);
