import { buildWordNetTask, splitOf, toChoiceItems } from '../src/finetune/wordnet-tasks';
import { loadWordNet } from '@gptlab/data';

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
});
