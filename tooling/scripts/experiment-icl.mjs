#!/usr/bin/env node
// `pnpm experiment:icl`: in-context learning (GPT-3 §3, Fig. 1.2) in miniature — k-shot accuracy that rises with
// k, from a model gptlab trains in minutes (issue #17, phenomenon 1).
//
// Design. In-context learning can only pay off in training when the context holds information the weights
// cannot: so every training document is many same-format examples `word: label;` of ONE task whose label
// mapping is drawn afresh for that document. A document picks two of four WordNet noun categories (animal,
// plant, person, location — a word's category never changes, so the weights can learn it) and two label words
// from a pool of 24 (red, north, seven, …) and assigns them at random: "oak: north; cat: red; fir: north; …".
// Which label goes with which category is nowhere but in the document's earlier examples, so the only way to
// predict a label better than a coin is to read them. Documents are bursty (each category contributes only 6
// words, which recur), the property Chan et al. (2022) found to make in-context learning emerge. At evaluation a
// prompt is k solved examples of a fresh task and a query word; the options are the two labels (chance 50 %),
// scored by log-likelihood with `gptlab-train eval --task-file`. Two conditions: the query word may occur among
// the shots (as in training), or never does (only its category-mates do: generalisation by category).
//   node tooling/scripts/experiment-icl.mjs [--seeds 0,1,2] [--minutes 4] [--items 200] [--out runs/experiments]
//   node tooling/scripts/experiment-icl.mjs --model CHECKPOINT   (evaluate a checkpoint only)
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadWordNet } from '../../packages/data/dist/index.js';
import * as kit from './experiment-kit.mjs';

const { flag, out, seeds, nItems, resultsFile, pilot } = kit.experimentSetup('icl', { seeds: '0,1,2', items: '200' });
const minutes = flag('minutes', '4');
const KS = [0, 1, 2, 4, 8, 16];
const CATEGORIES = ['noun.animal', 'noun.plant', 'noun.person', 'noun.location'];
const WORDS_PER_CATEGORY = 60;
/** Words of each category a training document draws from: few, so they recur within it (bursty, see above). */
const DOC_WORDS_PER_CATEGORY = 6;
const LABELS =
  'red blue green black white gold north south east west one two three seven nine ten up down left right sun moon rain snow'.split(' ');
const LINES_PER_DOC = 24;
const DOCS = 12000;

/** Category → words: single lowercase words of one category only (a word in two categories would be ambiguous). */
function categoryWords(rand) {
  const seen = new Map();
  for (const s of loadWordNet().synsets) {
    if (!CATEGORIES.includes(s.lexname)) continue;
    for (const w of s.words) if (/^[a-z]{3,9}$/.test(w)) seen.set(w, seen.has(w) && seen.get(w) !== s.lexname ? null : s.lexname);
  }
  return CATEGORIES.map((c) => {
    const words = [...seen].filter(([, cat]) => cat === c).map(([w]) => w);
    for (let i = words.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [words[i], words[j]] = [words[j], words[i]];
    }
    return words.slice(0, WORDS_PER_CATEGORY);
  });
}

/**
 * A fresh task: two categories, two labels, one of the two assignments; `example(exclude)` draws a line from it.
 * `subset` > 0 limits each category to that many of its words (the training documents' burstiness).
 */
function task(words, rand, subset = 0) {
  const pick = (n) => Math.floor(rand() * n);
  const a = pick(words.length);
  let b = pick(words.length - 1);
  if (b >= a) b++;
  const la = pick(LABELS.length);
  let lb = pick(LABELS.length - 1);
  if (lb >= la) lb++;
  const labels = [LABELS[la], LABELS[lb]];
  const pools = [a, b].map((c) => (subset > 0 ? Array.from({ length: subset }, () => words[c][pick(words[c].length)]) : words[c]));
  const example = (exclude) => {
    for (;;) {
      const c = pick(2);
      const w = pools[c][pick(pools[c].length)];
      if (w !== exclude) return { word: w, label: labels[c] };
    }
  };
  return { example, labels };
}

// One line per document: the data pipeline's repeated-line filter (Gopher's) would drop a bursty document
// written one example per line.
const shot = (e) => `${e.word}: ${e.label};`;
const CONDITIONS = ['seen', 'novel'];
const itemsFile = (k, condition) => path.join(out, `items-k${k}-${condition}.jsonl`);

