// `gptlab-train ppo`: --help, the --json contract the alignment experiment reads, a --resume that continues the
// run with more iterations, the saved policy loading as an SFT-style checkpoint, and bad input as one clear line.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { initBackend } from '@gptlab/tensor';
import { GPT, getPreset, loadGPT, saveGPT } from '@gptlab/model';
import { BPETokenizer } from '@gptlab/tokenizer';
import { newRewardHead, saveRewardModel } from '../src/align/reward';
import { DEFAULT_CHAT_TEMPLATE } from '../src/align/template';
import { listCheckpoints } from '../src/train/checkpoint';
import { readMetrics, tmpDir, trainInProcess } from './helpers';

let root: string;
beforeAll(async () => {
  await initBackend();
  root = tmpDir('ppo-cli');
});
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

/** A nano SFT model and a reward model on its tokenizer (or on `rmCorpus`'s own tokenizer). */
async function checkpoints(rmCorpus?: string[]): Promise<{ sft: string; rm: string }> {
  const corpus = ['user: name a colour', 'assistant: red green blue'];
  const tok = BPETokenizer.train(corpus, { vocabSize: 290, minFrequency: 1, specialTokens: ['<|endoftext|>'] });
  const sft = path.join(root, 'sft');
  const m = GPT.create(getPreset('nano', { vocabSize: tok.vocabSize, nPositions: 32 }), { seed: 2 });
  await saveGPT(m, sft, { tokenizer: tok, chatTemplate: DEFAULT_CHAT_TEMPLATE });
  const rmTok = rmCorpus ? BPETokenizer.train(rmCorpus, { vocabSize: 280, minFrequency: 1, specialTokens: ['<|endoftext|>'] }) : tok;
  const rmModel = rmCorpus ? GPT.create(getPreset('nano', { vocabSize: rmTok.vocabSize, nPositions: 32 }), { seed: 4 }) : m;
  const head = newRewardHead(rmModel, 1);
  const rm = path.join(root, rmCorpus ? 'rm-other' : 'rm');
  await saveRewardModel(rmModel, head, rmTok, rm);
  head.dispose();
  if (rmModel !== m) rmModel.dispose();
  m.dispose();
  return { sft, rm };
}

test('ppo --help, --json, --resume with more iterations, and bad input', async () => {
  expect((await trainInProcess(['ppo', '--help'])).stdout).toMatch(/--policy.*--reward.*--prompts.*--kl-target.*--ptx-corpus/s);
  const { sft, rm } = await checkpoints();
  const prompts = path.join(root, 'prompts.jsonl');
  fs.writeFileSync(
    prompts,
    ['{"prompt": "name a colour"}', '{"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "red?"}]}'].join(
      '\n',
    ),
  );
  const out = path.join(root, 'run');
  const ptx = path.join(root, 'ptx.txt');
  fs.writeFileSync(ptx, 'red green blue. '.repeat(40));
  const small = ['--batch-size', '4', '--mini-batch-size', '2', '--ppo-epochs', '1', '--max-new-tokens', '4', '--lr', '1e-3'];
  const first = await trainInProcess([
    'ppo',
    '--policy',
    sft,
    '--reward',
    rm,
    '--prompts',
    prompts,
    '--out',
    out,
    '--steps',
    '2',
    ...small,
    '--ptx-corpus',
    ptx,
    '--json',
  ]);
  expect(first.stderr).not.toMatch(/Error/);
  expect(first.code).toBe(0);
  const j = JSON.parse(first.stdout.trim()) as Record<string, unknown>;
  for (const k of ['steps', 'reward_mean', 'kl', 'entropy', 'clip_fraction', 'value_loss', 'policy_loss', 'kl_coef', 'out'])
    expect(j).toHaveProperty(k);
  expect(j).toMatchObject({ steps: 2, updates: 4, out });
  expect(j.kl_coef).toBeLessThan(0.2); // the adaptive controller lowered β: KL was below its target
  const trainRecords = readMetrics(out).filter((r) => r.type === 'train') as { ptx_loss?: number }[];
  expect(trainRecords.every((r) => Number.isFinite(r.ptx_loss))).toBe(true); // PPO-ptx mixed into every update
  expect(fs.existsSync(path.join(out, 'reward.svg')) && fs.existsSync(path.join(out, 'loss.svg'))).toBe(true);
  // the saved policy is an SFT-style checkpoint: loadGPT works, the chat template is kept
  const ckpt = listCheckpoints(out).pop()!.dir;
  expect(JSON.parse(fs.readFileSync(path.join(ckpt, 'tokenizer_config.json'), 'utf8')).chat_template).toBe(DEFAULT_CHAT_TEMPLATE);
  (await loadGPT(ckpt)).dispose();

  const more = await trainInProcess(['ppo', '--resume', out, '--steps', '3', '--json']);
  expect(more.code).toBe(0);
  expect(JSON.parse(more.stdout.trim())).toMatchObject({ steps: 3, updates: 6 });
  expect(
    readMetrics(out)
      .filter((r) => r.type === 'eval')
      .map((r) => (r as { iteration?: number }).iteration),
  ).toEqual([1, 2, 3]);

  const missing = await trainInProcess(['ppo', '--policy', sft, '--prompts', prompts]);
  expect(missing.code).toBe(2);
  expect(missing.stderr).toMatch(/missing required flag --reward/);
  const other = await checkpoints(['completely different words here']);
  const mismatch = await trainInProcess([
    'ppo',
    '--policy',
    sft,
    '--reward',
    other.rm,
    '--prompts',
    prompts,
    '--out',
    path.join(root, 'x'),
  ]);
  expect(mismatch.code).toBe(1);
  expect(mismatch.stderr).toMatch(/use different tokenizers/);
  fs.writeFileSync(prompts, '{"prompt": "ok"}\n{"messages": [{"role": "user"}]}\n');
  const badFile = await trainInProcess(['ppo', '--policy', sft, '--reward', rm, '--prompts', prompts]);
  expect(badFile.code).toBe(1);
  expect(badFile.stderr).toMatch(/prompts\.jsonl:2: field "messages"\[0\]: "content" must be a string/);
}, 120000);
