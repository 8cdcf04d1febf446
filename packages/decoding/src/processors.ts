// Logits processors: small, pure functions over one row of scores, described by plain data.
//
// Names and semantics follow Hugging Face `generate` (and OpenAI for presence/frequency penalties):
//   repetitionPenalty  CTRL (Keskar et al. 2019): for every token already in the context (prompt included),
//                      score < 0 ? score·θ : score/θ
//   presence/frequency OpenAI: score[j] -= count_j·frequency + [count_j > 0]·presence, counts over the
//                      generated tokens only
//   noRepeatNgram      ban any token that would repeat an n-gram already in the context (prompt included)
//   badWords           ban single tokens; ban the last token of a multi-token sequence when the context ends
//                      with the rest of it
//   logitBias          add a fixed bias per token id
//   temperature        score / T
//   topK               keep the k highest scores (ties with the k-th kept)
//   topP (nucleus)     keep the smallest set of highest-probability tokens whose mass reaches p
//   minP               keep tokens with prob >= minP · max prob
//   typicalP           locally typical sampling (Meister et al. 2022): keep tokens closest to the entropy
//                      until their mass reaches p
// Removed tokens get -Infinity. The warpers (temperature … typicalP) keep at least one token.

import { kthLargest } from '@gptlab/common';
import { logSoftmax } from './math';

export interface ProcessorContext {
  /** The whole context of this row: prompt followed by the tokens generated so far. */
  readonly tokens: readonly number[];
  /** How many of `tokens` are the prompt. */
  readonly promptLength: number;
}

export type ProcessorSpec =
  | { type: 'repetitionPenalty'; penalty: number }
  | { type: 'presenceFrequencyPenalty'; presence: number; frequency: number }
  | { type: 'noRepeatNgram'; size: number }
  | { type: 'badWords'; ids: number[][] }
  | { type: 'logitBias'; bias: [number, number][] }
  | { type: 'temperature'; value: number }
  | { type: 'topK'; k: number }
  | { type: 'topP'; p: number }
  | { type: 'minP'; p: number }
  | { type: 'typicalP'; p: number };

/** A processor edits `scores` (one row, length vocab) in place. */
export type LogitsProcessor = (scores: Float64Array, ctx: ProcessorContext) => void;

export function repetitionPenalty(penalty: number): LogitsProcessor {
  return (scores, ctx) => {
    const seen = new Set(ctx.tokens);
    for (const t of seen) {
      const s = scores[t];
      scores[t] = s < 0 ? s * penalty : s / penalty;
    }
  };
}

export function presenceFrequencyPenalty(presence: number, frequency: number): LogitsProcessor {
  return (scores, ctx) => {
    const counts = new Map<number, number>();
    for (let i = ctx.promptLength; i < ctx.tokens.length; i++) {
      const t = ctx.tokens[i];
      counts.set(t, (counts.get(t) ?? 0) + 1);
    }
    for (const [t, c] of counts) scores[t] -= c * frequency + presence;
  };
}

/** Tokens that would complete an n-gram already present in `tokens` (Hugging Face `_get_ngrams` rule). */
export function bannedNgramTokens(tokens: readonly number[], n: number): Set<number> {
  const banned = new Set<number>();
  const len = tokens.length;
  if (n < 1 || len + 1 < n) return banned;
  if (n === 1) {
    for (const t of tokens) banned.add(t);
    return banned;
  }
  // prefix = last n-1 tokens; find every earlier occurrence of it followed by a token
  const start = len - (n - 1);
  for (let i = 0; i + n <= len; i++) {
    let match = true;
    for (let j = 0; j < n - 1; j++) {
      if (tokens[i + j] !== tokens[start + j]) {
        match = false;
        break;
      }
    }
    if (match) banned.add(tokens[i + n - 1]);
  }
  return banned;
}

export function noRepeatNgram(size: number): LogitsProcessor {
  return (scores, ctx) => {
    for (const t of bannedNgramTokens(ctx.tokens, size)) scores[t] = -Infinity;
  };
}

export function badWords(ids: number[][]): LogitsProcessor {
  const single = ids.filter((s) => s.length === 1).map((s) => s[0]);
  const multi = ids.filter((s) => s.length > 1);
  return (scores, ctx) => {
    for (const t of single) scores[t] = -Infinity;
    const toks = ctx.tokens;
    for (const seq of multi) {
      const m = seq.length - 1;
      if (toks.length < m) continue;
      let match = true;
      for (let j = 0; j < m; j++) {
        if (toks[toks.length - m + j] !== seq[j]) {
          match = false;
          break;
        }
      }
      if (match) scores[seq[m]] = -Infinity;
    }
  };
}

export function logitBias(bias: [number, number][]): LogitsProcessor {
  return (scores) => {
    for (const [t, b] of bias) scores[t] += b;
  };
}

