// The lm-eval-style harness against an independent float64 PyTorch computation (fixtures/eval/reference.json,
// written by fixtures/eval/make_reference.py), plus its splitting rules, windows, CLI output and bad input.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tf } from '@gptlab/tensor';
import { encodePair, loglikelihoods } from '../src/evaluation/loglikelihood';
import { evaluateMultipleChoice, meanStderr, readMultipleChoiceFile } from '../src/evaluation/multiple-choice';
import { FEWSHOT_DELIMITER, withFewShotPrompts } from '../src/evaluation/fewshot-prompts';
import { evaluateLastWord, readLastWordFile, splitLastWord } from '../src/evaluation/last-word';
import { rollingPerplexity, rollingWindows } from '../src/evaluation/rolling-perplexity';
import { runIn, TINY_MODEL, useTinyModel } from './eval-helpers';

const FIXTURES = path.join(__dirname, 'fixtures', 'eval');
const TASKS = path.join(FIXTURES, 'tasks.jsonl');
const TEXT = path.join(FIXTURES, 'text.txt');

interface Reference {
  samples: { loglikelihoods: number[]; pred: number; pred_norm: number; loglikelihoods_uncond: number[]; pred_uncond: number }[];
  last_word: { loglikelihood: number; is_greedy: boolean }[];
  rolling: { stride: number; tokens: number; nll: number; perplexity: number; bits_per_byte: number }[];
}
const reference = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'reference.json'), 'utf8')) as Reference;

function expectRelClose(actual: number, expected: number, rel = 1e-4): void {
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(rel * Math.abs(expected));
}

const env = useTinyModel('eval-harness');

describe('against the float64 PyTorch reference', () => {
  test.each([1, 3, 16])('multiple-choice loglikelihoods within 1e-4 relative, same predictions (batch %i)', (batchSize) => {
    const items = readMultipleChoiceFile(TASKS);
    evaluateMultipleChoice(env.model, env.tok, items, { batchSize }); // warm-up: the env.model may cache tensors on first use
    const before = tf.memory().numTensors;
    const r = evaluateMultipleChoice(env.model, env.tok, items, { batchSize });
    expect(tf.memory().numTensors).toBe(before);
    expect(r.samples).toHaveLength(reference.samples.length);
    r.samples.forEach((s, i) => {
      const ref = reference.samples[i]!;
      expect(s.loglikelihoods).toHaveLength(ref.loglikelihoods.length);
      s.loglikelihoods.forEach((ll, j) => expectRelClose(ll, ref.loglikelihoods[j]!));
      expect([s.pred, s.pred_norm]).toEqual([ref.pred, ref.pred_norm]);
    });
  });

  test.each([1, 4])('--uncond: "Answer:" loglikelihoods within 1e-4 relative, same pred_uncond (batch %i)', (batchSize) => {
    const r = evaluateMultipleChoice(env.model, env.tok, readMultipleChoiceFile(TASKS), { batchSize, unconditional: true });
    r.samples.forEach((s, i) => {
      const ref = reference.samples[i]!;
      s.loglikelihoods_uncond!.forEach((ll, j) => expectRelClose(ll, ref.loglikelihoods_uncond[j]!));
      expect([s.pred, s.pred_norm, s.pred_uncond]).toEqual([ref.pred, ref.pred_norm, ref.pred_uncond]);
    });
    // The fixture is chosen so that the unconditional score changes some answers: the check can fail.
    expect(reference.samples.some((ref) => ref.pred_uncond !== ref.pred)).toBe(true);
  });

  test.each(reference.rolling.map((r) => [r.stride, r] as const))('rolling perplexity, stride %i', (stride, ref) => {
    const text = fs.readFileSync(TEXT, 'utf8');
    rollingPerplexity(env.model, env.tok.encode(text), stride, Buffer.byteLength(text)); // warm-up, as above
    const before = tf.memory().numTensors;
    const r = rollingPerplexity(env.model, env.tok.encode(text), stride, Buffer.byteLength(text));
    expect(tf.memory().numTensors).toBe(before);
    expect(r.tokens).toBe(ref.tokens);
    expectRelClose(r.nll, ref.nll);
    expectRelClose(r.perplexity, ref.perplexity, 1e-3);
    expectRelClose(r.bits_per_byte, ref.bits_per_byte);
  });
});

