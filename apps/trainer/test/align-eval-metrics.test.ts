// align-eval's pieces: the held-out prompts (test synsets, words unseen in training), prompt files and their
// errors, win rate and steerability against hand counts, and the KL's log-probs against the decoder's own.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { initBackend, tf } from '@gptlab/tensor';
import { GPT, getPreset } from '@gptlab/model';
import { BPETokenizer } from '@gptlab/tokenizer';
import { generateAll, gptLanguageModel } from '@gptlab/decoding';
import { loadWordNet } from '@gptlab/data';
import { splitOf } from '../src/finetune/wordnet-tasks';
import { heldoutPrompts, readPromptFile, type EvalPrompt } from '../src/align/evaluate-prompts';
import { answerLogProbs, answerPrompts, steerability, verdictsOf, winRate, type Answer } from '../src/align/evaluate';
import { ChatTemplate } from '../src/align/template';
import { buildWordNetInstruct } from '../src/align/wordnet-instruct';
import type { Verdict } from '../src/align/judge';
import { tmpDir } from './helpers';

beforeAll(async () => {
  await initBackend();
});

describe('held-out prompts', () => {
  const wn = loadWordNet();
  test('come from test synsets, and no training or dev synset has their word', () => {
    const prompts = heldoutPrompts(60, 3, wn);
    expect(prompts).toHaveLength(60);
    expect(heldoutPrompts(60, 3, wn)).toEqual(prompts);
    const trainWords = new Set(wn.synsets.filter((s) => splitOf(s.id) !== 'test').flatMap((s) => s.words.map((w) => w.toLowerCase())));
    const byWord = new Map(
      buildWordNetInstruct({ wordnet: wn, seed: 3, limits: { train: 0, dev: 0, test: 1200 } }).test.map((it) => [it.word, it]),
    );
    for (const p of prompts) {
      const word = p.origin.slice('heldout:'.length);
      expect(trainWords.has(word.toLowerCase())).toBe(false);
      expect(splitOf(byWord.get(word)!.synsetId)).toBe('test');
      expect(p.key).not.toBeNull();
    }
    // Every system prompt is represented, so steerability has something to count.
    expect(new Set(heldoutPrompts(200, 3, wn).map((p) => p.key!.system)).size).toBe(5);
  });
});

