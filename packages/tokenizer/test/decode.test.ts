// decode(encode(s)) === s, the streaming decoder, special tokens.
import { getEncoding } from 'js-tiktoken';
import { BPETokenizer, StreamingDecoder } from '../src';
import { CORPUS, WS_DIVERGENT, fuzzStrings, gpt2Tokenizer } from './helpers';

/** String.prototype.toWellFormed (ES2024): lone surrogates → U+FFFD. */
const wellFormed = (s: string) => s.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd');
const hasLoneSurrogate = (s: string) => s !== wellFormed(s);

describe('round trip', () => {
  const tok = gpt2Tokenizer();

  test.each(Object.entries({ ...CORPUS, ...WS_DIVERGENT }))('%s', (_n, text) => {
    expect(tok.decode(tok.encode(text))).toBe(text);
    expect(tok.decode(tok.encode(text, { allowedSpecial: 'all' }))).toBe(text);
  });

  test('fuzz: every well-formed string round-trips; lone surrogates become U+FFFD (as TextEncoder)', () => {
    let lone = 0;
    for (const s of fuzzStrings(3000, 7)) {
      const back = tok.decode(tok.encode(s));
      if (hasLoneSurrogate(s)) {
        lone++;
        expect(back).toBe(wellFormed(s));
      } else expect(back).toBe(s);
    }
    expect(lone).toBeGreaterThan(100);
  });

  test('a leading byte order mark is kept', () => {
    expect(tok.decode(tok.encode('\ufeffabc'))).toBe('\ufeffabc');
  });

  test('decode agrees with js-tiktoken on arbitrary id sequences, including cut characters (U+FFFD)', () => {
    const ref = getEncoding('gpt2');
    const ids = tok.encode('日本語 😀 é');
    for (let i = 0; i < ids.length; i++) {
      for (let j = i + 1; j <= ids.length; j++) {
        const part = ids.slice(i, j);
        expect(tok.decode(part)).toBe(ref.decode(part));
      }
    }
  });

  test('decode rejects ids outside the vocabulary with a clear error', () => {
    expect(() => tok.decode([50257])).toThrow(/50257 is not a token id of this tokenizer \(vocabSize 50257\)/);
    expect(() => tok.decode([-1])).toThrow(/not a token id/);
    expect(() => tok.decode([1.5])).toThrow(/not a token id/);
    expect(() => tok.decode('abc' as never)).toThrow(/decode: expected an array of token ids, got the string "abc"/);
  });

  test('accepts typed arrays', () => {
    const ids = tok.encodeToUint32Array('hello world');
    expect(Array.from(ids)).toEqual(tok.encode('hello world'));
    expect(tok.decode(ids)).toBe('hello world');
    expect(tok.countTokens('hello world')).toBe(2);
  });
});

describe('streaming decoder', () => {
  const tok = gpt2Tokenizer();

  test('never emits half a character and concatenates to decode(ids)', () => {
    for (const text of [...Object.values(CORPUS), ...fuzzStrings(500, 11)]) {
      const ids = tok.encode(text);
      const d = tok.streamingDecoder();
      let acc = '';
      for (const id of ids) {
        const piece = d.push(id);
        expect(hasLoneSurrogate(piece)).toBe(false);
        // no replacement character unless the text itself had one (or a lone surrogate)
        if (!text.includes('\ufffd') && !hasLoneSurrogate(text)) expect(piece.includes('\ufffd')).toBe(false);
        acc += piece;
      }
      acc += d.flush();
      expect(acc).toBe(tok.decode(ids));
    }
  });

  test('holds the bytes of a split character until it is complete', () => {
    // '😀' is not one GPT-2 token: its 4 UTF-8 bytes come in several tokens
    const ids = tok.encode('😀');
    expect(ids.length).toBeGreaterThan(1);
    const d = new StreamingDecoder(tok);
    const outs = ids.map((id) => d.push(id));
    expect(outs.slice(0, -1).every((s) => s === '')).toBe(true);
    expect(outs[outs.length - 1]).toBe('😀');
    expect(d.flush()).toBe('');
  });

  test('flush turns an unfinished character into U+FFFD and resets', () => {
    const ids = tok.encode('é中');
    const d = tok.streamingDecoder();
    d.push(ids[0]);
    const first = tok.tokenBytes(ids[0]);
    if (first.length === 1 && first[0] >= 0x80) expect(d.flush()).toBe('\ufffd');
    expect(d.pushAll(tok.encode('ok'))).toBe('ok');
  });
});

