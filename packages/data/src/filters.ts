import type { Stage } from './types';
import { createStage } from './stage';

/** Gopher-style heuristic quality rules (Rae et al. 2021, "Scaling Language Models: Methods, Analysis & Insights from Training Gopher", appendix A). */
export interface FilterConfig {
  /** Word count bounds (Gopher: 50–100,000). */
  minWords: number;
  maxWords: number;
  /** Character bounds on the whole document. */
  minChars: number;
  maxChars: number;
  /** Mean word length bounds in characters (Gopher: 3–10). */
  minMeanWordLength: number;
  maxMeanWordLength: number;
  /** Occurrences of '#' and of ellipses ('...' or '…') per word (Gopher: ≤ 0.1). */
  maxSymbolWordRatio: number;
  /** Fraction of non-space characters that are Unicode symbols or other non-letter/digit/punctuation characters. */
  maxSymbolCharRatio: number;
  /** Fraction of non-space characters that are digits. */
  maxDigitRatio: number;
  /** Fraction of lines starting with a bullet (Gopher: ≤ 0.9). */
  maxBulletLineRatio: number;
  /** Fraction of lines ending with an ellipsis (Gopher: ≤ 0.3). */
  maxEllipsisLineRatio: number;
  /** Fraction of words containing at least one letter (Gopher: ≥ 0.8). */
  minAlphaWordRatio: number;
  /** Minimum number of stop words from `stopWords` present (Gopher: 2 of the, be, to, of, and, that, have, with). */
  minStopWords: number;
  stopWords: string[];
  /** Fraction of non-empty lines that duplicate an earlier line of the same document (Gopher: ≤ 0.3). */
  maxRepeatedLineRatio: number;
  /** Fraction of characters in duplicated lines (Gopher: ≤ 0.2). */
  maxRepeatedLineCharRatio: number;
}

/** The Gopher paper's thresholds, for long web documents. */
export const GOPHER_FILTERS: FilterConfig = {
  minWords: 50,
  maxWords: 100_000,
  minChars: 1,
  maxChars: Infinity,
  minMeanWordLength: 3,
  maxMeanWordLength: 10,
  maxSymbolWordRatio: 0.1,
  maxSymbolCharRatio: 0.1,
  maxDigitRatio: 0.3,
  maxBulletLineRatio: 0.9,
  maxEllipsisLineRatio: 0.3,
  minAlphaWordRatio: 0.8,
  minStopWords: 2,
  stopWords: ['the', 'be', 'to', 'of', 'and', 'that', 'have', 'with'],
  maxRepeatedLineRatio: 0.3,
  maxRepeatedLineCharRatio: 0.2,
};

/**
 * Defaults of this package: the Gopher rules with the length and stop-word rules relaxed so that short, clean
 * texts such as WordNet glosses ("a separate and self-contained entity") pass, while junk (symbol soup, digit
 * tables, repeated lines, one-word fragments) is still dropped. Use GOPHER_FILTERS for web-scale documents.
 */
export const DEFAULT_FILTERS: FilterConfig = {
  ...GOPHER_FILTERS,
  minWords: 2,
  minChars: 10,
  minMeanWordLength: 2,
  maxMeanWordLength: 12,
  minAlphaWordRatio: 0.7,
  minStopWords: 0,
};

export interface FilterResult {
  keep: boolean;
  /** The first rule that failed (snake_case), when keep is false. */
  reason?: string;
  detail?: string;
}

const WORD_RE = /\S+/g;
const LETTER_RE = /\p{L}/u;
const BULLET_RE = /^\s*(?:[-*•‣◦⁃∙·●○■□▪▫➢➤►▶]|\d+[.)])\s/u;
const ELLIPSIS_END_RE = /(?:\.\.\.|…)\s*$/;

