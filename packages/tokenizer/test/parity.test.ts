// Token ids must equal independent GPT-2 implementations exactly, document by document.
import { getEncoding } from 'js-tiktoken';
import { get_encoding } from 'tiktoken';
import { encode as gptTokenizerEncode } from 'gpt-tokenizer/encoding/r50k_base';
import { wordnetGlosses } from './corpora';
import { CORPUS, WS_DIVERGENT, fuzzStrings, gpt2Tokenizer, gpt2TokenizerJs } from './helpers';

const jsTiktoken = getEncoding('gpt2');
const tiktoken = get_encoding('gpt2');
afterAll(() => tiktoken.free());

const refJs = (s: string) => jsTiktoken.encode(s, [], []);
const refWasm = (s: string) => Array.from(tiktoken.encode_ordinary(s));

/** A slice of real English text: WordNet verb glosses (first ~200 KB), with the files' trailing spaces. */
const wordnetSample = () => wordnetGlosses(['verb'], { keepTrailingSpaces: true }).join('\n').slice(0, 200_000);

describe('GPT-2 parity', () => {
  const tokJs = gpt2TokenizerJs();
  const tok = gpt2Tokenizer();

  test.each(Object.entries(CORPUS))('%s: equals js-tiktoken, tiktoken (WASM) and gpt-tokenizer', (_name, text) => {
    const ids = tok.encode(text);
    expect(ids).toEqual(refWasm(text));
    expect(ids).toEqual(refJs(text));
    expect(tokJs.encode(text)).toEqual(refJs(text));
    expect(ids).toEqual(gptTokenizerEncode(text, { disallowedSpecial: new Set() }));
  });

  test('the whole corpus as one document, and WordNet glosses (200 KB)', () => {
    for (const text of [Object.values(CORPUS).join('\n'), wordnetSample()]) {
      expect(tok.encode(text)).toEqual(refWasm(text));
      expect(tokJs.encode(text)).toEqual(refJs(text));
    }
  });

  test('U+0085 / U+FEFF: default follows GPT-2 (tiktoken), whitespace "ecmascript" follows js-tiktoken', () => {
    for (const text of Object.values(WS_DIVERGENT)) {
      expect(tok.encode(text)).toEqual(refWasm(text));
      expect(tokJs.encode(text)).toEqual(refJs(text));
      // The two references really disagree here (so the mode matters and both assertions above can fail).
      expect(refJs(text)).not.toEqual(refWasm(text));
    }
  });

  test('3,000 random strings of tricky characters equal both references', () => {
    const strings = fuzzStrings(3000, 12345);
    let mismatches = 0;
    for (const s of strings) {
      if (JSON.stringify(tok.encode(s)) !== JSON.stringify(refWasm(s))) mismatches++;
      if (JSON.stringify(tokJs.encode(s)) !== JSON.stringify(refJs(s))) mismatches++;
    }
    expect(mismatches).toBe(0);
    // sanity: the fuzz strings exercise multi-token pieces
    expect(strings.reduce((n, s) => n + tok.encode(s).length, 0)).toBeGreaterThan(20000);
  });

  test('fuzzing with U+0085 and U+FEFF in the pool, each mode against its reference', () => {
    const pool = [' ', ' ', '\t', '\n', 'a', 'b', "'", 's', '1', '.', '\u0085', '\ufeff', '\u00a0', 'é'];
    for (const s of fuzzStrings(1500, 99, pool)) {
      expect(tok.encode(s)).toEqual(refWasm(s));
      expect(tokJs.encode(s)).toEqual(refJs(s));
    }
  });

  test('special tokens allowed: <|endoftext|> becomes 50256 exactly as js-tiktoken with allowedSpecial "all"', () => {
    const text = CORPUS.special_looking;
    expect(tok.encode(text, { allowedSpecial: 'all' })).toEqual(jsTiktoken.encode(text, 'all'));
    expect(tok.encode(text, { allowedSpecial: new Set(['<|endoftext|>']) })).toEqual(Array.from(tiktoken.encode(text, 'all')));
    expect(tok.encode(text, { allowedSpecial: 'all' })).toContain(50256);
    expect(tok.encode(text)).not.toContain(50256);
  });
});