test('last-word (LAMBADA-style) loglikelihoods and greedy matches equal the reference', () => {
  const r = evaluateLastWord(env.model, env.tok, readLastWordFile(path.join(FIXTURES, 'last-word.jsonl')), 4);
  expect(r.n).toBe(reference.last_word.length);
  r.samples.forEach((s, i) => {
    expectRelClose(s.loglikelihood, reference.last_word[i]!.loglikelihood);
    expect(s.is_greedy).toBe(reference.last_word[i]!.is_greedy);
  });
  const meanLL = reference.last_word.reduce((sum, s) => sum + s.loglikelihood, 0) / r.n;
  expectRelClose(r.perplexity, Math.exp(-meanLL), 1e-3);
});

describe('scoring rules', () => {
  test('is_greedy holds exactly for the continuation greedy decoding produces', () => {
    const context = [40, 41, 42];
    const next = tf.tidy(() => {
      const { logits } = env.model.forward(tf.tensor2d([context], [1, 3], 'int32'));
      return tf.argMax(tf.reshape(tf.slice(logits, [0, 2, 0], [1, 1, -1]), [-1])).dataSync()[0]!;
    });
    const [hit, miss] = loglikelihoods(env.model, [
      { context, continuation: [next] },
      { context, continuation: [(next + 1) % env.model.config.vocabSize] },
    ]);
    expect([hit!.isGreedy, miss!.isGreedy]).toEqual([true, false]);
    expect(hit!.loglikelihood).toBeGreaterThan(miss!.loglikelihood);
  });

  test('last word: split at the last whitespace, the space kept with the word', () => {
    expect(splitLastWord(' She said  hello \n')).toEqual({ context: 'She said', target: ' hello' });
  });

  // A character-level tokenizer, except that "ab" is one token: lets the boundary rules be seen exactly.
  const charTok = { encode: (t: string) => (t.match(/ab|./gs) ?? []).map((c) => (c === 'ab' ? 1000 : c.charCodeAt(0))) };

  test('trailing whitespace of the context moves to the continuation', () => {
    expect(encodePair(charTok, 'x: ', 'y')).toEqual({ context: [120, 58], continuation: [32, 121] });
  });

  test('a merge across the boundary: context and continuation are encoded separately', () => {
    // encode("a" + "b") = [ab] does not start with encode("a") = [a]
    expect(encodePair(charTok, 'a', 'bc')).toEqual({ context: [97], continuation: [98, 99] });
  });

  test('an empty context conditions on the end-of-text token', () => {
    expect(encodePair(charTok, '', 'q', 7)).toEqual({ context: [7], continuation: [113] });
    expect(() => encodePair(charTok, '', 'q')).toThrow(/no end-of-text token/);
  });

  test('a continuation longer than the window is refused; a long context is cut from the left', () => {
    const n = env.model.config.nPositions;
    expect(() => loglikelihoods(env.model, [{ context: [1], continuation: new Array(n + 1).fill(2) }])).toThrow(/continuation/);
    const long = Array.from({ length: 3 * n }, (_, i) => 10 + (i % 50));
    const [cut] = loglikelihoods(env.model, [{ context: long, continuation: [5, 6] }]);
    const [tail] = loglikelihoods(env.model, [{ context: long.slice(-(n - 1)), continuation: [5, 6] }]);
    expect(cut!.loglikelihood).toBeCloseTo(tail!.loglikelihood, 5);
  });

  test('rolling windows score each token at most once, every one but the first when they overlap', () => {
    for (const [len, max, stride] of [
      [1079, 128, 32],
      [300, 128, 128],
      [50, 128, 16],
      [129, 128, 1],
    ] as const) {
      const seen = new Array(len).fill(0);
      for (const w of rollingWindows(len, max, stride)) {
        expect(w.end - w.begin).toBeLessThanOrEqual(max);
        for (let t = w.end - w.targets; t < w.end; t++) seen[t]++;
      }
      expect(seen[0]).toBe(0);
      // Overlapping windows score every other token once; disjoint ones skip each window's first token.
      if (stride < max) expect(seen.slice(1).every((c) => c === 1)).toBe(true);
      else expect(seen.every((c, t) => c === (t % max === 0 ? 0 : 1))).toBe(true);
    }
    expect(() => rollingWindows(10, 8, 9)).toThrow(/exceeds/);
  });

  test('stderr as lm-eval computes it: sample std / sqrt(n)', () => {
    expect(meanStderr([1, 0, 1, 0])).toBeCloseTo(Math.sqrt(1 / 3) / 2, 12);
    expect(meanStderr([1])).toBeNull();
  });
});