export function temperature(value: number): LogitsProcessor {
  return (scores) => {
    for (let i = 0; i < scores.length; i++) scores[i] /= value;
  };
}

export function topK(k: number): LogitsProcessor {
  return (scores) => {
    if (k < 1 || k >= scores.length) return; // 0 = off, as Hugging Face
    const kth = kthLargest(scores, k);
    for (let i = 0; i < scores.length; i++) if (scores[i] < kth) scores[i] = -Infinity;
  };
}

export function topP(p: number): LogitsProcessor {
  return (scores) => {
    const lp = logSoftmax(scores);
    // Only tokens with prob >= (1-p)/V can be in the nucleus: everything at or below a smaller prob weighs
    // < V·(1-p)/V = 1-p in total, so the mass above it is > p. Sorting just those keeps this fast on 50k vocabs.
    const floor = Math.log((1 - p) / lp.length);
    let n = 0;
    for (let i = 0; i < lp.length; i++) if (lp[i] >= floor) n++;
    const sorted = new Float64Array(n);
    for (let i = 0, j = 0; i < lp.length; i++) if (lp[i] >= floor) sorted[j++] = lp[i];
    sorted.sort().reverse();
    // keep tokens while the mass strictly above them is < p (always keeps the top token); tokens tied with
    // the last kept one are kept too
    let cum = 0;
    let cutoff = sorted.length > 0 ? sorted[0] : Infinity;
    for (let j = 0; j < sorted.length; j++) {
      if (cum >= p) break;
      cutoff = sorted[j];
      cum += Math.exp(sorted[j]);
    }
    for (let i = 0; i < lp.length; i++) if (lp[i] < cutoff) scores[i] = -Infinity;
  };
}

export function minP(p: number): LogitsProcessor {
  return (scores) => {
    const lp = logSoftmax(scores);
    let maxLp = -Infinity;
    for (let i = 0; i < lp.length; i++) if (lp[i] > maxLp) maxLp = lp[i];
    const threshold = Math.log(p) + maxLp; // prob < p·maxProb  ⇔  logprob < log p + max logprob
    for (let i = 0; i < lp.length; i++) if (lp[i] < threshold) scores[i] = -Infinity;
  };
}

export function typicalP(p: number): LogitsProcessor {
  return (scores) => {
    const lp = logSoftmax(scores);
    let ent = 0;
    for (let i = 0; i < lp.length; i++) if (lp[i] > -Infinity) ent -= lp[i] * Math.exp(lp[i]);
    const shifted = new Float64Array(lp.length);
    for (let i = 0; i < lp.length; i++) shifted[i] = Math.abs(-lp[i] - ent);
    const order: number[] = [];
    for (let i = 0; i < lp.length; i++) if (lp[i] > -Infinity) order.push(i);
    order.sort((a, b) => shifted[a] - shifted[b] || a - b);
    // last kept position: number of sorted tokens whose cumulative mass is still < p (HF TypicalLogitsWarper)
    let cum = 0;
    let last = 0;
    for (let j = 0; j < order.length; j++) {
      cum += Math.exp(lp[order[j]]);
      if (cum < p) last = j + 1;
      else break;
    }
    last = Math.min(last, order.length - 1);
    const cutoff = shifted[order[last]];
    for (let i = 0; i < lp.length; i++) if (!(shifted[i] <= cutoff)) scores[i] = -Infinity;
  };
}

type Builders = { [T in ProcessorSpec['type']]: (spec: Extract<ProcessorSpec, { type: T }>) => LogitsProcessor };

const BUILDERS: Builders = {
  repetitionPenalty: (s) => repetitionPenalty(s.penalty),
  presenceFrequencyPenalty: (s) => presenceFrequencyPenalty(s.presence, s.frequency),
  noRepeatNgram: (s) => noRepeatNgram(s.size),
  badWords: (s) => badWords(s.ids),
  logitBias: (s) => logitBias(s.bias),
  temperature: (s) => temperature(s.value),
  topK: (s) => topK(s.k),
  topP: (s) => topP(s.p),
  minP: (s) => minP(s.p),
  typicalP: (s) => typicalP(s.p),
};

export function createProcessor(spec: ProcessorSpec): LogitsProcessor {
  const type = (spec as { type: unknown }).type;
  if (typeof type !== 'string' || !Object.hasOwn(BUILDERS, type)) throw new Error(`unknown processor type ${JSON.stringify(type)}`);
  return (BUILDERS[spec.type] as (s: ProcessorSpec) => LogitsProcessor)(spec);
}

/** Apply processors in order to a copy-free row; returns `scores` for chaining. */
export function applyProcessors(processors: readonly LogitsProcessor[], scores: Float64Array, ctx: ProcessorContext): Float64Array {
  for (const p of processors) p(scores, ctx);
  return scores;
}
