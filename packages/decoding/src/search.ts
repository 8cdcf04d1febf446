// The three searches. All talk to the model only through `ModelSession` (feed / reorder / dispose).

import { Rng, mixSeed } from '@gptlab/common';
import { rowCandidates } from './beam-pick';
import { argmax, logSoftmax, topKIndices } from './math';
import { applyProcessors, type LogitsProcessor } from './processors';
import type { Strategy } from './schema';
import { TextStream, findStop } from './text';
import type { Detokenizer, FinishReason, GenerateResult, LanguageModel } from './types';

export interface SearchInput {
  model: LanguageModel;
  prompt: number[];
  strategy: Strategy;
  processors: LogitsProcessor[];
  tokenizer?: Detokenizer;
}

/** One generated token of one row (greedy / sample). */
export interface RowEvent {
  row: number;
  token: number;
  logprob: number;
  text: string;
}

function logSumExp(x: Float32Array): number {
  let max = -Infinity;
  for (let i = 0; i < x.length; i++) if (x[i] > max) max = x[i];
  if (!Number.isFinite(max)) throw new Error(`model returned logits with maximum ${max}`);
  let sum = 0;
  for (let i = 0; i < x.length; i++) sum += Math.exp(x[i] - max);
  return max + Math.log(sum);
}

function checkLogits(rows: Float32Array[], n: number, vocab: number): Float32Array[] {
  if (rows.length !== n) throw new Error(`model session returned ${rows.length} logit rows, expected ${n}`);
  for (const r of rows) {
    if (r.length !== vocab) throw new Error(`model session returned ${r.length} logits per row, expected vocabSize ${vocab}`);
  }
  return rows;
}

function allBanned(step: number, row: number): Error {
  return new Error(
    `decoding step ${step} (row ${row}): the logits processors removed every token ` +
      `(check badWordsIds / noRepeatNgramSize / logitBias)`,
  );
}

/** Draw an index from softmax(scores) with one uniform number. */
export function sampleFromScores(scores: Float64Array, rng: Rng): number {
  let max = -Infinity;
  for (let i = 0; i < scores.length; i++) if (scores[i] > max) max = scores[i];
  if (max === -Infinity) return -1;
  const p = new Float64Array(scores.length);
  let total = 0;
  for (let i = 0; i < scores.length; i++) {
    const e = scores[i] === -Infinity ? 0 : Math.exp(scores[i] - max);
    p[i] = e;
    total += e;
  }
  const u = rng.next53() * total; // 53-bit uniform: float32-level ties in `total` still split fairly
  let cum = 0;
  let last = -1;
  for (let i = 0; i < p.length; i++) {
    if (p[i] === 0) continue;
    cum += p[i];
    last = i;
    if (u < cum) return i;
  }
  return last; // rounding: u landed at the very top
}

/** The sampling generator of a strategy's seed (up to 2^53: both 32-bit halves count); null = random. */
export function makeRng(seed: number | null): Rng {
  if (seed === null) return new Rng((Math.random() * 0x100000000) >>> 0);
  const lo = seed % 0x100000000;
  const hi = Math.floor(seed / 0x100000000);
  return new Rng((mixSeed(hi) ^ lo) >>> 0);
}

/** One greedy / sampled sequence as it grows. */
export interface RowState {
  ids: number[];
  logprobs: number[];
  tokens: number[]; // prompt + ids (processor context)
  finish: FinishReason | null;
  text: TextStream;
}

export function newRowState(input: SearchInput): RowState {
  return {
    ids: [],
    logprobs: [],
    tokens: input.prompt.slice(),
    finish: null,
    text: new TextStream(input.tokenizer, input.strategy.stopStrings),
  };
}

export function rowResult(st: RowState): GenerateResult {
  let score = 0;
  for (const lp of st.logprobs) score += lp;
  return { ids: st.ids, text: st.text.text, logprobs: st.logprobs, score, finishReason: st.finish ?? 'length' };
}

/** What choosing a row's next token needs besides the row: one per run (its rows share the sampling Rng). */
export interface RowPicker {
  input: SearchInput;
  eos: Set<number>;
  sample: boolean;
  rng: Rng;
}

export function rowPicker(input: SearchInput): RowPicker {
  const s = input.strategy;
  return { input, eos: new Set(s.eosTokenId), sample: s.type === 'sample' && s.temperature > 0, rng: makeRng(s.seed) };
}

