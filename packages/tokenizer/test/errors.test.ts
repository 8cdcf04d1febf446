// Bad input: clear errors naming the file and line (or field), never a crash deep inside.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BPETokenizer } from '../src';
import { ENCODER_JSON, VOCAB_BPE, gpt2Tokenizer } from './helpers';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gptlab-tok-err-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const write = (name: string, text: string) => {
  const p = path.join(tmp, name);
  fs.writeFileSync(p, text);
  return p;
};

// A small valid byte-level vocabulary: 256 bytes + "ab" + "abc".
const B = (s: string) =>
  [...new TextEncoder().encode(s)].map((b) => gpt2Tokenizer().idToToken(gpt2Tokenizer().model.byteToId[b])!).join('');
function smallVocab(extra: string[] = []): Record<string, number> {
  const v: Record<string, number> = {};
  for (let b = 0; b < 256; b++) v[gpt2Tokenizer().idToToken(gpt2Tokenizer().model.byteToId[b])!] = b;
  ['ab', 'abc', ...extra].forEach((t, i) => (v[t] = 256 + i));
  return v;
}

describe('bad vocab / merges files', () => {
  test('a merges line naming an unknown symbol: file and line', () => {
    const v = write('vocab.json', JSON.stringify(smallVocab()));
    const m = write('merges.txt', '#version: 0.2\na b\nab c\nxy z\n');
    expect(() => BPETokenizer.fromGPT2Files(v, m)).toThrow('merges.txt:4: unknown symbol "xy" (not in vocab.json)');
  });

  test('a merge whose result is not in the vocabulary (mismatched files)', () => {
    const v = write('vocab.json', JSON.stringify(smallVocab()));
    const m = write('merges.txt', '#version: 0.2\na b\nb c\n');
    expect(() => BPETokenizer.fromGPT2Files(v, m)).toThrow(
      /merges\.txt:3: merge result "bc" of "b c" is not in vocab\.json \(mismatched vocab and merges files\?\)/,
    );
  });

  test("GPT-2's merges with another vocabulary", () => {
    const v = write('vocab.json', JSON.stringify(smallVocab()));
    expect(() => BPETokenizer.fromGPT2Files(v, VOCAB_BPE)).toThrow(/vocab\.bpe:2: merge result "Ġt" of "Ġ t" is not in vocab\.json/);
  });

  test('malformed merges lines', () => {
    const v = write('vocab.json', JSON.stringify(smallVocab()));
    expect(() => BPETokenizer.fromGPT2Files(v, write('m1.txt', '#version: 0.2\na b\nabc\n'))).toThrow(
      'm1.txt:3: expected two symbols separated by one space, got "abc"',
    );
    expect(() => BPETokenizer.fromGPT2Files(v, write('m2.txt', 'a b\na  b\n'))).toThrow(/m2\.txt:2: expected two symbols/);
    expect(() => BPETokenizer.fromGPT2Files(v, write('m3.txt', 'a b\n\na b\n'))).toThrow('m3.txt:2: empty line inside the merges list');
    expect(() => BPETokenizer.fromGPT2Files(v, write('m4.txt', 'a b\nab c\na b\n'))).toThrow(
      'm4.txt:3: duplicate merge "a b" (first at line 1)',
    );
  });

  test('malformed vocab files', () => {
    const m = write('merges.txt', 'a b\n');
    expect(() => BPETokenizer.fromGPT2Files(write('v1.json', '{"a": 1,'), m)).toThrow(/^v1\.json: not valid JSON/);
    expect(() => BPETokenizer.fromGPT2Files(write('v2.json', '[1, 2]'), m)).toThrow(
      'v2.json: expected a JSON object {token: id}, got an array',
    );
    expect(() => BPETokenizer.fromGPT2Files(write('v3.json', JSON.stringify({ ...smallVocab(), x: -3 })), m)).toThrow(
      'v3.json: token "x" has id -3; ids must be integers in [0, 2^27)',
    );
    expect(() => BPETokenizer.fromGPT2Files(write('v4.json', JSON.stringify({ ...smallVocab(), x: 'one' })), m)).toThrow(
      /v4\.json: token "x" has id "one"/,
    );
    expect(() => BPETokenizer.fromGPT2Files(write('v5.json', JSON.stringify({ ...smallVocab(), x: 3 })), m)).toThrow(
      /v5\.json: id 3 is used by two tokens, ".+" and "x"/,
    );
    const noBytes = smallVocab();
    delete noBytes['Ā'];
    expect(() => BPETokenizer.fromGPT2Files(write('v6.json', JSON.stringify(noBytes)), m)).toThrow(
      /v6\.json: the byte-level token "Ā" \(byte 0x00\) is missing/,
    );
  });

  test('swapped arguments are diagnosed', () => {
    expect(() => BPETokenizer.fromGPT2Files(VOCAB_BPE, ENCODER_JSON)).toThrow(
      /vocab\.bpe: not valid JSON .*did you swap the vocab and merges arguments\?/,
    );
  });

  test('missing files name the path', () => {
    expect(() => BPETokenizer.fromGPT2Files(path.join(tmp, 'nope.json'), VOCAB_BPE)).toThrow(
      /fromGPT2Files: cannot read .*nope\.json \(ENOENT\)/,
    );
    expect(() => BPETokenizer.load(path.join(tmp, 'nope', 'tokenizer.json'))).toThrow(/load: cannot read .*tokenizer\.json \(ENOENT\)/);
    expect(() => BPETokenizer.fromDir(tmp + '/none')).toThrow(
      /has none of tokenizer\.json, vocab\.json \+ merges\.txt, encoder\.json \+ vocab\.bpe/,
    );
  });

  test('bad tokenizer.json', () => {
    const base = BPETokenizer.train(['the cat sat on the mat; the cat ate the rat'], { vocabSize: 270, minFrequency: 1 }).toJSON() as any;
    const m0 = base.model.merges[0];
    const t = (obj: unknown, name: string) => () => BPETokenizer.load(write(name, typeof obj === 'string' ? obj : JSON.stringify(obj)));
    expect(t('{oops', 't1.json')).toThrow(/^t1\.json: not valid JSON/);
    expect(t({ ...base, model: { ...base.model, type: 'WordPiece' } }, 't2.json')).toThrow(
      't2.json: model.type is "WordPiece"; only "BPE" is supported',
    );
    expect(t({ ...base, model: { ...base.model, merges: [m0, 'oops'] } }, 't3.json')).toThrow(
      't3.json: model.merges[1] must be "left right" or ["left", "right"], got the string "oops"',
    );
    expect(t({ ...base, model: { ...base.model, merges: [m0, 'q notAToken'] } }, 't4.json')).toThrow(
      't4.json: model.merges[1]: unknown symbol "notAToken"',
    );
    expect(t({ ...base, pre_tokenizer: { type: 'Whitespace' } }, 't5.json')).toThrow(/t5\.json: pre_tokenizer .* is not supported/);
    expect(t({ ...base, normalizer: { type: 'Lowercase' } }, 't6.json')).toThrow(
      't6.json: normalizer "Lowercase" is not supported (null, NFC, NFD, NFKC, NFKD)',
    );
    expect(t({ ...base, added_tokens: [{ id: 'x', content: '<x>' }] }, 't7.json')).toThrow(
      't7.json: added_tokens[0] must have a string "content" and an integer "id"',
    );
    expect(t({ ...base, added_tokens: [{ id: 3, content: '<x>' }] }, 't9.json')).toThrow(
      /special token "<x>" has id 3, which is the ordinary token/,
    );
    expect(t({ ...base, model: { ...base.model, vocab: { ...base.model.vocab, bad: 1.5 } } }, 't8.json')).toThrow(
      /t8\.json: model\.vocab: token "bad" has id 1\.5/,
    );
  });
});

describe('bad arguments', () => {
  const tok = gpt2Tokenizer();
  test('non-string input to encode', () => {
    expect(() => tok.encode(42 as never)).toThrow('encode: expected a string, got number 42');
    expect(() => tok.encode(null as never)).toThrow('encode: expected a string, got null');
    expect(() => tok.encode(undefined as never)).toThrow('encode: expected a string, got undefined undefined');
    expect(() => tok.encode(['a'] as never)).toThrow('encode: expected a string, got an array');
    expect(() => tok.encode('a', 'all' as never)).toThrow(/encode: options must be an object/);
  });
  test('bad arguments to loaders and addSpecialTokens', () => {
    expect(() => BPETokenizer.fromGPT2Files(undefined as never, VOCAB_BPE)).toThrow(
      /fromGPT2Files: encoderJsonPath must be a path string, got undefined/,
    );
    expect(() => tok.addSpecialTokens('<s>' as never)).toThrow(/addSpecialTokens: expected an array of strings/);
    expect(() => tok.addSpecialTokens([''])).toThrow(/addSpecialTokens: tokens\[0\] must be a non-empty string/);
  });
  test('helper B spells byte-level strings (sanity of the fixtures above)', () => {
    expect(B(' a')).toBe('Ġa');
  });
});
