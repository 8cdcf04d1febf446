// Built-in harness tasks (`eval --task NAME`): the WordNet multiple-choice tasks as lm-eval items and the Brown
// corpus's held-out files for rolling perplexity and last-word cloze; the CLI output equals the library's.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { brownCategories, brownCorpusPath, brownFileText } from '@gptlab/data';
import { brownHeldOutFiles, brownHeldOutText, brownLastWordPassages } from '../src/evaluation/brown-tasks';
import { wordNetHarnessItems } from '../src/evaluation/builtin-tasks';
import { FEWSHOT_DELIMITER } from '../src/evaluation/fewshot-prompts';
import { evaluateLastWord } from '../src/evaluation/last-word';
import { evaluateMultipleChoice } from '../src/evaluation/multiple-choice';
import { rollingWindows } from '../src/evaluation/rolling-perplexity';
import { runIn, TINY_MODEL, useTinyModel } from './eval-helpers';

const env = useTinyModel('eval-builtin');

describe('Brown held-out set', () => {
  test('the last file of each of the 15 categories, in corpus order', () => {
    const files = brownHeldOutFiles();
    const cats = brownCategories();
    expect(files).toHaveLength(15);
    expect(new Set(files.map((f) => cats.get(f))).size).toBe(15);
    expect(files).toEqual([...files].sort());
    for (const f of files) expect([...cats].filter(([g, c]) => c === cats.get(f) && g > f)).toEqual([]);
    expect(files).toEqual(expect.arrayContaining(['ca44', 'cr09']));
  });

  test('last-word passages: from held-out files, ending on a word the context already holds', () => {
    const passages = brownLastWordPassages(40);
    expect(passages).toHaveLength(40);
    expect(brownLastWordPassages(40)).toEqual(passages);
    expect(new Set(passages).size).toBe(40);
    // Passages may span paragraphs (joined by a space, where the text has a blank line).
    const flat = (t: string) => t.replace(/\s+/g, ' ');
    const heldOut = flat(brownHeldOutText());
    for (const p of passages) {
      const word = p.slice(p.lastIndexOf(' ') + 1);
      expect(word).toMatch(/^[A-Za-z]{3,}$/);
      expect(p.slice(0, p.lastIndexOf(' ')).toLowerCase()).toMatch(new RegExp(`\\b${word.toLowerCase()}\\b`));
      expect(heldOut.includes(p.slice(-40) + '.')).toBe(true);
    }
    // Round-robin over the files: the first passages come from as many different files (genres) as have any.
    const texts = brownHeldOutFiles().map((f) => flat(brownFileText(fs.readFileSync(path.join(brownCorpusPath(), f), 'utf8'))));
    const fileOf = (p: string) => texts.findIndex((t) => t.includes(p.slice(-40) + '.'));
    const all = brownLastWordPassages(10_000);
    const filesWithPassages = new Set(all.map(fileOf)).size;
    expect(filesWithPassages).toBeGreaterThanOrEqual(12); // (fiction's last file, mostly dialogue, has none)
    expect(all.every((p) => fileOf(p) >= 0)).toBe(true);
    expect(new Set(passages.slice(0, filesWithPassages).map(fileOf)).size).toBe(filesWithPassages);
  });
});

describe('gptlab-train eval --task', () => {
  test('wordnet-cls --uncond --json equals the library on the same items', async () => {
    const r = await runIn(['eval', '--model', TINY_MODEL, '--task', 'wordnet-cls', '--limit', '12', '--uncond', '--json']);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as {
      task: string;
      n: number;
      acc: number;
      acc_uncond: number;
      samples: { loglikelihoods: number[] }[];
    };
    const items = wordNetHarnessItems('wordnet-cls', { limit: 12, k: 0, seed: 0 });
    const expected = evaluateMultipleChoice(env.model, env.tok, items, { unconditional: true });
    expect([out.task, out.n]).toEqual(['wordnet-cls', 12]);
    expect(out.samples[0]!.loglikelihoods).toHaveLength(8); // the 8 largest noun categories
    out.samples.forEach((s, i) => s.loglikelihoods.forEach((ll, j) => expect(ll).toBeCloseTo(expected.samples[i]!.loglikelihoods[j]!, 3)));
    expect([out.acc, out.acc_uncond]).toEqual([expected.acc, expected.acc_uncond]);
  });

  test('wordnet k-shot prompts: description, k solved train examples, the query; fixed by the seed', () => {
    const zero = wordNetHarnessItems('wordnet-entail', { limit: 5, k: 0, seed: 0 });
    const two = wordNetHarnessItems('wordnet-entail', { limit: 5, k: 2, seed: 3 });
    expect(wordNetHarnessItems('wordnet-entail', { limit: 5, k: 2, seed: 3 })).toEqual(two);
    two.forEach((it, i) => {
      const parts = it.context.split(FEWSHOT_DELIMITER);
      expect(parts).toHaveLength(4);
      expect(parts[0]).toMatch(/^Does the definition support the statement\?/);
      for (const shot of parts.slice(1, 3)) expect(shot).toMatch(/ Answer: (yes|no)$/);
      expect(FEWSHOT_DELIMITER + parts[3]).toBe(zero[i]!.context.slice(zero[i]!.context.indexOf(FEWSHOT_DELIMITER)));
      expect([it.choices, it.gold]).toEqual([[' no', ' yes'], zero[i]!.gold]);
    });
  });

  test('brown-lastword --json equals evaluateLastWord on the held-out passages', async () => {
    const r = await runIn(['eval', '--model', TINY_MODEL, '--task', 'brown-lastword', '--limit', '6', '--json']);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { lastWords: string; n: number; samples: { loglikelihood: number }[] };
    const expected = evaluateLastWord(env.model, env.tok, brownLastWordPassages(6));
    expect([out.lastWords, out.n]).toEqual(['brown-lastword', 6]);
    out.samples.forEach((s, i) => expect(s.loglikelihood).toBeCloseTo(expected.samples[i]!.loglikelihood, 3));
  });

  test('brown-perplexity --stride --json scores every held-out token once', async () => {
    const r = await runIn(['eval', '--model', TINY_MODEL, '--task', 'brown-perplexity', '--stride', '128', '--json']);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { text: string; tokens: number; nll: number; perplexity: number; bits_per_byte: number };
    const text = brownHeldOutText();
    const scored = rollingWindows(env.tok.encode(text).length, 128, 128).reduce((s, w) => s + w.targets, 0);
    expect([out.text, out.tokens]).toEqual(['brown-perplexity', scored]);
    expect(out.perplexity).toBeCloseTo(Math.exp(out.nll), 6);
    expect(out.nll).toBeGreaterThan(0);
    expect(out.nll).toBeLessThan(Math.log(env.model.config.vocabSize) + 3); // a trained model, near chance at worst
  });

  test.each([
    [['--task', 'wordnet-nope'], /--task/],
    [['--task', 'brown-perplexity', '--shots', '1'], /--shots applies to/],
    [['--task', 'wordnet-cls', '--stride', '8'], /--stride applies to/],
    [['--task', 'wordnet-cls', '--shots', '0,1'], /--shots: give one k/],
    [['--task', 'wordnet-cls', '--task-file', 'x.jsonl'], /--task and --task-file: give one/],
  ])('misuse %j is a usage error', async (args, message) => {
    const r = await runIn(['eval', '--model', TINY_MODEL, ...args]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
  });
});