describe('prompt files', () => {
  const dir = tmpDir('align-prompts');
  const write = (name: string, lines: unknown[]) => {
    const f = path.join(dir, name);
    fs.writeFileSync(f, lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
    return f;
  };
  const user = [{ role: 'user', content: 'Give a synonym of "car".' }];
  test('a key is optional; read prompts keep their origin', () => {
    const f = write('ok.jsonl', [{ messages: user, task: 'synonym', system: 'none', answers: ['auto'] }, { messages: user }]);
    const p = readPromptFile(f);
    expect(p[0]!.key).toEqual({ task: 'synonym', system: 'none', answers: ['auto'] });
    expect(p[1]!.key).toBeNull();
    expect(p[1]!.origin).toBe(`${f}:2`);
  });
  test('bad lines name file:line and the field', () => {
    const bad = (lines: unknown[]) => () => readPromptFile(write('bad.jsonl', lines));
    expect(bad([{ messages: user, task: 'define' }])).toThrow(/bad\.jsonl:1: fields "task", "system" and "answers" go together/);
    expect(bad([{ messages: user }, { messages: user, task: 'rhyme', system: 'none', answers: ['x'] }])).toThrow(
      /bad\.jsonl:2: field "task": unknown task "rhyme"/,
    );
    expect(bad([{ messages: user, task: 'define', system: 'loud', answers: ['x'] }])).toThrow(
      /field "system": unknown system prompt kind "loud"/,
    );
    expect(bad([{ messages: user, task: 'define', system: 'none', answers: [] }])).toThrow(/field "answers" must be a non-empty list/);
    expect(
      bad([
        {
          messages: [
            { role: 'user', content: 'q' },
            { role: 'assistant', content: 'a' },
          ],
        },
      ]),
    ).toThrow(/ends with an assistant turn/);
    expect(bad([{ messages: [{ role: 'bot', content: 'q' }] }])).toThrow(/bad\.jsonl:1: field "messages"\[0\]: unknown role "bot"/);
  });
});

describe('win rate and steerability', () => {
  const v = (score: number, compliant = score > 0): Verdict => ({ correct: score === 1, compliant, score });
  test('a win counts 1, a tie ½, a loss 0, over prompts both were judged on', () => {
    expect(winRate([v(1), v(0.5), v(0), v(1), null], [v(0.5), v(0.5), v(1), null, v(0)])).toBeCloseTo((1 + 0.5 + 0) / 3, 12);
    expect(winRate([null], [v(1)])).toBeNull();
  });
  test('compliance is counted per system prompt; unprompted items are left out', () => {
    const key = (system: string) => ({ task: 'synonym', system, answers: ['auto'] }) as EvalPrompt['key'];
    const prompts: EvalPrompt[] = ['one-word', 'one-word', 'capitals', 'none', 'one-word'].map((s, i) => ({
      messages: [],
      key: key(s),
      origin: `${i}`,
    }));
    const answers = ['auto', 'an auto', 'AUTO', 'whatever', 'car'].map((text) => ({ text }) as Answer);
    const verdicts = verdictsOf(prompts, answers);
    expect(verdicts.map((x) => x!.score)).toEqual([1, 0.5, 1, 0.5, 0.5]);
    expect(steerability(prompts, verdicts)).toEqual({ 'one-word': { compliance: 2 / 3, n: 3 }, capitals: { compliance: 1, n: 1 } });
  });
});

describe('answers and their log-probs', () => {
  test('greedy answers equal generate(); log π sums match its log-probs; nothing leaks', async () => {
    const tok = BPETokenizer.train(['user: define the word dog', 'assistant: a kind of animal'], {
      vocabSize: 290,
      minFrequency: 1,
      specialTokens: ['<|endoftext|>'],
    });
    const model = GPT.create(getPreset('nano', { vocabSize: tok.vocabSize, nPositions: 40 }), { seed: 5 });
    const other = GPT.create(getPreset('nano', { vocabSize: tok.vocabSize, nPositions: 40 }), { seed: 6 });
    const chat = { dir: 'mem', model, tok, template: ChatTemplate.default() };
    const prompts: EvalPrompt[] = ['dog', 'a long word to define here'].map((w) => ({
      messages: [{ role: 'user', content: `Define the word "${w}".` }],
      key: null,
      origin: w,
    }));
    // A warm-up run first: the backend keeps constants of shapes it meets for the first time.
    const warm = await answerPrompts(chat, prompts, 12);
    await answerLogProbs(model, warm);
    await answerLogProbs(other, warm);
    const before = tf.memory().numTensors;
    const answers = await answerPrompts(chat, prompts, 12);
    const self = await answerLogProbs(model, answers);
    const ref = await answerLogProbs(other, answers);
    expect(tf.memory().numTensors).toBe(before); // nothing leaks
    for (const [i, a] of answers.entries()) {
      const ids = tok.encode(chat.template.render(prompts[i]!.messages, true), { allowedSpecial: 'all' });
      expect(a.promptIds).toEqual(ids.slice(-39));
      expect(a.promptIds.length + a.ids.length).toBeLessThanOrEqual(40);
      const [g] = await generateAll(gptLanguageModel(model), a.promptIds, { maxNewTokens: a.ids.length, eosTokenId: tok.eosId });
      expect(a.ids).toEqual(g!.ids);
      expect(self[i]).toBeCloseTo(
        g!.logprobs.reduce((s, x) => s + x, 0),
        3,
      );
    }
    expect(self).toEqual(await answerLogProbs(model, answers));
    // Greedy answers are the policy's likeliest tokens, so on them log π ≥ log π_ref on average.
    expect(self.reduce((s, x, i) => s + x - ref[i]!, 0)).toBeGreaterThan(0);
    model.dispose();
    other.dispose();
  });
});
