// `gptlab-train sft`: --help, --json end metrics, an exact --resume, and bad input as one clear line.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { initBackend } from '@gptlab/tensor';
import { GPT, getPreset, saveGPT } from '@gptlab/model';
import { BPETokenizer } from '@gptlab/tokenizer';
import { listCheckpoints } from '../src/train/checkpoint';
import { readMetrics, tmpDir, trainInProcess } from './helpers';

beforeAll(async () => {
  await initBackend();
});

const FIX = path.join(__dirname, 'fixtures', 'align');

/** A nano GPT with a tiny BPE tokenizer (with <|endoftext|>, the default template's turn end) saved in root/init. */
async function tinyCheckpoint(root: string, corpus: string[], nPositions: number): Promise<string> {
  const tok = BPETokenizer.train(corpus, { vocabSize: 290, minFrequency: 1, specialTokens: ['<|endoftext|>'] });
  const init = path.join(root, 'init');
  const m = GPT.create(getPreset('nano', { vocabSize: tok.vocabSize, nPositions }), { seed: 2 });
  await saveGPT(m, init, { tokenizer: tok });
  m.dispose();
  return init;
}

describe('gptlab-train sft', () => {
  test('--help, --json, a resume equal to the uninterrupted run, and bad data', async () => {
    expect((await trainInProcess(['sft', '--help'])).stdout).toMatch(/--packing.*wordnet-instruct/s);
    const root = tmpDir('sft-cli');
    const init = await tinyCheckpoint(root, ['user: the red fox', 'assistant: a blue bird'], 64);
    const data = path.join(root, 'chat.jsonl');
    const lines = Array.from({ length: 12 }, (_, i) =>
      JSON.stringify(
        i % 2
          ? { instruction: 'the red fox', output: 'jumps' }
          : {
              messages: [
                { role: 'user', content: 'a blue bird' },
                { role: 'assistant', content: 'sings' },
              ],
            },
      ),
    );
    fs.writeFileSync(data, lines.join('\n') + '\n');
    const out = path.join(root, 'run');
    const common = ['--init-from', init, '--data', data, '--out', out, '--eval-fraction', '0.25', '--batch-size', '3', '--lr', '3e-3'];
    const first = await trainInProcess(['sft', ...common, '--max-steps', '4', '--checkpoint-every', '2', '--json']);
    expect(first.code).toBe(0);
    const j = JSON.parse(first.stdout.trim()) as { steps: number; evalLoss: number; train: number; eval: number };
    expect(j).toMatchObject({ steps: 4, train: 9, eval: 3 });
    expect(readMetrics(out).some((e) => e.type === 'step' || e.loss !== undefined)).toBe(true);
    const ckpt = listCheckpoints(out)[0]!.dir;
    expect(JSON.parse(fs.readFileSync(path.join(ckpt, 'tokenizer_config.json'), 'utf8')).chat_template).toMatch(/eos_token/);
    const again = await trainInProcess(['sft', '--resume', ckpt, '--out', path.join(root, 'resumed'), '--json']);
    expect(again.code).toBe(0);
    const j2 = JSON.parse(again.stdout.trim()) as { steps: number; evalLoss: number };
    expect(j2.steps).toBe(4);
    expect(j2.evalLoss).toBeCloseTo(j.evalLoss, 5);

    const bad = await trainInProcess([
      'sft',
      '--init-from',
      init,
      '--data',
      path.join(FIX, 'chat-bad-role.jsonl'),
      '--out',
      path.join(root, 'bad'),
    ]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('chat-bad-role.jsonl:2: field "messages"[1]: unknown role "bot"');
    const missing = await trainInProcess(['sft', '--init-from', init]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/--data FILE\|wordnet-instruct/);
  }, 60000);

  test('--data wordnet-instruct trains on WordNet instructions with the dev synsets held out', async () => {
    const root = tmpDir('sft-wordnet');
    const init = await tinyCheckpoint(root, ['user: define the word', 'assistant: a kind of'], 256);
    const args = ['sft', '--init-from', init, '--data', 'wordnet-instruct', '--examples', '20', '--max-steps', '2', '--batch-size', '4'];
    const r = await trainInProcess([...args, '--packing', '--out', path.join(root, 'run'), '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout.trim()) as { steps: number; train: number; eval: number; trainSequences: number; evalLoss: number };
    expect(j).toMatchObject({ steps: 2, train: 20, eval: 2 });
    expect(j.trainSequences).toBeLessThan(20);
    expect(Number.isFinite(j.evalLoss)).toBe(true);
  }, 60000);
});
