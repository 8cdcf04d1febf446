#!/usr/bin/env node
// `pnpm experiment:zeroshot`: GPT-2's zero-shot behaviour (Radford et al. 2019, §2.2/§3) in miniature — a task
// induced by a prompt alone, with accuracy growing with model size (issue #17, phenomenon 5).
//
// Design. The training text is a small dictionary written from WordNet: 1,200 noun entries, each its definition
// followed by ONE natural sentence saying what kind of thing it is, in one of three phrasings chosen at random
// ("A dog is a kind of canine." / "Every dog is a canine." / "Among canines is the dog."). Nothing in it is a
// task: no questions, no answer options, no examples. The probe is a cloze prompt in the FIRST phrasing about
// entries whose fact was written in one of the OTHER two: "dog: <definition>. A dog is a kind of" with four
// options — the true hypernym and three others of the dictionary — scored by log-likelihood (gptlab-train eval
// --task-file, lm-eval conventions). The model was never trained to answer that prompt for that word; it has to
// recall a fact it read in another wording, induced by the prompt alone — as GPT-2 answered Natural Questions
// from knowledge in its weights (§3.8), its accuracy growing with size. Three sizes × seeds, the same text,
// steps and batch (about 20 epochs of the dictionary: enough to memorise for a model with the capacity); the table is accuracy (mean ± sd over seeds).
//   node tooling/scripts/experiment-zeroshot.mjs [--seeds 0,1] [--steps 800] [--items 300] [--out runs/experiments]
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadWordNet } from '../../packages/data/dist/index.js';
import * as kit from './experiment-kit.mjs';

const { flag, out, seeds, nItems, resultsFile, pilot } = kit.experimentSetup('zeroshot', { seeds: '0,1', items: '300' });
const steps = flag('steps', '800');
const SIZES = [
  { name: 'S', nLayer: 1, nHead: 2, nEmbd: 32 },
  { name: 'M', nLayer: 2, nHead: 4, nEmbd: 64 },
  { name: 'L', nLayer: 4, nHead: 4, nEmbd: 128 },
];

const DICTIONARY_ENTRIES = 1200;
const article = (w) => (/^[aeiou]/.test(w) ? 'An' : 'A');
const plural = (w) => (/(s|x|z|ch|sh)$/.test(w) ? `${w}es` : /[^aeiou]y$/.test(w) ? `${w.slice(0, -1)}ies` : `${w}s`);

/** Noun synsets with a one-word name, a one-word hypernym and a short definition: {word, hyper, definition}. */
function entries() {
  const wn = loadWordNet();
  const byId = new Map(wn.synsets.map((s) => [s.id, s]));
  const list = [];
  for (const s of wn.synsets) {
    if (s.pos !== 'n' || s.hypernyms.length === 0) continue;
    const word = s.words[0];
    const hyper = byId.get(s.hypernyms[0])?.words[0];
    if (!/^[a-z]{3,}$/.test(word) || !hyper || !/^[a-z]{3,}$/.test(hyper) || hyper === word) continue;
    if (s.definition.length > 90 || new RegExp(`\\b${hyper}\\b`).test(s.definition)) continue; // no answer copied from the prompt
    list.push({ word, hyper, definition: s.definition.replace(/[.;\s]+$/, '') });
  }
  return list;
}

function writeData() {
  const rand = kit.rng(17);
  const all = entries();
  for (let i = all.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [all[i], all[j]] = [all[j], all[i]];
  }
  const dictionary = all.slice(0, DICTIONARY_ENTRIES).map((e) => ({ ...e, phrasing: Math.floor(rand() * 3) }));
  const phrase = [
    (e) => `${article(e.word)} ${e.word} is a kind of ${e.hyper}.`,
    (e) => `Every ${e.word} is ${article(e.hyper).toLowerCase()} ${e.hyper}.`,
    (e) => `Among ${plural(e.hyper)} is the ${e.word}.`,
  ];
  const corpus = dictionary.map((e) => JSON.stringify({ text: `${e.word}: ${e.definition}. ${phrase[e.phrasing](e)}` })).join('\n');
  const hypers = [...new Set(dictionary.map((e) => e.hyper))];
  const items = [];
  for (const e of dictionary.filter((d) => d.phrasing !== 0).slice(0, nItems)) {
    const options = [e.hyper];
    while (options.length < 4) {
      const h = hypers[Math.floor(rand() * hypers.length)];
      if (!options.includes(h)) options.push(h);
    }
    const order = options
      .map((o) => [rand(), o])
      .sort((a, b) => a[0] - b[0])
      .map(([, o]) => o);
    items.push({
      context: `${e.word}: ${e.definition}. ${article(e.word)} ${e.word} is a kind of`,
      choices: order.map((o) => ` ${o}.`), // with the sentence's period, tokenised as in the training text
      gold: order.indexOf(e.hyper),
    });
  }
  writeFileSync(path.join(out, 'corpus.jsonl'), corpus + '\n');
  writeFileSync(path.join(out, 'items.jsonl'), items.map((it) => JSON.stringify(it)).join('\n') + '\n');
  return { dictionaryEntries: dictionary.length, items: items.length, distinctHypernyms: hypers.length };
}

