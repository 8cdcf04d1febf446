// End to end, as a user runs it: a base checkpoint (built here: a fresh nano GPT with a BPE tokenizer trained on
// WordNet instruction text), `sft --data wordnet-instruct`, the WordNet preference pairs and a brief reward model,
// then `align-eval` of base and SFT on held-out prompts. SFT must lift the judge score above the base model's by
// a clear margin — a masking or template bug (training on nothing, or on the wrong text) leaves it where it was.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { initBackend } from '@gptlab/tensor';
import { GPT, getPreset, saveGPT } from '@gptlab/model';
import { BPETokenizer } from '@gptlab/tokenizer';
import { ChatTemplate } from '../src/align/template';
import { buildWordNetInstruct, instructConversation } from '../src/align/wordnet-instruct';
import type { AlignEvalReport } from '../src/align/evaluate';
import { tmpDir, trainInProcess } from './helpers';

let root: string;
beforeAll(async () => {
  await initBackend();
  root = tmpDir('align-e2e');
});
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

/** A fresh nano GPT whose tokenizer knows the instruction text (so a reply is a few tokens), saved as `dir`. */
async function baseCheckpoint(dir: string): Promise<void> {
  const template = ChatTemplate.default();
  const items = buildWordNetInstruct({ seed: 5, limits: { train: 800, dev: 0, test: 0 } }).train;
  const texts = items.map((it) => template.render(instructConversation(it)));
  const tok = BPETokenizer.train(texts, { vocabSize: 700, minFrequency: 2, specialTokens: ['<|endoftext|>'] });
  const model = GPT.create(getPreset('nano', { vocabSize: tok.vocabSize, nPositions: 96, nEmbd: 64, nHead: 4 }), { seed: 3 });
  await saveGPT(model, dir, { tokenizer: tok });
  model.dispose();
}

const json = <T>(r: { code: number; stdout: string; stderr: string }): T => {
  if (r.code !== 0) throw new Error(`exit ${r.code}: ${r.stderr.slice(-2000)}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as T;
};

describe('alignment end to end', () => {
  test('SFT on WordNet instructions raises the held-out judge score above the base model', async () => {
    const base = path.join(root, 'base');
    await baseCheckpoint(base);
    // Settings as one string each (no paths in them), the paths apart.
    const cli = async <T>(settings: string, ...paths: string[]) =>
      json<T>(await trainInProcess([...settings.split(' '), ...paths, '--json']));
    const sftSettings = 'sft --data wordnet-instruct --examples 800 --epochs 2 --packing --batch-size 8 --lr 3e-3 --seed 1';
    const sft = await cli<{ checkpoint: string }>(sftSettings, '--init-from', base, '--out', path.join(root, 'sft'));
    const pairs = path.join(root, 'pairs.jsonl');
    expect((await cli<{ pairs: number }>('align-eval --examples 100', '--write-pairs', pairs)).pairs).toBeGreaterThan(50);
    const rmPaths = ['--init-from', sft.checkpoint, '--data', pairs, '--out', path.join(root, 'rm')];
    const rm = await cli<{ checkpoint: string }>('reward --max-steps 3 --batch-size 8', ...rmPaths);
    const models = ['--model', base, '--model', sft.checkpoint, '--reference', sft.checkpoint, '--reward', rm.checkpoint];
    const report = await cli<AlignEvalReport>('align-eval --n 60 --max-new-tokens 24', ...models);
    const [b, s] = report.models;
    expect(report.prompts).toBe(60);
    expect(b!.judged).toBe(60);
    // The effect: SFT answers in the format asked and often correctly (yes/no, capitals, one word); the untrained
    // base model answers noise. Measured: base 0.15, SFT 0.43 (seed 1).
    expect(s!.score!).toBeGreaterThan(b!.score! + 0.15);
    expect(s!.compliant!).toBeGreaterThan(b!.compliant!);
    // The reference against itself: no KL, every game a tie.
    expect(s!.kl).toBe(0);
    expect(s!.winRate).toBe(0.5);
    expect(b!.winRate!).toBeLessThan(0.5);
    for (const m of report.models) expect(Number.isFinite(m.reward)).toBe(true);
  }, 300000);
});
