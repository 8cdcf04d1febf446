// Byte-level BPE training (the algorithm of Sennrich et al. 2016 on bytes, as GPT-2 / Hugging Face `BpeTrainer`),
// in three phases, one module each: count the corpus's pre-tokenised pieces (train-words.ts), count the adjacent
// pairs of their byte symbols (train-pairs.ts), and merge the most frequent pair until the vocabulary is full
// (train-merge.ts). This file checks the options, runs the phases and assembles the vocabulary.

import { BYTE_TO_CHAR } from './bytes';
import { describe } from './io';
import type { Normalizer } from './normalizer';
import { GPT2PreTokenizer, type PreTokenizer } from './pretokenizer';
import { mergeLoop } from './train-merge';
import { PairTable } from './train-pairs';
import { countWords, spellWords } from './train-words';

export interface TrainProgress {
  phase: 'count' | 'merge' | 'done';
  /** Texts read so far (count phase). */
  texts: number;
  /** Distinct pre-tokenised pieces (words). */
  words: number;
  /** Merges learnt so far and the number wanted. */
  merges: number;
  targetMerges: number;
  /** Count of the pair merged last. */
  lastCount: number;
  seconds: number;
}

export interface TrainOptions {
  /** Final vocabulary size: 256 byte tokens + merges + special tokens. */
  vocabSize: number;
  /** Special tokens, appended after the merges (e.g. ['<|endoftext|>']); never split, never learnt from. */
  specialTokens?: string[];
  /** Stop when the most frequent pair occurs fewer than this many times (default 2). */
  minFrequency?: number;
  /** Called during counting (every 1,000 texts) and merging (every 256 merges) and once at the end. */
  onProgress?: (p: TrainProgress) => void;
  preTokenizer?: PreTokenizer;
  normalizer?: Normalizer;
}

export interface TrainResult {
  vocab: Map<string, number>;
  merges: Array<[string, string]>;
  specialTokens: Map<string, number>;
  stats: { words: number; pieces: number; merges: number; seconds: number; stoppedEarly: boolean };
}

/** Throws a TypeError/RangeError naming the first bad option; returns the special tokens. */
function checkOptions(texts: Iterable<string>, opts: TrainOptions): string[] {
  if (opts === null || typeof opts !== 'object') throw new TypeError(`train: options must be an object, got ${describe(opts)}`);
  const specials = opts.specialTokens ?? [];
  if (!Array.isArray(specials)) throw new TypeError(`train: specialTokens must be an array of strings, got ${describe(specials)}`);
  for (const s of specials) {
    if (typeof s !== 'string' || s === '')
      throw new TypeError(`train: specialTokens entries must be non-empty strings, got ${describe(s)}`);
  }
  if (new Set(specials).size !== specials.length) throw new Error('train: specialTokens contains duplicates');
  const V = opts.vocabSize;
  if (typeof V !== 'number' || !Number.isInteger(V) || V < 256 + specials.length || V > 1 << 21) {
    throw new RangeError(
      `train: vocabSize must be an integer in [${256 + specials.length}, ${1 << 21}] (256 byte tokens + ${specials.length} special tokens + merges), got ${describe(V)}`,
    );
  }
  const minFreq = opts.minFrequency ?? 2;
  if (typeof minFreq !== 'number' || !(minFreq >= 0))
    throw new RangeError(`train: minFrequency must be a number >= 0, got ${describe(minFreq)}`);
  if (texts === null || typeof texts !== 'object' || typeof (texts as any)[Symbol.iterator] !== 'function') {
    throw new TypeError(`train: texts must be an iterable of strings, got ${describe(texts)}`);
  }
  return specials;
}

/** The 256 byte tokens with ids 0..255 in the order of their byte-level characters, as GPT-2's encoder.json. */
function byteAlphabet(): { tokens: string[]; byteId: Int32Array } {
  const order = Array.from({ length: 256 }, (_, b) => b).sort((x, y) => BYTE_TO_CHAR[x].charCodeAt(0) - BYTE_TO_CHAR[y].charCodeAt(0));
  const byteId = new Int32Array(256);
  order.forEach((b, i) => (byteId[b] = i));
  return { tokens: order.map((b) => BYTE_TO_CHAR[b]), byteId };
}

export function trainBPE(texts: Iterable<string>, opts: TrainOptions): TrainResult {
  const t0 = performance.now();
  const specials = checkOptions(texts, opts);
  const targetMerges = opts.vocabSize - 256 - specials.length;
  const progress = opts.onProgress;
  const elapsed = () => (performance.now() - t0) / 1000;
  const report = (phase: TrainProgress['phase'], nTexts: number, words: number, merges: number, lastCount: number) =>
    progress?.({ phase, texts: nTexts, words, merges, targetMerges, lastCount, seconds: elapsed() });

  const corpus = countWords(texts, opts.preTokenizer ?? new GPT2PreTokenizer(), opts.normalizer, specials, (n, words) =>
    report('count', n, words, 0, 0),
  );
  const { tokens, byteId } = byteAlphabet();
  const words = spellWords(corpus.counts, byteId);
  corpus.counts.clear();
  const pairs = PairTable.ofWords(words, opts.vocabSize);
  const merged = mergeLoop(words, pairs, tokens, 256 + targetMerges, opts.minFrequency ?? 2, (step, lastCount) => {
    if (step % 256 === 0) report('merge', corpus.texts, words.size, step, lastCount);
  });

  // Vocabulary: byte tokens, merged tokens in the order they were made, then the special tokens.
  const vocab = new Map<string, number>();
  tokens.forEach((t, i) => vocab.set(t, i));
  const specialTokens = new Map<string, number>();
  for (const s of specials) specialTokens.set(s, vocab.size + specialTokens.size);
  const seconds = elapsed();
  report('done', corpus.texts, words.size, merged.merges.length, merged.lastCount);
  return {
    vocab,
    merges: merged.merges,
    specialTokens,
    stats: { words: words.size, pieces: corpus.pieces, merges: merged.merges.length, seconds, stoppedEarly: merged.stoppedEarly },
  };
}
