// `gptlab-train align-eval`: --help, markdown tables, a prompt file, and bad input as one clear line.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { initBackend } from '@gptlab/tensor';
import { GPT, getPreset, saveGPT } from '@gptlab/model';
import { BPETokenizer } from '@gptlab/tokenizer';
import type { AlignEvalReport } from '../src/align/evaluate';
import { tmpDir, trainInProcess } from './helpers';

let root: string;
let model: string;
beforeAll(async () => {
  await initBackend();
  root = tmpDir('align-eval-cli');
  const tok = BPETokenizer.train(['user: define the word dog', 'assistant: YES a kind of animal'], {
    vocabSize: 290,
    minFrequency: 1,
    specialTokens: ['<|endoftext|>'],
  });
  const m = GPT.create(getPreset('nano', { vocabSize: tok.vocabSize, nPositions: 64 }), { seed: 4 });
  model = path.join(root, 'model');
  await saveGPT(m, model, { tokenizer: tok });
  m.dispose();
});
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

describe('gptlab-train align-eval', () => {
  test('--help; markdown tables by default; a prompt file with and without judge keys', async () => {
    expect((await trainInProcess(['align-eval', '--help'])).stdout).toMatch(/--reference DIR.*--write-pairs FILE/s);
    const prompts = path.join(root, 'prompts.jsonl');
    const user = (content: string) => [{ role: 'user', content }];
    fs.writeFileSync(
      prompts,
      [
        { messages: user('Is a dog a kind of animal?'), task: 'isa', system: 'yes-no', answers: ['yes'] },
        { messages: user('Define the word "dog".') },
      ]
        .map((l) => JSON.stringify(l))
        .join('\n') + '\n',
    );
    const md = await trainInProcess(['align-eval', '--model', model, '--prompts', prompts, '--max-new-tokens', '4']);
    expect(md.code).toBe(0);
    expect(md.stdout).toContain('| model | judge score | correct | compliant | RM score | KL to reference | win rate vs reference |');
    expect(md.stdout).toContain(`| ${model} |`);
    const j = await trainInProcess([
      'align-eval',
      '--model',
      model,
      '--model',
      model,
      '--prompts',
      prompts,
      '--reference',
      model,
      '--json',
    ]);
    const r = JSON.parse(j.stdout) as AlignEvalReport;
    expect(r.prompts).toBe(2);
    expect(r.models).toHaveLength(2);
    expect(r.models[0]).toMatchObject({ judged: 1, kl: 0, winRate: 0.5, reward: null });
    expect(r.models[0]!.steer['yes-no']!.n).toBe(1);
    expect(r.models[0]!.samples[1]!.verdict).toBeNull();
  }, 60000);

  test('bad input: no --model, a missing prompt file, a bad prompt line, a reward model that is not one', async () => {
    const none = await trainInProcess(['align-eval']);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/missing required flag --model DIR/);
    const missing = await trainInProcess(['align-eval', '--model', model, '--prompts', path.join(root, 'nope.jsonl')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/--prompts: no such file .*nope\.jsonl \(or "heldout"\)/);
    const bad = path.join(root, 'bad.jsonl');
    fs.writeFileSync(bad, '{"messages": [{"role": "user", "content": "hi"}], "task": "define"}\n');
    const badLine = await trainInProcess(['align-eval', '--model', model, '--prompts', bad]);
    expect(badLine.stderr).toMatch(/bad\.jsonl:1: fields "task", "system" and "answers" go together/);
    const notRm = await trainInProcess(['align-eval', '--model', model, '--reward', model, '--n', '2']);
    expect(notRm.code).toBe(1);
    expect(notRm.stderr).toMatch(/not a reward model \(no reward_config\.json/);
  }, 60000);
});