/**
 * Row r's token of step `step` from its raw logits: processors, then argmax or a draw from the run's Rng; the
 * raw log-prob; EOS / stop string / length bookkeeping. Shared by rowSearch and BatchedGenerator, so a row
 * decoded in a batch takes exactly the decisions it takes alone.
 */
export function pickRowToken(p: RowPicker, st: RowState, raw: Float32Array, step: number, r: number): RowEvent {
  const last = step === p.input.strategy.maxNewTokens - 1;
  const scores = new Float64Array(raw);
  applyProcessors(p.input.processors, scores, { tokens: st.tokens, promptLength: p.input.prompt.length });
  const tok = p.sample ? sampleFromScores(scores, p.rng) : argmax(scores);
  if (tok < 0) throw allBanned(step, r);
  const lp = raw[tok] - logSumExp(raw);
  st.ids.push(tok);
  st.tokens.push(tok);
  st.logprobs.push(lp);
  let text: string;
  if (p.eos.has(tok)) {
    st.finish = 'eos';
    text = st.text.finish();
  } else {
    text = st.text.push(tok, last);
    if (st.text.stopped) st.finish = 'stop';
    else if (last) st.finish = 'length';
  }
  return { row: r, token: tok, logprob: lp, text };
}

/**
 * Greedy search or sampling over `numReturnSequences` rows (the prompt is encoded once and fanned out).
 * Yields every generated token; returns the finished rows. Finished rows are dropped from the batch.
 */
export async function* rowSearch(input: SearchInput): AsyncGenerator<RowEvent, GenerateResult[]> {
  const { model, prompt, strategy: s } = input;
  const n = s.numReturnSequences;
  const picker = rowPicker(input);
  const rows: RowState[] = Array.from({ length: n }, () => newRowState(input));
  if (s.maxNewTokens === 0) return rows.map(rowResult);
  const session = model.start(1);
  try {
    let logits = checkLogits(await session.feed([prompt]), 1, model.vocabSize);
    if (n > 1) {
      session.reorder(new Array<number>(n).fill(0));
      logits = new Array<Float32Array>(n).fill(logits[0]);
    }
    let active = rows.map((_, i) => i);
    for (let step = 0; step < s.maxNewTokens; step++) {
      for (let j = 0; j < active.length; j++) yield pickRowToken(picker, rows[active[j]], logits[j], step, active[j]);
      if (step === s.maxNewTokens - 1) break;
      const keep: number[] = [];
      for (let j = 0; j < active.length; j++) if (rows[active[j]].finish === null) keep.push(j);
      if (keep.length === 0) break;
      if (keep.length < active.length) session.reorder(keep);
      active = keep.map((j) => active[j]);
      const next = active.map((r) => [rows[r].ids[rows[r].ids.length - 1]]);
      logits = checkLogits(await session.feed(next), active.length, model.vocabSize);
    }
  } finally {
    session.dispose();
  }
  return rows.map(rowResult);
}

interface Beam {
  ids: number[];
  tokens: number[];
  logprobs: number[]; // raw
  score: number; // cumulative processed log-prob (what beams are ranked by)
}

interface Hypothesis {
  beam: Beam;
  beamScore: number; // score / length^α
  finish: FinishReason;
}

/**
 * Beam search as Hugging Face's BeamSearchScorer: each step every live beam proposes its best 2·numBeams
 * tokens (scores = cumulative log-softmax after the processors); candidates are ranked by score (ties: beam
 * order, then token id); EOS / stop-string candidates ranked within the top numBeams become finished
 * hypotheses scored sum/length^lengthPenalty (length = generated tokens including EOS), the others fill
 * the next numBeams beams. At the end the live beams join the hypotheses; the best numReturnSequences return.
 */
