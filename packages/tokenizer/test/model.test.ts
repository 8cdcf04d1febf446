// The BPE merge loop against a direct port of GPT-2's encoder.py `bpe()` (string symbols, full rescans),
// for short pieces (array path) and long ones (> 96 bytes: linked list + heap path).
import * as fs from 'node:fs';
import { bytesToByteLevel, parseMergesText } from '../src';
import { Rng } from '@gptlab/common';
import { ENCODER_JSON, VOCAB_BPE, gpt2Tokenizer } from './helpers';

const encoder: Record<string, number> = JSON.parse(fs.readFileSync(ENCODER_JSON, 'utf8'));
const ranks = new Map<string, number>();
parseMergesText(fs.readFileSync(VOCAB_BPE, 'utf8'), 'vocab.bpe').merges.forEach(([a, b], i) => ranks.set(`${a} ${b}`, i));

/** openai/gpt-2 src/encoder.py Encoder.bpe, transliterated. */
function referenceBpe(token: string): string[] {
  let word = [...token];
  if (word.length < 2) return word;
  for (;;) {
    let best: [string, string] | null = null;
    let bestRank = Infinity;
    for (let i = 0; i + 1 < word.length; i++) {
      const r = ranks.get(`${word[i]} ${word[i + 1]}`);
      if (r !== undefined && r < bestRank) {
        bestRank = r;
        best = [word[i], word[i + 1]];
      }
    }
    if (!best) break;
    const [first, second] = best;
    const next: string[] = [];
    let i = 0;
    while (i < word.length) {
      const j = word.indexOf(first, i);
      if (j < 0) {
        next.push(...word.slice(i));
        break;
      }
      next.push(...word.slice(i, j));
      i = j;
      if (word[i] === first && i < word.length - 1 && word[i + 1] === second) {
        next.push(first + second);
        i += 2;
      } else {
        next.push(word[i]);
        i += 1;
      }
    }
    word = next;
    if (word.length === 1) break;
  }
  return word;
}

const referenceIds = (piece: string) => referenceBpe(bytesToByteLevel(new TextEncoder().encode(piece))).map((t) => encoder[t]);

describe('BPE merge loop', () => {
  const tok = gpt2Tokenizer();

  test('short and long pieces equal encoder.py bpe()', () => {
    const r = new Rng(3);
    const alphabet = ['a', 'b', 'e', 'r', 't', 'h', 'in', 'ing', 'the', ' ', 'é', '中', '😀', '1', '0', '!', '='];
    const pieces: string[] = ['hello', ' the', 'aaaa', 'aaaaa', ' internationalization', 'ﬁ'];
    for (let i = 0; i < 400; i++) {
      const len = i < 300 ? 1 + Math.floor(r.next() * 30) : 40 + Math.floor(r.next() * 200); // last 100 are long
      let s = '';
      for (let j = 0; j < len; j++) s += alphabet[Math.floor(r.next() * alphabet.length)];
      pieces.push(s);
    }
    pieces.push('1'.repeat(500), ' ' + 'ab'.repeat(300), 'ha'.repeat(64) + 'h', '='.repeat(97), 'é'.repeat(49));
    let long = 0;
    for (const p of pieces) {
      if (new TextEncoder().encode(p).length > 96) long++;
      expect(tok.model.encodeWord(p)).toEqual(referenceIds(p));
    }
    expect(long).toBeGreaterThan(90);
  });

  test('a 20,000-digit number encodes fast (no quadratic merge loop) and equals the reference', () => {
    const digits = Array.from({ length: 20000 }, (_, i) => String((i * 7919) % 10)).join('');
    const t0 = performance.now();
    const ids = tok.encode(digits);
    const ms = performance.now() - t0;
    expect(ids).toEqual(referenceIds(digits));
    expect(tok.decode(ids)).toBe(digits);
    expect(ms).toBeLessThan(5000); // generous: a quadratic loop would take minutes
  });

  test('merge ranks: the first merges of GPT-2 are "Ġ t", "Ġ a", "h e"', () => {
    const m = tok.model;
    expect(m.merges.slice(0, 3)).toEqual([
      ['Ġ', 't'],
      ['Ġ', 'a'],
      ['h', 'e'],
    ]);
    expect(m.mergeRank(tok.tokenToId('Ġ')!, tok.tokenToId('t')!)).toBe(0);
    expect(m.mergeRank(tok.tokenToId('t')!, tok.tokenToId('Ġ')!)).toBe(-1);
  });
});
