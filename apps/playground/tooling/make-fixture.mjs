// Regenerates test/fixtures/tiny: a 320-token byte-level BPE tokenizer trained here with @gptlab/tokenizer,
// and random GPT-2 weights written by the independent PyTorch reference (gpt_ref.py make), plus that
// reference's greedy and beam outputs for a few prompts (test/fixtures/tiny-reference.json).
//   node tooling/make-fixture.mjs     (needs /usr/bin/python3 with torch; tests never do)
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BPETokenizer } from '@gptlab/tokenizer';
import { CORPUS } from './corpus.mjs';

const here = path.dirname(new URL(import.meta.url).pathname);
const dir = path.join(here, '..', 'test', 'fixtures', 'tiny');
const ref = '/work/shared/peers/pytorch/gpt_ref.py';
fs.rmSync(dir, { recursive: true, force: true });
fs.mkdirSync(dir, { recursive: true });

const texts = [];
for (let i = 0; i < 20; i++) texts.push(...CORPUS);
const tok = BPETokenizer.train(texts, { vocabSize: 320, specialTokens: ['<|endoftext|>'], minFrequency: 2 });
tok.saveGPT2Files(dir);
const V = tok.vocabSize;
const eos = tok.tokenToId('<|endoftext|>');
console.log(`tokenizer: ${V} tokens, <|endoftext|> = ${eos}`);

const py = (args) => execFileSync('/usr/bin/python3', [ref, ...args], { encoding: 'utf8' });
py([
  'make',
  '--dir',
  dir,
  '--vocab',
  String(V),
  '--n-layer',
  '2',
  '--n-head',
  '4',
  '--n-embd',
  '32',
  '--n-positions',
  '128',
  '--seed',
  '7',
  '--std',
  '0.3',
]);
const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
cfg.eos_token_id = eos;
cfg.bos_token_id = eos;
fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(cfg, null, 2) + '\n');

const prompts = ['The quick brown', 'Attention is', 'cheese =>'];
const cases = [];
for (const prompt of prompts) {
  const ids = tok.encode(prompt);
  const greedy = JSON.parse(py(['greedy', '--dir', dir, '--ids', ids.join(','), '--n', '12', '--extra']));
  const beam = JSON.parse(py(['beam', '--dir', dir, '--ids', ids.join(','), '--n', '6', '--beams', '3']));
  cases.push({ prompt, ids, greedy, beam });
}
fs.writeFileSync(
  path.join(here, '..', 'test', 'fixtures', 'tiny-reference.json'),
  JSON.stringify({ generator: 'gpt_ref.py', eos, cases }, null, 1) + '\n',
);
console.log(
  JSON.stringify(
    cases.map((c) => ({ prompt: c.prompt, greedy: c.greedy, beam: c.beam })),
    null,
    0,
  ).slice(0, 3000),
);