export async function beamSearch(input: SearchInput): Promise<GenerateResult[]> {
  const { model, prompt, strategy: s, processors, tokenizer } = input;
  const K = s.numBeams;
  const alpha = s.lengthPenalty;
  const eos = new Set(s.eosTokenId);
  const stops = s.stopStrings;
  if (stops.length > 0 && !tokenizer) throw new Error('stopStrings need options.tokenizer to decode text');
  const hyps: Hypothesis[] = [];
  let worst = Infinity;
  const addHyp = (beam: Beam, len: number, finish: FinishReason) => {
    const beamScore = beam.score / Math.pow(len, alpha);
    if (hyps.length < K || beamScore > worst) {
      hyps.push({ beam, beamScore, finish });
      if (hyps.length > K) {
        let wi = 0;
        for (let i = 1; i < hyps.length; i++) if (hyps[i].beamScore < hyps[wi].beamScore) wi = i;
        hyps.splice(wi, 1);
      }
      worst = Math.min(...hyps.map((h) => h.beamScore));
    }
  };
  const textOf = (ids: number[]) => tokenizer!.decode(ids);

  let beams: Beam[] = [{ ids: [], tokens: prompt.slice(), logprobs: [], score: 0 }];
  let done = false;
  if (s.maxNewTokens > 0) {
    // the model's beam session when it has one: beams as rows of one step, reordering copies no cache
    const session = model.startBeams?.() ?? model.start(1);
    try {
      let logits = checkLogits(await session.feed([prompt]), 1, model.vocabSize);
      for (let step = 0; step < s.maxNewTokens; step++) {
        const len = step + 1;
        type Cand = { score: number; b: number; t: number; lp: number };
        const cands: Cand[] = [];
        for (let b = 0; b < beams.length; b++) {
          if (processors.length === 0) {
            // log-softmax is a per-row shift: pick the best tokens on the raw logits, convert only those
            const raw = logits[b];
            const { lse, ids } = rowCandidates(raw, 2 * K);
            for (const t of ids) cands.push({ score: beams[b].score + (raw[t] - lse), b, t, lp: raw[t] - lse });
            continue;
          }
          const lp = logSoftmax(logits[b]);
          const scores = new Float64Array(lp);
          applyProcessors(processors, scores, { tokens: beams[b].tokens, promptLength: prompt.length });
          for (const t of topKIndices(scores, 2 * K)) cands.push({ score: beams[b].score + scores[t], b, t, lp: lp[t] });
        }
        if (cands.length === 0) throw allBanned(step, 0);
        cands.sort((x, y) => y.score - x.score || x.b - y.b || x.t - y.t);
        cands.length = Math.min(cands.length, 2 * K);
        const next: Beam[] = [];
        const src: number[] = [];
        for (let rank = 0; rank < cands.length && next.length < K; rank++) {
          const c = cands[rank];
          const parent = beams[c.b];
          const child: Beam = {
            ids: [...parent.ids, c.t],
            tokens: [...parent.tokens, c.t],
            logprobs: [...parent.logprobs, c.lp],
            score: c.score,
          };
          let finish: FinishReason | null = null;
          if (eos.has(c.t)) finish = 'eos';
          else if (stops.length > 0 && findStop(textOf(child.ids), stops)) finish = 'stop';
          if (finish) {
            if (rank < K) addHyp(child, len, finish);
          } else {
            next.push(child);
            src.push(c.b);
          }
        }
        // Hugging Face BeamHypotheses.is_done with best = the best candidate score of this step
        if (hyps.length >= K) {
          if (s.earlyStopping === true) done = true;
          else {
            const bestLen = s.earlyStopping === 'never' && alpha > 0 ? s.maxNewTokens : len;
            done = worst >= cands[0].score / Math.pow(bestLen, alpha);
          }
        }
        beams = next;
        if (done || next.length === 0 || step === s.maxNewTokens - 1) break;
        session.reorder(src);
        logits = checkLogits(await session.feed(next.map((bm) => [bm.ids[bm.ids.length - 1]])), next.length, model.vocabSize);
      }
    } finally {
      session.dispose();
    }
    if (!done) for (const bm of beams) addHyp(bm, bm.ids.length, 'length');
  } else {
    addHyp(beams[0], 1, 'length');
  }
  const order = hyps.map((h, i) => ({ h, i })).sort((x, y) => y.h.beamScore - x.h.beamScore || x.i - y.i);
  return order.slice(0, s.numReturnSequences).map(({ h }) => {
    const { ids, logprobs } = h.beam;
    let score = 0;
    for (const lp of logprobs) score += lp;
    let text = '';
    if (tokenizer) {
      const textIds = h.finish === 'eos' ? ids.slice(0, -1) : ids;
      text = textOf(textIds);
      if (h.finish === 'stop') text = text.slice(0, findStop(text, stops)!.index);
    }
    return { ids, text, logprobs, score, finishReason: h.finish, beamScore: h.beamScore };
  });
}