/** Applies the heuristic rules to one text. */
export function checkText(text: string, cfg: FilterConfig = DEFAULT_FILTERS): FilterResult {
  if (text.length < cfg.minChars) return { keep: false, reason: 'too_short_chars', detail: `${text.length} chars` };
  if (text.length > cfg.maxChars) return { keep: false, reason: 'too_long_chars', detail: `${text.length} chars` };
  const words = text.match(WORD_RE) ?? [];
  const n = words.length;
  if (n < cfg.minWords) return { keep: false, reason: 'too_few_words', detail: `${n} words` };
  if (n > cfg.maxWords) return { keep: false, reason: 'too_many_words', detail: `${n} words` };
  let letters = 0;
  let wordChars = 0;
  let hashes = 0;
  let ellipses = 0;
  let stop = 0;
  const stopSet = cfg.minStopWords > 0 ? new Set(cfg.stopWords) : null;
  for (const w of words) {
    // strip surrounding punctuation for the length / stop-word rules
    const core = w.replace(/^[^\p{L}\p{N}]+|[^\p{L}\p{N}]+$/gu, '');
    wordChars += core.length || w.length;
    if (LETTER_RE.test(w)) letters++;
    for (let i = 0; i < w.length; i++) if (w.charCodeAt(i) === 35) hashes++;
    if (w.includes('...') || w.includes('…')) ellipses++;
    if (stopSet && stopSet.has(core.toLowerCase())) stop++;
  }
  const mean = wordChars / n;
  if (mean < cfg.minMeanWordLength) return { keep: false, reason: 'mean_word_length_low', detail: mean.toFixed(2) };
  if (mean > cfg.maxMeanWordLength) return { keep: false, reason: 'mean_word_length_high', detail: mean.toFixed(2) };
  const symWord = (hashes + ellipses) / n;
  if (symWord > cfg.maxSymbolWordRatio) return { keep: false, reason: 'symbol_word_ratio', detail: symWord.toFixed(3) };
  let nonSpace = 0;
  let digits = 0;
  let symbols = 0;
  for (const ch of text) {
    const c = ch.codePointAt(0)!;
    if (c === 32 || c === 10 || c === 9) continue;
    nonSpace++;
    if (c >= 48 && c <= 57) digits++;
    else if (c < 128) {
      // ASCII symbols (not letters, digits or ordinary punctuation)
      if ('$%&*+<=>@\\^_`|~#{}[]/'.includes(ch)) symbols++;
    } else if (/[\p{S}\p{Co}\p{Cn}\uFFFD]/u.test(ch)) symbols++;
  }
  const digitRatio = nonSpace ? digits / nonSpace : 0;
  if (digitRatio > cfg.maxDigitRatio) return { keep: false, reason: 'digit_ratio', detail: digitRatio.toFixed(3) };
  const symRatio = nonSpace ? symbols / nonSpace : 0;
  if (symRatio > cfg.maxSymbolCharRatio) return { keep: false, reason: 'symbol_char_ratio', detail: symRatio.toFixed(3) };
  const alpha = letters / n;
  if (alpha < cfg.minAlphaWordRatio) return { keep: false, reason: 'alpha_word_ratio', detail: alpha.toFixed(3) };
  if (stopSet && stop < cfg.minStopWords) return { keep: false, reason: 'too_few_stop_words', detail: `${stop}` };
  const lines = text.split('\n').filter((l) => l.trim().length > 0);
  if (lines.length > 1) {
    let bullets = 0;
    let ell = 0;
    let dupLines = 0;
    let dupChars = 0;
    let totalChars = 0;
    const seen = new Set<string>();
    for (const l of lines) {
      if (BULLET_RE.test(l)) bullets++;
      if (ELLIPSIS_END_RE.test(l)) ell++;
      totalChars += l.length;
      if (seen.has(l)) {
        dupLines++;
        dupChars += l.length;
      } else seen.add(l);
    }
    if (bullets / lines.length > cfg.maxBulletLineRatio)
      return { keep: false, reason: 'bullet_line_ratio', detail: (bullets / lines.length).toFixed(3) };
    if (ell / lines.length > cfg.maxEllipsisLineRatio)
      return { keep: false, reason: 'ellipsis_line_ratio', detail: (ell / lines.length).toFixed(3) };
    if (dupLines / lines.length > cfg.maxRepeatedLineRatio)
      return { keep: false, reason: 'repeated_lines', detail: (dupLines / lines.length).toFixed(3) };
    if (dupChars / totalChars > cfg.maxRepeatedLineCharRatio)
      return { keep: false, reason: 'repeated_line_chars', detail: (dupChars / totalChars).toFixed(3) };
  } else if (lines.length === 1) {
    if (ELLIPSIS_END_RE.test(lines[0]!) && cfg.maxEllipsisLineRatio < 1)
      return { keep: false, reason: 'ellipsis_line_ratio', detail: '1.000' };
  }
  return { keep: true };
}

/** Heuristic filter stage; `config` overrides individual fields of DEFAULT_FILTERS (or of `base`). */
export function filterStage(config: Partial<FilterConfig> = {}, base: FilterConfig = DEFAULT_FILTERS): Stage {
  const cfg: FilterConfig = { ...base, ...config };
  return createStage('filter', async function* (input, ctx) {
    ctx.stats.extra.config = { ...cfg, maxChars: Number.isFinite(cfg.maxChars) ? cfg.maxChars : null };
    for await (const doc of input) {
      const r = checkText(doc.text, cfg);
      if (r.keep) yield doc;
      else ctx.drop(doc, r.reason!, r.detail);
    }
  });
}
