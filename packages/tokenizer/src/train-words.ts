// BPE training, phase 1: pre-tokenise the corpus and count its distinct pieces ("words"), then spell every word
// as byte-token ids, the symbols the merge loop rewrites in place. Special tokens are cut out of the text first,
// so they are never split and never learnt from.

import { utf8Encode } from './bytes';
import { describe } from './io';
import type { Normalizer } from './normalizer';
import type { PreTokenizer } from './pretokenizer';
import { specialTokenRegex } from './special-tokens';

export interface WordCounts {
  /** Distinct piece → number of occurrences. */
  counts: Map<string, number>;
  texts: number;
  /** Pieces read, with repeats. */
  pieces: number;
}

/**
 * The distinct words of a corpus: word w is syms[start[w], start[w] + len[w]) and occurs count[w] times.
 * Merging shortens words in place (len shrinks; start stays).
 */
export interface WordTable {
  size: number;
  syms: Int32Array;
  start: Int32Array;
  len: Int32Array;
  count: Float64Array;
}

/** Counts the pieces of `texts`; `onTexts(texts, words)` is called every 1,000 texts. */
export function countWords(
  texts: Iterable<string>,
  pre: PreTokenizer,
  norm: Normalizer | undefined,
  specials: readonly string[],
  onTexts?: (texts: number, words: number) => void,
): WordCounts {
  const specialRe = specials.length ? specialTokenRegex(specials) : null;
  const counts = new Map<string, number>();
  let bounds = new Int32Array(1024);
  let pieces = 0;
  let nTexts = 0;
  const countSegment = (s: string) => {
    if (norm) s = norm.normalize(s);
    if (bounds.length < s.length + 1) bounds = new Int32Array(s.length + 1024);
    const n = pre.splitRanges(s, 0, s.length, bounds);
    pieces += n;
    for (let k = 0; k < n; k++) {
      const w = s.slice(bounds[k], bounds[k + 1]);
      counts.set(w, (counts.get(w) ?? 0) + 1);
    }
  };
  for (const text of texts) {
    if (typeof text !== 'string') throw new TypeError(`train: texts[${nTexts}] is ${describe(text)}, expected a string`);
    if (specialRe) {
      let last = 0;
      for (const m of text.matchAll(specialRe)) {
        if (m.index! > last) countSegment(text.slice(last, m.index!));
        last = m.index! + m[0].length;
      }
      if (last < text.length) countSegment(last === 0 ? text : text.slice(last));
    } else countSegment(text);
    nTexts++;
    if (onTexts && nTexts % 1000 === 0) onTexts(nTexts, counts.size);
  }
  return { counts, texts: nTexts, pieces };
}

/** Every counted word as byte-token ids (`byteId[b]` is the id of byte b). */
export function spellWords(counts: ReadonlyMap<string, number>, byteId: Int32Array): WordTable {
  const size = counts.size;
  const start = new Int32Array(size);
  const len = new Int32Array(size);
  const count = new Float64Array(size);
  let maxBytes = 0;
  for (const w of counts.keys()) maxBytes += w.length * 3;
  const syms = new Int32Array(maxBytes);
  let utf8 = new Uint8Array(256);
  let at = 0;
  let w = 0;
  for (const [word, c] of counts) {
    if (utf8.length < word.length * 3) utf8 = new Uint8Array(word.length * 3 + 16);
    const n = utf8Encode(word, 0, word.length, utf8);
    start[w] = at;
    len[w] = n;
    count[w] = c;
    for (let i = 0; i < n; i++) syms[at++] = byteId[utf8[i]];
    w++;
  }
  return { size, syms: syms.subarray(0, at), start, len, count };
}