describe('special tokens', () => {
  test('GPT-2: <|endoftext|> is 50256 and eosId; its spelling is ordinary text by default', () => {
    const tok = gpt2Tokenizer();
    expect(tok.eosId).toBe(50256);
    expect(tok.vocabSize).toBe(50257);
    expect(tok.tokenToId('<|endoftext|>')).toBe(50256);
    expect(tok.idToToken(50256)).toBe('<|endoftext|>');
    expect(tok.isSpecial(50256)).toBe(true);
    expect(tok.encode('<|endoftext|>')).toEqual([27, 91, 437, 1659, 5239, 91, 29]);
    expect(tok.encode('a<|endoftext|>b', { allowedSpecial: 'all' })).toEqual([64, 50256, 65]);
    expect(tok.encode('a<|endoftext|>b', { allowedSpecial: ['<|endoftext|>'] })).toEqual([64, 50256, 65]);
    expect(tok.encode('a<|endoftext|>b', { allowedSpecial: new Set() })).toEqual(tok.encode('a<|endoftext|>b'));
    expect(tok.decode([64, 50256, 65])).toBe('a<|endoftext|>b');
    expect(tok.idToToken(262)).toBe('Ġthe');
    expect(tok.tokenToId('Ġthe')).toBe(262);
    expect(tok.tokenToId('nope nope')).toBeUndefined();
  });

  test('GPT-1 markers get new ids after the vocabulary and are never split when allowed', () => {
    const base = gpt2Tokenizer();
    const tok = new BPETokenizer({ model: base.model, specialTokens: base.specialTokens });
    const h0 = tok.hash();
    const ids = tok.addSpecialTokens(['<s>', '<$>', '<e>']);
    expect(ids).toEqual([50257, 50258, 50259]);
    expect(tok.vocabSize).toBe(50260);
    expect(tok.hash()).not.toBe(h0);
    expect(tok.addSpecialTokens(['<$>', '<|endoftext|>'])).toEqual([50258, 50256]); // idempotent
    const text = '<s>The premise.<$>The hypothesis.<e>';
    const enc = tok.encode(text, { allowedSpecial: 'all' });
    expect(enc[0]).toBe(50257);
    expect(enc).toContain(50258);
    expect(enc[enc.length - 1]).toBe(50259);
    expect(tok.decode(enc)).toBe(text);
    // without permission the markers are plain text (tokens of '<', 's', '>' ...)
    expect(tok.encode(text)).not.toContain(50257);
    expect(tok.encode(text)).toEqual(base.encode(text));
    // only the allowed ones are recognised
    const some = tok.encode(text, { allowedSpecial: new Set(['<e>']) });
    expect(some.filter((x) => x >= 50257)).toEqual([50259]);
    // overlapping spellings: the longest special token wins
    tok.addSpecialTokens(['<e>x']);
    expect(tok.encode('<e>x<e>', { allowedSpecial: 'all' })).toEqual([50260, 50259]);
  });

  test('bad allowedSpecial values are rejected clearly', () => {
    const tok = gpt2Tokenizer();
    expect(() => tok.encode('x', { allowedSpecial: ['<nope>'] })).toThrow(
      /allowedSpecial contains the string "<nope>", which is not a special token/,
    );
    expect(() => tok.encode('x', { allowedSpecial: 'some' as never })).toThrow(/allowedSpecial must be 'all', a Set or an array/);
  });
});