const t0 = performance.now();
const machineNote = kit.machine();
const data = writeData();
const runs = [];
for (const size of SIZES) {
  for (const seed of seeds) {
    const dir = path.join(out, `${size.name}-seed${seed}`);
    // Same text, steps, batch and schedule for every size; --cache-dir shared so the tokenizer and shards are made once.
    const model = kit.pretrainRun(dir, {
      corpus: `jsonl:${path.join(out, 'corpus.jsonl')}`,
      'cache-dir': path.join(out, 'cache'),
      'val-fraction': 0.02, // the validation documents are not read in training: keep them few
      'vocab-size': 1024,
      'n-layer': size.nLayer,
      'n-head': size.nHead,
      'n-embd': size.nEmbd,
      'block-size': 64,
      'batch-size': 16,
      steps,
      lr: 3e-3,
      'warmup-steps': 40,
      seed,
      'eval-every': steps,
      'sample-tokens': 0,
      'checkpoint-every': steps,
    });
    const r = kit.evalTaskFile(model, path.join(out, 'items.jsonl'));
    runs.push({ size: size.name, ...size, seed, acc: r.acc, acc_norm: r.acc_norm, n: r.n, model: path.relative(kit.root, model) });
    console.error(`${size.name} seed ${seed}: acc ${r.acc.toFixed(3)}, acc_norm ${r.acc_norm.toFixed(3)} (n=${r.n})`);
  }
}

const nonEmbedding = (s) => 12 * s.nLayer * s.nEmbd * s.nEmbd; // Kaplan et al.'s N: attention + MLP weights
const rows = SIZES.map((s) => {
  const mine = runs.filter((r) => r.size === s.name);
  return [
    `${s.name} (${s.nLayer}×${s.nEmbd})`,
    nonEmbedding(s),
    kit.pctMeanSd(kit.stats(mine.map((r) => r.acc))),
    kit.pctMeanSd(kit.stats(mine.map((r) => r.acc_norm))),
  ];
});
const results = {
  command: `pnpm experiment:zeroshot --seeds ${seeds.join(',')} --steps ${steps} --items ${nItems}`,
  seeds,
  wall_s: Math.round((performance.now() - t0) / 1000),
  machine: machineNote,
  tables: {
    zeroshot: {
      columns: ['model (layers×width)', 'non-embedding params', 'acc % (mean ± sd)', 'acc_norm % (mean ± sd)'],
      rows,
      note:
        `Zero-shot cloze "WORD: DEFINITION. A WORD is a kind of" → the hypernym among 4 options (chance 25 %), on ${data.items} ` +
        `dictionary entries whose fact the training text states only in another wording; ${data.dictionaryEntries} entries, ` +
        `${steps} steps × 16 × 64 tokens per run.`,
    },
  },
  runs,
  data,
};
const points = SIZES.map((s) => ({
  x: nonEmbedding(s),
  label: nonEmbedding(s).toLocaleString('en-US'),
  ...kit.stats(runs.filter((r) => r.size === s.name).map((r) => r.acc)),
}));
const svg = kit.accuracyPlot([{ name: 'zero-shot accuracy, mean ± sd over seeds', points }], {
  xTitle: 'non-embedding parameters (log scale)',
  yTitle: 'zero-shot accuracy',
  chance: 0.25,
  logX: true,
});
// A pilot writing elsewhere (--results) leaves the READMEs alone.
kit.writeResults(resultsFile, results, svg, pilot);
