// GPT-1 fine-tuning on tiny synthetic tasks: each input transformation trains, the head learns, and the
// auxiliary LM loss is part of the objective only when λ > 0.
import { initBackend, tf } from '@gptlab/tensor';
import { GPT, getPreset } from '@gptlab/model';
import { BPETokenizer } from '@gptlab/tokenizer';
import { finetune, prepareForTasks } from '../src/finetune/finetune';
import type { TaskDataset } from '../src/finetune/wordnet-tasks';
import type { TaskExample } from '../src/finetune/formats';

beforeAll(() => initBackend());

const words = ['apple pear plum', 'stone rock sand', 'river lake sea', 'cat dog cow'];
const tok = BPETokenizer.train(words.flatMap((w) => [w, w.toUpperCase()]).concat(['yes no maybe a b c']), { vocabSize: 300, minFrequency: 1 });

function clsData(n: number): TaskExample[] {
  // Label = which of two word families the text comes from: learnable in a few steps.
  return Array.from({ length: n }, (_, i) => ({ kind: 'cls' as const, text: i % 2 ? 'apple pear plum' : 'stone rock sand', label: i % 2 }));
}

function model() {
  const t = BPETokenizer.fromJSON(tok.toJSON());
  const m = GPT.create(getPreset('nano', { vocabSize: t.vocabSize, nPositions: 32 }), { seed: 1 });
  prepareForTasks(m, t);
  return { m, t };
}

it('classification: the head learns a separable task; tensors do not leak across steps', async () => {
  const { m, t } = model();
  const ds: TaskDataset = { kind: 'cls', labels: ['a', 'b'], train: clsData(32), dev: clsData(8), test: clsData(8) };
  const counts: number[] = [];
  const r = await finetune(m, ds, t, { epochs: 4, batchSize: 8, lr: 3e-3, seed: 1, onStep: () => counts.push(tf.memory().numTensors) });
  expect(r.steps).toBe(16);
  expect(r.dev).toBe(1);
  expect(r.test).toBe(1);
  expect(new Set(counts.slice(2)).size).toBe(1);
  expect(r.history.every((h) => h.lmLoss > 0)).toBe(true);
  r.head.dispose();
  m.dispose();
});

it('λ = 0 drops the LM term; entailment, similarity and multiple choice run end to end', async () => {
  const { m, t } = model();
  const entail: TaskDataset = {
    kind: 'entail',
    labels: ['no', 'yes'],
    train: Array.from({ length: 8 }, (_, i) => ({ kind: 'entail' as const, premise: 'cat dog', hypothesis: i % 2 ? 'cow' : 'sea', label: i % 2 })),
    dev: [],
    test: [],
  };
  const r1 = await finetune(m, entail, t, { epochs: 1, batchSize: 4, auxLmWeight: 0, seed: 2 });
  expect(r1.history.every((h) => h.loss === h.taskLoss)).toBe(true);
  const sim: TaskDataset = { kind: 'sim', labels: ['no', 'yes'], train: [{ kind: 'sim', a: 'river', b: 'lake', label: 1 }, { kind: 'sim', a: 'cat', b: 'rock', label: 0 }], dev: [{ kind: 'sim', a: 'sea', b: 'lake', label: 1 }], test: [] };
  const r2 = await finetune(m, sim, t, { epochs: 1, batchSize: 2, seed: 3 });
  expect(r2.steps).toBe(1);
  expect([0, 1]).toContain(r2.dev);
  const mc: TaskDataset = { kind: 'mc', labels: ['1', '2', '3'], train: [{ kind: 'mc', context: 'cat', options: ['dog', 'sea', 'rock'], label: 0 }], dev: [{ kind: 'mc', context: 'cow', options: ['sand', 'dog', 'lake'], label: 1 }], test: [] };
  const r3 = await finetune(m, mc, t, { epochs: 2, batchSize: 1, seed: 4 });
  expect(r3.head.nClasses).toBe(1);
  expect(r3.steps).toBe(2);
  for (const r of [r1, r2, r3]) r.head.dispose();
  m.dispose();
});
