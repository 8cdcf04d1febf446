// Real labelled tasks derived from WordNet 3.1 for GPT-1-style fine-tuning and GPT-3-style k-shot evaluation.
// Splits are made by synset (a stable hash of the anchor synset's id), and distractors come from the same
// split, so no synset seen in training appears in dev or test.
//   cls    : a definition → its lexicographer category (e.g. noun.animal)
//   entail : premise = a word's definition; hypothesis "X is a kind of Y." with a true hypernym (1) or a
//            sampled non-hypernym (0)
//   sim    : two definitions of related senses (similar-to / shared lemma synonyms) (1) vs unrelated (0)
//   mc     : a word and four definitions, one of them its own
import { loadWordNet, type Synset, type WordNet } from '@gptlab/data';
import { Rng } from '@gptlab/common';
import type { ChoiceItem } from '../evaluation/fewshot';
import type { TaskExample, TaskKind } from './formats';

export type Split = 'train' | 'dev' | 'test';

export interface TaskDataset {
  kind: TaskKind;
  /** Class names for cls/entail/sim (index = label); for mc, the number of options. */
  labels: string[];
  train: TaskExample[];
  dev: TaskExample[];
  test: TaskExample[];
}

export interface WordNetTaskOptions {
  /** Examples per split at most (train, dev, test), after a seeded shuffle. */
  limits?: { train?: number; dev?: number; test?: number };
  seed?: number;
  /** cls: the categories to use (default: the 8 largest noun categories). */
  categories?: string[];
  wordnet?: WordNet;
}

/** 80/10/10 split by a stable hash of the synset id. */
export function splitOf(id: string): Split {
  let h = 2166136261;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 16777619);
  const r = (h >>> 0) % 10;
  return r < 8 ? 'train' : r === 8 ? 'dev' : 'test';
}

function bySplit(synsets: Synset[]): Record<Split, Synset[]> {
  const out: Record<Split, Synset[]> = { train: [], dev: [], test: [] };
  for (const s of synsets) out[splitOf(s.id)].push(s);
  return out;
}

const clean = (s: string) => s.replace(/\s+/g, ' ').trim();

function limitsOf(opts: WordNetTaskOptions): Record<Split, number> {
  return { train: 2000, dev: 300, test: 300, ...opts.limits };
}

function finish(kind: TaskKind, labels: string[], raw: Record<Split, TaskExample[]>, opts: WordNetTaskOptions, rng: Rng): TaskDataset {
  const lim = limitsOf(opts);
  return {
    kind,
    labels,
    train: rng.shuffle(raw.train).slice(0, lim.train),
    dev: rng.shuffle(raw.dev).slice(0, lim.dev),
    test: rng.shuffle(raw.test).slice(0, lim.test),
  };
}

export function largestNounCategories(wn: WordNet, n: number): string[] {
  const counts = new Map<string, number>();
  for (const s of wn.synsets) if (s.pos === 'n') counts.set(s.lexname, (counts.get(s.lexname) ?? 0) + 1);
  return [...counts.entries()]
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .slice(0, n)
    .map(([k]) => k);
}

