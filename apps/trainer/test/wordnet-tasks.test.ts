import { buildWordNetTask, splitOf, toChoiceItems } from '../src/finetune/wordnet-tasks';
import { loadWordNet, type Synset } from '@gptlab/data';

const wn = loadWordNet();

describe.each(['cls', 'entail', 'sim', 'mc'] as const)('WordNet task %s', (kind) => {
  const ds = buildWordNetTask(kind, { wordnet: wn, limits: { train: 200, dev: 50, test: 50 }, seed: 7 });
  it('has every split filled with valid labels', () => {
    for (const split of ['train', 'dev', 'test'] as const) {
      expect(ds[split].length).toBeGreaterThan(20);
      for (const e of ds[split]) {
        expect(e.kind).toBe(kind);
        expect(e.label).toBeGreaterThanOrEqual(0);
        expect(e.label).toBeLessThan(ds.labels.length);
      }
    }
  });
  it('is deterministic for a seed', () => {
    const again = buildWordNetTask(kind, { wordnet: wn, limits: { train: 200, dev: 50, test: 50 }, seed: 7 });
    expect(again.dev).toEqual(ds.dev);
  });
  it('converts to k-shot choice items', () => {
    const c = toChoiceItems(ds);
    const items = c.items('dev');
    expect(items.length).toBe(ds.dev.length);
    for (const it of items) expect(it.answer).toBeLessThan(it.options.length);
  });
});

it('splits by synset: a cls definition in test never appears in train', () => {
  const ds = buildWordNetTask('cls', { wordnet: wn, limits: { train: 5000, dev: 1000, test: 1000 }, seed: 1 });
  const train = new Set(ds.train.map((e) => (e as { text: string }).text));
  const leaked = ds.test.filter((e) => train.has((e as { text: string }).text)).length;
  // Identical definitions can exist in distinct synsets; they must stay rare.
  expect(leaked / ds.test.length).toBeLessThan(0.01);
  expect(['train', 'dev', 'test']).toContain(splitOf('n00001740'));
});

it('entailment is balanced and true hypotheses name a real hypernym', () => {
  const ds = buildWordNetTask('entail', { wordnet: wn, limits: { train: 400 }, seed: 3 });
  const pos = ds.train.filter((e) => e.label === 1).length / ds.train.length;
  expect(pos).toBeGreaterThan(0.35);
  expect(pos).toBeLessThan(0.65);
  // The premise "X: definition" names one noun synset; "X is a kind of Y." is entailed iff Y is a word of one
  // of its hypernyms.
  const byPremise = new Map<string, Synset[]>();
  for (const s of wn.synsets) {
    if (s.pos !== 'n' || !s.words.length) continue;
    const key = `${s.words[0]}: ${s.definition.replace(/\s+/g, ' ').trim()}`;
    byPremise.set(key, [...(byPremise.get(key) ?? []), s]);
  }
  for (const e of ds.train) {
    const { premise, hypothesis, label } = e as { premise: string; hypothesis: string; label: number };
    const m = /^(.+) is a kind of (.+)\.$/.exec(hypothesis);
    expect(m).not.toBeNull();
    const [, x, y] = m!;
    expect(premise.startsWith(`${x}: `)).toBe(true);
    const anchors = byPremise.get(premise);
    expect(anchors?.length).toBeGreaterThan(0);
    const hypernymWords = new Set(anchors!.flatMap((s) => s.hypernyms.flatMap((h) => wn.get(h)?.words ?? [])));
    if (label === 1) expect(hypernymWords.has(y!)).toBe(true);
    else expect(anchors!.every((s) => wn.get(s.hypernyms[0]!)?.words[0] !== y)).toBe(true);
  }
});
