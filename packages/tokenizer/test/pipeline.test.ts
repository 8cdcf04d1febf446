// Swappable parts (normaliser, pre-tokeniser), the hand-written GPT-2 scanner against the regex itself, and the
// word cache under eviction.
import { getEncoding } from 'js-tiktoken';
import { BPETokenizer, GPT2PreTokenizer, GPT2_PATTERN, RegexPreTokenizer, UnicodeNormalizer } from '../src';
import { Rng } from '@gptlab/common';
import { CORPUS, WS_DIVERGENT, fuzzStrings, gpt2Tokenizer } from './helpers';

describe('pre-tokenisers', () => {
  test('the GPT-2 scanner ("ecmascript") splits exactly like the JavaScript regex', () => {
    const scanner = new GPT2PreTokenizer({ whitespace: 'ecmascript' });
    const regex = new RegexPreTokenizer(GPT2_PATTERN);
    for (const s of [...Object.values(CORPUS), ...Object.values(WS_DIVERGENT), ...fuzzStrings(3000, 5)]) {
      expect(scanner.split(s)).toEqual(regex.split(s));
    }
  });

  test('split pieces cover the text', () => {
    const pre = new GPT2PreTokenizer();
    for (const s of Object.values(CORPUS)) expect(pre.split(s).join('')).toBe(s);
    expect(pre.split("I'm  here\n")).toEqual(['I', "'m", ' ', ' here', '\n']);
  });

  test('a tokenizer with a regex pre-tokeniser encodes like the scanner (same pattern)', () => {
    const g = gpt2Tokenizer();
    const viaRegex = new BPETokenizer({ model: g.model, preTokenizer: new RegexPreTokenizer(GPT2_PATTERN) });
    const ref = getEncoding('gpt2');
    for (const s of Object.values(CORPUS)) expect(viaRegex.encode(s)).toEqual(ref.encode(s, [], []));
  });

  test('bad regex is reported', () => {
    expect(() => new RegexPreTokenizer('(?i:abc')).toThrow(/pre-tokenizer pattern is not a valid JavaScript regular expression/);
    expect(() => new GPT2PreTokenizer({ whitespace: 'python' as never })).toThrow(/whitespace must be 'unicode' or 'ecmascript'/);
  });
});

describe('custom pipeline: NFKC normaliser + digit-splitting regex', () => {
  const pattern = String.raw`'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`;
  const texts = Object.values(CORPUS).concat(Object.values(CORPUS).map((s) => s.toUpperCase()));
  const tok = BPETokenizer.train(texts, {
    vocabSize: 600,
    normalizer: new UnicodeNormalizer('NFKC'),
    preTokenizer: new RegexPreTokenizer(pattern),
  });

  test('normalises, splits digits one by one, round-trips to the normalised text', () => {
    expect(tok.decode(tok.encode('ﬁ ①'))).toBe('fi 1');
    for (const s of Object.values(CORPUS)) expect(tok.decode(tok.encode(s))).toBe(s.normalize('NFKC'));
    const ids = tok.encode('12345');
    expect(ids).toHaveLength(5);
  });

  test('saves as a Hugging Face Sequence[Split, ByteLevel] and loads back identical', () => {
    const json = tok.toJSON() as any;
    expect(json.normalizer).toEqual({ type: 'NFKC' });
    expect(json.pre_tokenizer.type).toBe('Sequence');
    expect(json.pre_tokenizer.pretokenizers[0]).toEqual({
      type: 'Split',
      pattern: { Regex: pattern },
      behavior: 'Isolated',
      invert: false,
    });
    const back = BPETokenizer.fromJSON(JSON.stringify(json));
    expect(back.hash()).toBe(tok.hash());
    for (const s of texts) expect(back.encode(s)).toEqual(tok.encode(s));
  });
});

describe('word cache', () => {
  const r = new Rng(42);
  const letters = 'abcdefghijklmnopqrstuvwxyzéü中';
  const words = new Set<string>();
  while (words.size < 6000) {
    let w = '';
    const n = 3 + Math.floor(r.next() * 8);
    for (let i = 0; i < n; i++) w += letters[Math.floor(r.next() * letters.length)];
    words.add(w);
  }
  const text = [...words].join(' ') + ' ' + [...words].slice(0, 3000).join('\n');
  const ref = getEncoding('gpt2').encode(text, [], []);

  test.each([0, 1, 100, 4096, 65536])('stays exact with %i entries (overflowing and emptied when small)', (entries) => {
    const tok = new BPETokenizer({ model: gpt2Tokenizer().model, cacheEntries: entries });
    expect(tok.encode(text)).toEqual(ref);
    expect(tok.encode(text)).toEqual(ref); // again, with whatever is cached now
    tok.clearCache();
    expect(tok.encode(text)).toEqual(ref);
  });

  test('bad cacheEntries', () => {
    expect(() => new BPETokenizer({ model: gpt2Tokenizer().model, cacheEntries: -1 })).toThrow(/cacheEntries must be an integer/);
  });
});