describe('gptlab-train eval --task-file / --text-file', () => {
  test('--json: acc, acc_norm, stderrs, n and samples in file order', async () => {
    const r = await runIn(['eval', '--model', TINY_MODEL, '--task-file', TASKS, '--json', '--uncond']);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as Record<string, unknown> & { samples: { pred: number; pred_norm: number; pred_uncond: number }[] };
    const gold = readMultipleChoiceFile(TASKS).map((it) => it.gold);
    const acc = reference.samples.map((s, i) => (s.pred === gold[i] ? 1 : 0));
    const accNorm = reference.samples.map((s, i) => (s.pred_norm === gold[i] ? 1 : 0));
    expect(out.n).toBe(gold.length);
    expect(out.acc).toBeCloseTo(acc.reduce((a: number, b) => a + b, 0) / gold.length, 12);
    expect(out.acc_norm).toBeCloseTo(accNorm.reduce((a: number, b) => a + b, 0) / gold.length, 12);
    expect(out.acc_stderr).toBeCloseTo(meanStderr(acc)!, 12);
    expect(out.acc_norm_stderr).toBeCloseTo(meanStderr(accNorm)!, 12);
    expect(out.samples.map((s) => s.pred)).toEqual(reference.samples.map((s) => s.pred));
    const accUncond = reference.samples.map((s, i) => (s.pred_uncond === gold[i] ? 1 : 0));
    expect(out.acc_uncond).toBeCloseTo(accUncond.reduce((a: number, b) => a + b, 0) / gold.length, 12);
    expect(out.samples.map((s) => s.pred_uncond)).toEqual(reference.samples.map((s) => s.pred_uncond));
  });

  test('--markdown prints a table', async () => {
    const r = await runIn(['eval', '--model', TINY_MODEL, '--task-file', TASKS, '--markdown', '--uncond']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^\| task \| n \| metric \| value \| stderr \|\n/);
    expect(r.stdout).toMatch(/\| tasks\.jsonl \| 6 \| acc_norm \| 0\.\d{4} \| ± 0\.\d{4} \|/);
    expect(r.stdout).toMatch(/\| tasks\.jsonl \| 6 \| acc_uncond \| 0\.\d{4} \| ± 0\.\d{4} \|/);
  });

  test('--text-file --stride --json', async () => {
    const r = await runIn(['eval', '--model', TINY_MODEL, '--text-file', TEXT, '--stride', '32', '--json']);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { tokens: number; nll: number; perplexity: number; bits_per_byte: number };
    const ref = reference.rolling.find((x) => x.stride === 32)!;
    expect(out.tokens).toBe(ref.tokens);
    expectRelClose(out.nll, ref.nll);
    expectRelClose(out.bits_per_byte, ref.bits_per_byte);
  });

  test.each([
    ['{"choices": ["a"], "gold": 0}', /bad\.jsonl:2: missing field "context"/],
    ['{"context": "c", "gold": 0}', /bad\.jsonl:2: missing field "choices"/],
    ['{"context": "c", "choices": [], "gold": 0}', /bad\.jsonl:2: field "choices" must be a non-empty array/],
    ['{"context": "c", "choices": ["a", ""], "gold": 0}', /bad\.jsonl:2: field "choices"\[1\] must be a non-empty string/],
    ['{"context": "c", "choices": ["a", "b"], "gold": 2}', /bad\.jsonl:2: field "gold" must be a choice index in \[0, 2\), got 2/],
    ['{"context": "c", "choices": ["a"]}', /bad\.jsonl:2: missing field "gold"/],
    ['{"context": "c", "choices": ["a"], "gold": 0', /bad\.jsonl:2: invalid JSON/],
  ])('bad task line %s fails with file:line', async (line, message) => {
    const file = path.join(env.scratch, 'bad.jsonl');
    fs.writeFileSync(file, `{"context": "ok", "choices": ["a", "b"], "gold": 1}\n${line}\n`);
    const r = await runIn(['eval', '--model', TINY_MODEL, '--task-file', file]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n').pop()).toMatch(message);
  });

  test('--last-word-file --json; a one-word passage fails with file:line', async () => {
    const r = await runIn(['eval', '--model', TINY_MODEL, '--last-word-file', path.join(FIXTURES, 'last-word.jsonl'), '--json']);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { acc: number; n: number; samples: unknown[] };
    expect([out.acc, out.n, out.samples.length]).toEqual([0, 5, 5]);
    const file = path.join(env.scratch, 'one-word.jsonl');
    fs.writeFileSync(file, '{"text": "two words"}\n{"text": "one"}\n');
    const bad = await runIn(['eval', '--model', TINY_MODEL, '--last-word-file', file]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/one-word\.jsonl:2: field "text" needs at least two words/);
  });

  test('k-shot prompts: solved train examples before the query, fixed by the seed, never the query itself', () => {
    const items = readMultipleChoiceFile(TASKS);
    const a = withFewShotPrompts(items, items, 2, 5);
    expect(withFewShotPrompts(items, items, 2, 5)).toEqual(a);
    expect(withFewShotPrompts(items, items, 0, 5)).toBe(items);
    a.forEach((it, i) => {
      // No fixture context holds a blank line, so the prompt splits into exactly 2 shots and the query.
      const parts = it.context.split(FEWSHOT_DELIMITER);
      expect(parts).toHaveLength(3);
      expect(parts[2]).toBe(items[i]!.context);
      const solved = items.filter((ex) => ex !== items[i]).map((ex) => ex.context + ex.choices[ex.gold]);
      expect(solved).toEqual(expect.arrayContaining(parts.slice(0, 2)));
      expect(parts[0]).not.toBe(parts[1]);
      expect([it.choices, it.gold]).toEqual([items[i]!.choices, items[i]!.gold]);
    });
    const seeds = [1, 2, 3, 4, 6].map((seed) =>
      withFewShotPrompts(items, items, 2, seed)
        .map((it) => it.context)
        .join('|'),
    );
    expect(new Set(seeds).size).toBeGreaterThan(1);
    expect(() => withFewShotPrompts(items, items, 6, 0)).toThrow(/6 examples asked for, the train split has 5/);
  });

  test('--fewshot-file --shots K --seed S scores the k-shot prompts', async () => {
    const args = ['eval', '--model', TINY_MODEL, '--task-file', TASKS, '--fewshot-file', TASKS, '--json'];
    const r = await runIn([...args, '--shots', '2', '--seed', '3']);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { n: number; samples: { loglikelihoods: number[] }[] };
    const expected = evaluateMultipleChoice(
      env.model,
      env.tok,
      withFewShotPrompts(readMultipleChoiceFile(TASKS), readMultipleChoiceFile(TASKS), 2, 3),
    );
    out.samples.forEach((s, i) => s.loglikelihoods.forEach((ll, j) => expectRelClose(ll, expected.samples[i]!.loglikelihoods[j]!, 1e-6)));
    expect(out.samples[0]!.loglikelihoods).not.toEqual(reference.samples[0]!.loglikelihoods);
    const many = await runIn(args);
    expect(many.code).toBe(2);
    expect(many.stderr).toMatch(/--shots: give one k/);
  });

  test('flag misuse is a usage error', async () => {
    const both = await runIn(['eval', '--model', TINY_MODEL, '--task-file', TASKS, '--text-file', TEXT]);
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/give one of them/);
    const wide = await runIn(['eval', '--model', TINY_MODEL, '--text-file', TEXT, '--stride', '129']);
    expect(wide.code).toBe(2);
    expect(wide.stderr).toMatch(/--stride: 129 exceeds/);
  });
});
