// tokenizer.json compatibility, checked with Hugging Face's own Rust implementation (npm `tokenizers`, native
// bindings): it must load what save() writes and produce the same ids and text; and we must load what it writes.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Tokenizer } from 'tokenizers';
import { BPETokenizer } from '../src';
import { CORPUS, WS_DIVERGENT, fuzzStrings, gpt2Tokenizer } from './helpers';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gptlab-tok-hf-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const docs = [...Object.values(CORPUS), ...Object.values(WS_DIVERGENT), ...fuzzStrings(300, 77)].filter(
  (s) => !/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(s), // no lone surrogates (Rust strings)
);

test('the documents include astral characters (emoji)', () => {
  expect(docs.filter((d) => /[\ud800-\udbff]/.test(d)).length).toBeGreaterThan(20);
});

async function compare(ours: BPETokenizer, hf: Tokenizer, allowSpecial: boolean) {
  for (const d of docs) {
    const ids = (await hf.encode(d)).getIds();
    expect(ours.encode(d, allowSpecial ? { allowedSpecial: 'all' } : undefined)).toEqual(ids);
    expect(await hf.decode(ids, false)).toBe(ours.decode(ids));
  }
}

describe('Hugging Face tokenizers (Rust) reads our tokenizer.json', () => {
  test('GPT-2: identical ids and decoded text (HF matches added tokens, so compare with allowedSpecial "all")', async () => {
    const file = path.join(tmp, 'gpt2.json');
    gpt2Tokenizer().save(file);
    const hf = Tokenizer.fromFile(file);
    expect(hf.getVocabSize(true)).toBe(50257);
    await compare(gpt2Tokenizer(), hf, true);
  });

  test('a trained tokenizer with GPT-1 markers', async () => {
    const tok = BPETokenizer.train(Object.values(CORPUS), { vocabSize: 700, specialTokens: ['<|endoftext|>'] });
    tok.addSpecialTokens(['<s>', '<$>', '<e>']);
    const file = path.join(tmp, 'trained.json');
    tok.save(file);
    const hf = Tokenizer.fromFile(file);
    expect(hf.getVocabSize(true)).toBe(tok.vocabSize);
    expect(hf.tokenToId('<$>')).toBe(tok.tokenToId('<$>'));
    await compare(tok, hf, true);
  });

  test('we read what HF writes', async () => {
    const file = path.join(tmp, 'ours.json');
    gpt2Tokenizer().save(file);
    const hfOut = path.join(tmp, 'hf-saved.json');
    Tokenizer.fromFile(file).save(hfOut, true);
    const back = BPETokenizer.load(hfOut);
    expect(back.hash()).toBe(gpt2Tokenizer().hash());
  });
});
