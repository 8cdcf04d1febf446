// Streaming with the real byte-level BPE tokenizer from @gptlab/tokenizer.
import { BPETokenizer } from '@gptlab/tokenizer';
import { generate, stream, type GenerateResult } from '../src';
import { scriptedModel } from './helpers/fake';

const corpus = [
  'the cat sat on the mat, the cat ate the rat.',
  'Grüße aus Köln: schön, schöner, am schönsten.',
  'naïve café déjà vu — résumé',
  '日本語のテキストです。日本語。',
];
const TEXT = 'the café in Köln 🤖 says 日本語! ok\n\nnext paragraph';

describe('streaming with @gptlab/tokenizer (byte-level BPE)', () => {
  const tok = BPETokenizer.train(corpus, { vocabSize: 300, specialTokens: ['<|endoftext|>'] });
  const eos = tok.tokenToId('<|endoftext|>')!;
  const ids = tok.encode(TEXT);
  const model = (prompt: number) => scriptedModel(tok.vocabSize, (prefix) => ids[prefix.length - prompt] ?? eos);

  test('the script really cuts characters between tokens', () => {
    const cut = ids.some((id) => {
      const b = tok.tokenBytes(id);
      return (b[0] & 0xc0) === 0x80 || (b[b.length - 1] & 0xc0) === 0xc0 || (b[b.length - 1] & 0xe0) === 0xe0;
    });
    expect(cut).toBe(true);
    expect(tok.decode(ids)).toBe(TEXT);
  });

  test('deltas are whole characters and add up to the decoded text', async () => {
    const deltas: string[] = [];
    const it = stream(model(1), [0], { maxNewTokens: 200, eosTokenId: eos, tokenizer: tok });
    let r = await it.next();
    while (!r.done) {
      expect(r.value.text).not.toContain('\uFFFD');
      deltas.push(r.value.text);
      r = await it.next();
    }
    expect(deltas.join('')).toBe(TEXT);
    expect(deltas.some((d) => d === '')).toBe(true); // some tokens completed no character
    expect(r.value).toMatchObject({ text: TEXT, finishReason: 'eos' });
  });

  test('stop string on decoded text, trimmed', async () => {
    const r = (await generate(model(1), [0], {
      maxNewTokens: 200,
      eosTokenId: eos,
      tokenizer: tok,
      stopStrings: ['\n\n', '🤖 s'],
    })) as GenerateResult;
    expect(r.text).toBe('the café in Köln ');
    expect(r.finishReason).toBe('stop');
  });
});