function writeData() {
  const rand = kit.rng(23);
  const words = categoryWords(rand);
  const docs = [];
  for (let d = 0; d < DOCS; d++) {
    const t = task(words, rand, DOC_WORDS_PER_CATEGORY);
    const lines = Array.from({ length: LINES_PER_DOC }, () => t.example());
    docs.push(JSON.stringify({ text: lines.map(shot).join(' ') }));
  }
  writeFileSync(path.join(out, 'corpus.jsonl'), docs.join('\n') + '\n');
  // Item files per k and condition; every prompt is a fresh task (its own categories, labels and mapping).
  // "seen": drawn like a training document (each category's few words), so the query word may be among the
  // shots; "novel": the query word is never among them, only words of its category are.
  const evalRand = kit.rng(991);
  for (const k of KS) {
    for (const condition of CONDITIONS) {
      const items = Array.from({ length: nItems }, () => {
        const t = task(words, evalRand, condition === 'seen' ? DOC_WORDS_PER_CATEGORY : 0);
        const query = t.example();
        const shots = Array.from({ length: k }, () => t.example(condition === 'novel' ? query.word : undefined));
        const context = [...shots.map(shot), `${query.word}:`].join(' ');
        // The choice carries the example's closing ";": BPE may have merged "north;" into one token in training.
        return { context, choices: t.labels.map((l) => ` ${l};`), gold: t.labels.indexOf(query.label) };
      });
      writeFileSync(itemsFile(k, condition), items.map((it) => JSON.stringify(it)).join('\n') + '\n');
    }
  }
  return { words_per_category: words.map((w) => w.length), documents: DOCS, lines_per_document: LINES_PER_DOC };
}

const t0 = performance.now();
const machineNote = kit.machine();
const data = writeData();
/** Accuracy per condition and k of one model. */
function evaluate(model, label) {
  const acc = Object.fromEntries(CONDITIONS.map((c) => [c, {}]));
  for (const k of KS) {
    for (const c of CONDITIONS) {
      acc[c][k] = kit.evalTaskFile(model, itemsFile(k, c)).acc;
      console.error(`${label} k=${k} ${c}: acc ${acc[c][k].toFixed(3)}`);
    }
  }
  return acc;
}

// --model DIR: evaluate that checkpoint on freshly written items and stop (no training, no results file).
if (flag('model') !== undefined) {
  evaluate(path.resolve(flag('model')), flag('model'));
  process.exit(0);
}

const runs = [];
for (const seed of seeds) {
  const model = kit.pretrainRun(path.join(out, `seed${seed}`), {
    corpus: `jsonl:${path.join(out, 'corpus.jsonl')}`,
    'cache-dir': path.join(out, 'cache'),
    'vocab-size': 512,
    'n-layer': 2,
    'n-head': 4,
    'n-embd': 64,
    'block-size': 128,
    'batch-size': 16,
    minutes,
    steps: 100000, // the time budget sets the step count (and the cosine schedule) after a few steps
    lr: 3e-3,
    'warmup-steps': 50,
    seed,
    'eval-every': 1000000,
    'sample-tokens': 0,
    'checkpoint-every': 1000000,
  });
  runs.push({ seed, acc: evaluate(model, `seed ${seed}`), model: path.relative(kit.root, model) });
}

const byK = (c) => KS.map((k) => ({ k, ...kit.stats(runs.map((r) => r.acc[c][k])) }));
const results = {
  command: `pnpm experiment:icl --seeds ${seeds.join(',')} --minutes ${minutes} --items ${nItems}`,
  seeds,
  wall_s: Math.round((performance.now() - t0) / 1000),
  machine: machineNote,
  tables: {
    icl: {
      columns: ['k (solved examples in the prompt)', 'query word may be among them: acc %', 'query word never among them: acc %'],
      rows: KS.map((k, i) => [k, kit.pctMeanSd(byK('seen')[i]), kit.pctMeanSd(byK('novel')[i])]),
      note:
        `Mean ± sd over ${seeds.length} seeds; ${nItems} prompts per k and column, each a fresh task (2 of ${CATEGORIES.length} WordNet ` +
        `noun categories, 2 of ${LABELS.length} label words, a random mapping); 2 options, chance 50 %. Model: 2 layers × 64, ` +
        `context 128, ${minutes} min of training per seed on ${DOCS} documents of ${LINES_PER_DOC} "word: label;" examples.`,
    },
  },
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
