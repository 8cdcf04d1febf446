import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Rng } from '@gptlab/common';
import type { ShardTokenizer } from '../src';

/** A byte-level tokenizer: id = byte + offset; eos = offset + 256. */
export function byteTokenizer(offset = 0, vocabSize = 257 + offset): ShardTokenizer & { decode(ids: ArrayLike<number>): string } {
  return {
    vocabSize,
    eosId: offset + 256,
    encode: (text: string) => Array.from(Buffer.from(text, 'utf8'), (b) => b + offset),
    decode: (ids: ArrayLike<number>) => Buffer.from(Array.from(ids, (i) => i - offset)).toString('utf8'),
    hash: () => `bytes+${offset}`,
  };
}

export function tmpDir(prefix = 'gptlab-data-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Independent reference: word 5-gram shingles as strings (lower-cased, split on non-alphanumerics). */
export function refShingles(text: string, n = 5): Set<string> {
  const words = text
    .toLowerCase()
    .split(/[^a-z0-9\u0080-\uffff]+/)
    .filter(Boolean);
  const out = new Set<string>();
  if (words.length === 0) return out;
  if (words.length < n) {
    out.add(words.join(' '));
    return out;
  }
  for (let i = 0; i + n <= words.length; i++) out.add(words.slice(i, i + n).join(' '));
  return out;
}

export function refJaccard(a: Set<string>, b: Set<string>): number {
  let inter = 0;
  for (const x of a) if (b.has(x)) inter++;
  const u = a.size + b.size - inter;
  return u === 0 ? 1 : inter / u;
}

/** Uniform floats in [0, 1) for test data, from the one seeded PRNG of gptlab. */
export function uniform(seed: number): () => number {
  const rng = new Rng(seed);
  return () => rng.next();
}

const WORDS =
  'river mountain quiet lantern copper window garden stone silver morning harbor meadow thunder candle forest ocean valley winter summer bridge castle feather shadow engine market village orchard island desert canyon glacier breeze ember marble velvet compass anchor signal rhythm puzzle ladder mirror basket pillow blanket kettle saddle tunnel tower beacon'.split(
    ' ',
  );

/** A random document of `n` words from a fixed vocabulary. */
export function randomDoc(rand: () => number, n: number): string {
  const w: string[] = [];
  for (let i = 0; i < n; i++) w.push(WORDS[Math.floor(rand() * WORDS.length)]! + (rand() < 0.3 ? String(Math.floor(rand() * 100)) : ''));
  return w.join(' ');
}

/** Replaces `k` random words of `text` with fresh random tokens. */
export function editWords(text: string, k: number, rand: () => number): string {
  const w = text.split(' ');
  for (let i = 0; i < k; i++) w[Math.floor(rand() * w.length)] = `edit${Math.floor(rand() * 1e9)}`;
  return w.join(' ');
}
