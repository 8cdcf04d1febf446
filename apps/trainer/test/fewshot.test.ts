import { tf, initBackend } from '@gptlab/tensor';
import { buildPrompt, completionLogProb, evaluateFewShot } from '../src/evaluation/fewshot';

beforeAll(() => initBackend());

// A fixed bigram "model": logits[t] depend only on the current token, from a table.
function bigramModel(V: number, table: number[][]) {
  return {
    config: { nPositions: 16 },
    forward(ids: tf.Tensor2D) {
      return tf.tidy(() => ({
        logits: tf.reshape(tf.gather(tf.tensor2d(table), tf.reshape(ids, [-1])), [ids.shape[0], ids.shape[1], V]) as tf.Tensor3D,
      }));
    },
  };
}

it('builds GPT-3 style prompts', () => {
  const task = { description: 'Name the category.', separator: '=>' };
  const p = buildPrompt(task, [{ input: 'dog', options: ['animal', 'plant'], answer: 0 }], { input: 'oak', options: [], answer: 0 });
  expect(p).toBe('Name the category.\n\ndog => animal\noak =>');
});

it('completionLogProb sums the log-probabilities of the completion tokens', () => {
  const V = 3;
  const table = [
    [0, 1, 2],
    [2, 0, 1],
    [1, 2, 0],
  ];
  const m = bigramModel(V, table);
  const lsm = (row: number[]) => row.map((x) => x - Math.log(row.reduce((s, v) => s + Math.exp(v), 0)));
  const r = completionLogProb(m, [0], [2, 1]);
  const expected = lsm(table[0]!)[2]! + lsm(table[2]!)[1]!;
  expect(r.sum).toBeCloseTo(expected, 5);
  expect(r.mean).toBeCloseTo(expected / 2, 5);
  expect(() => completionLogProb(m, [0], [])).toThrow(/empty completion/);
});

it('evaluateFewShot picks the option the model prefers and leaks nothing', () => {
  // Tokens: characters 'a'→0, 'b'→1, ' '→2. The model strongly predicts 'a' after ' '.
  const V = 3;
  const table = [
    [0, 0, 0],
    [0, 0, 0],
    [5, 0, 0],
  ];
  const m = bigramModel(V, table);
  const tok = { encode: (t: string) => Array.from(t.replace(/[^ab ]/g, ''), (c) => (c === 'a' ? 0 : c === 'b' ? 1 : 2)) };
  const items = [
    { input: 'a', options: ['b', 'a'], answer: 1 },
    { input: 'b', options: ['a', 'b'], answer: 0 },
    { input: 'ab', options: ['b', 'a'], answer: 0 },
  ];
  const task = { name: 't', description: '', separator: '=>', items };
  const before = tf.memory().numTensors;
  const r = evaluateFewShot(m, tok, task, 1, items, 1);
  expect(r.accuracy).toBeCloseTo(2 / 3, 6);
  expect(tf.memory().numTensors).toBe(before);
});

it('scores the part of a completion that fits the window', () => {
  const m = bigramModel(3, [
    [0, 1, 2],
    [2, 0, 1],
    [1, 2, 0],
  ]);
  const small = { ...m, config: { nPositions: 4 } };
  const r = completionLogProb(small, [0, 1, 2, 0, 1], [2, 1, 0, 2, 1, 0]);
  expect(r.scored).toBe(4);
  expect(r.tokens).toBe(6);
  const full = completionLogProb(m, [1], [2, 1, 0, 2]); // only the last context token is kept
  expect(r.sum).toBeCloseTo(full.sum, 5);
});