export function buildWordNetTask(kind: TaskKind, opts: WordNetTaskOptions = {}): TaskDataset {
  const wn = opts.wordnet ?? loadWordNet();
  const rng = new Rng(opts.seed ?? 1234);
  const lim = limitsOf(opts);
  switch (kind) {
    case 'cls': {
      const cats = opts.categories ?? largestNounCategories(wn, 8);
      const index = new Map(cats.map((c, i) => [c, i]));
      const pool = bySplit(wn.synsets.filter((s) => index.has(s.lexname) && s.definition.length > 0));
      // Balance classes: at most as many per class as the rarest class has in that split.
      const raw = {} as Record<Split, TaskExample[]>;
      for (const split of ['train', 'dev', 'test'] as Split[]) {
        const per = new Map<number, Synset[]>();
        for (const s of rng.shuffle(pool[split].slice())) {
          const l = index.get(s.lexname)!;
          if (!per.has(l)) per.set(l, []);
          per.get(l)!.push(s);
        }
        const cap = Math.min(...cats.map((_, i) => per.get(i)?.length ?? 0));
        raw[split] = [];
        for (const [l, ss] of per) for (const s of ss.slice(0, cap)) raw[split].push({ kind: 'cls', text: clean(s.definition), label: l });
      }
      return finish('cls', cats, raw, opts, rng);
    }
    case 'entail': {
      const nouns = bySplit(wn.synsets.filter((s) => s.pos === 'n' && s.definition && s.hypernyms.length > 0));
      const raw = anchored(nouns, lim, rng, (s, list) => {
        const hyper = wn.get(s.hypernyms[0]!);
        if (!hyper) return null;
        const x = s.words[0]!;
        const positive = rng.next() < 0.5;
        let y = hyper.words[0]!;
        if (!positive) {
          // A noun from the same split that is not a hypernym of s.
          let other: Synset;
          do other = list[rng.int(list.length)]!;
          while (other === s || s.hypernyms.includes(other.id) || other.words[0] === y);
          y = other.words[0]!;
        }
        return { kind: 'entail', premise: `${x}: ${clean(s.definition)}`, hypothesis: `${x} is a kind of ${y}.`, label: positive ? 1 : 0 };
      });
      return finish('entail', ['not entailed', 'entailed'], raw, opts, rng);
    }
    case 'sim': {
      const adjs = bySplit(wn.synsets.filter((s) => (s.pos === 's' || s.pos === 'a') && s.definition && s.similarTo.length > 0));
      const raw = anchored(adjs, lim, rng, (s, list) => {
        const related = wn.get(s.similarTo[0]!);
        if (!related) return null;
        const positive = rng.next() < 0.5;
        let partner = related;
        if (!positive) {
          do partner = list[rng.int(list.length)]!;
          while (partner === s || s.similarTo.includes(partner.id) || partner.similarTo.includes(s.id));
        }
        return { kind: 'sim', a: clean(s.definition), b: clean(partner.definition), label: positive ? 1 : 0 };
      });
      return finish('sim', ['unrelated', 'related'], raw, opts, rng);
    }
    case 'mc': {
      const nouns = bySplit(wn.synsets.filter((s) => s.pos === 'n' && s.definition));
      const raw = anchored(nouns, lim, rng, (s, list) => {
        const word = s.words[0]!;
        const options = [clean(s.definition)];
        while (options.length < 4) {
          const o = list[rng.int(list.length)]!;
          if (o === s || o.words.includes(word)) continue;
          options.push(clean(o.definition));
        }
        const answer = rng.int(4);
        [options[0], options[answer]] = [options[answer]!, options[0]!];
        return { kind: 'mc', context: word, options, label: answer };
      });
      return finish('mc', ['option 1', 'option 2', 'option 3', 'option 4'], raw, opts, rng);
    }
  }
}

/**
 * Examples built around anchor synsets: per split, anchors in a seeded order until the split's limit, each
 * turned into an example (or skipped with null) by `make`, which draws partners from the same split's list.
 */
function anchored(
  pool: Record<Split, Synset[]>,
  lim: Record<Split, number>,
  rng: Rng,
  make: (anchor: Synset, list: Synset[]) => TaskExample | null,
): Record<Split, TaskExample[]> {
  const raw = {} as Record<Split, TaskExample[]>;
  for (const split of ['train', 'dev', 'test'] as Split[]) {
    const list = pool[split];
    raw[split] = [];
    for (const s of rng.shuffle(list.slice())) {
      if (raw[split].length >= lim[split]) break;
      const ex = make(s, list);
      if (ex) raw[split].push(ex);
    }
  }
  return raw;
}

/** The same WordNet tasks as multiple-choice items for k-shot prompting (GPT-3 style). */
export function toChoiceItems(ds: TaskDataset): { description: string; separator: string; items: (split: Split) => ChoiceItem[] } {
  const pretty = (l: string) => l.replace(/^\w+\./, '').replace(/_/g, ' ');
  switch (ds.kind) {
    case 'cls':
      return {
        description: `Name the category of each definition (${ds.labels.map(pretty).join(', ')}).`,
        separator: '=>',
        items: (split) => ds[split].map((e) => ({ input: (e as { text: string }).text, options: ds.labels.map(pretty), answer: e.label })),
      };
    case 'entail':
      return {
        description: 'Does the definition support the statement? Answer yes or no.',
        separator: 'Answer:',
        items: (split) =>
          ds[split].map((e) => {
            const x = e as { premise: string; hypothesis: string; label: number };
            return { input: `${x.premise} Statement: ${x.hypothesis}`, options: ['no', 'yes'], answer: x.label };
          }),
      };
    case 'sim':
      return {
        description: 'Do the two definitions describe related meanings? Answer yes or no.',
        separator: 'Answer:',
        items: (split) =>
          ds[split].map((e) => {
            const x = e as { a: string; b: string; label: number };
            return { input: `"${x.a}" and "${x.b}"`, options: ['no', 'yes'], answer: x.label };
          }),
      };
    case 'mc':
      return {
        description: 'Give the definition of each word.',
        separator: '=>',
        items: (split) =>
          ds[split].map((e) => ({
            input: (e as { context: string }).context,
            options: (e as { options: string[] }).options,
            answer: e.label,
          })),
      };
  }
}
