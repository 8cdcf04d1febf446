// A decoding strategy as plain data: which search, its knobs, the logits processors and the stopping rules.
// `strategyFromJSON` validates a JSON object (camelCase or Hugging Face snake_case names) with messages that
// name the bad field, and fills in defaults; `processorSpecs` turns a strategy into its ordered processors.

import type { ProcessorSpec } from './processors';

export type SearchType = 'greedy' | 'beam' | 'sample';
/** Beam search stopping (Hugging Face `early_stopping`): true = stop when numBeams hypotheses are finished;
 *  false = also stop when no live beam can beat the worst finished one (heuristic for lengthPenalty > 0);
 *  'never' = only stop when that is impossible (exact bound using maxNewTokens). */
export type EarlyStopping = boolean | 'never';

export interface Strategy {
  type: SearchType;
  maxNewTokens: number;
  numBeams: number;
  lengthPenalty: number;
  earlyStopping: EarlyStopping;
  numReturnSequences: number;
  temperature: number;
  topK: number;
  topP: number;
  minP: number;
  typicalP: number;
  repetitionPenalty: number;
  presencePenalty: number;
  frequencyPenalty: number;
  noRepeatNgramSize: number;
  badWordsIds: number[][];
  /** [token id, bias] pairs. */
  logitBias: [number, number][];
  /** Tokens that end a sequence (empty: none). */
  eosTokenId: number[];
  stopStrings: string[];
  /** Sampling seed; null = a fresh random seed per call. */
  seed: number | null;
}

/** What `strategyFromJSON` accepts: every field optional; logitBias as an object {"id": bias} or pairs. */
export type StrategyInput = Partial<Omit<Strategy, 'logitBias' | 'eosTokenId' | 'stopStrings'>> & {
  logitBias?: Record<string, number> | [number, number][];
  eosTokenId?: number | number[] | null;
  stopStrings?: string | string[];
};

export const DEFAULT_STRATEGY: Readonly<Strategy> = Object.freeze({
  type: 'greedy',
  maxNewTokens: 20, // Hugging Face's default generation length
  numBeams: 1,
  lengthPenalty: 1.0, // Hugging Face default
  earlyStopping: false,
  numReturnSequences: 1,
  temperature: 1,
  topK: 0,
  topP: 1,
  minP: 0,
  typicalP: 1,
  repetitionPenalty: 1,
  presencePenalty: 0,
  frequencyPenalty: 0,
  noRepeatNgramSize: 0,
  badWordsIds: [],
  logitBias: [],
  eosTokenId: [],
  stopStrings: [],
  seed: null,
}) as Readonly<Strategy>;

const FIELDS = Object.keys(DEFAULT_STRATEGY) as (keyof Strategy)[];
/** Accepted extra names (Hugging Face / OpenAI) → our field. */
const ALIASES: Record<string, keyof Strategy | 'doSample'> = {
  stop: 'stopStrings',
  doSample: 'doSample',
  maxTokens: 'maxNewTokens',
  numReturn: 'numReturnSequences',
  n: 'numReturnSequences',
};
const SAMPLE_ONLY = ['temperature', 'topK', 'topP', 'minP', 'typicalP'] as const; // seed is accepted (and unused) by every search
const BEAM_ONLY = ['lengthPenalty', 'earlyStopping'] as const;

export class StrategyError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`invalid decoding strategy: ${field}: ${message}`);
    this.name = 'StrategyError';
  }
}

function camel(key: string): string {
  return key.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

function describe(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

function levenshtein(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++)
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
  return d[a.length][b.length];
}

function suggest(key: string): string {
  const lower = key.toLowerCase();
  let best = '';
  let bestD = Infinity;
  for (const f of FIELDS) {
    const dist = levenshtein(lower, f.toLowerCase());
    if (dist < bestD) {
      bestD = dist;
      best = f;
    }
  }
  return bestD <= 3 ? ` (did you mean '${best}'?)` : ` (known fields: ${FIELDS.join(', ')})`;
}

function num(field: string, v: unknown, ok: (x: number) => boolean, range: string, integer = false): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || (integer && !Number.isInteger(v)) || !ok(v)) {
    throw new StrategyError(field, `expected ${integer ? 'an integer' : 'a number'} ${range}, got ${describe(v)}`);
  }
  return v;
}

function tokenId(field: string, v: unknown, vocabSize?: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) {
    throw new StrategyError(field, `expected a token id (integer >= 0), got ${describe(v)}`);
  }
  if (vocabSize !== undefined && v >= vocabSize) {
    throw new StrategyError(field, `token id ${v} is outside the vocabulary [0, ${vocabSize})`);
  }
  return v;
}

export interface StrategyFromJSONOptions {
  /** When given, token ids (eosTokenId, badWordsIds, logitBias) are checked against [0, vocabSize). */
  vocabSize?: number;
}

/**
 * Validate a JSON-like object and return a complete `Strategy`. Accepts camelCase names or Hugging Face
 * snake_case ones (`top_k`, `num_beams`, `max_new_tokens`, `do_sample`, …), OpenAI's `stop`. Throws
 * `StrategyError` naming the bad field. When `type` is absent it is 'sample' if doSample, else 'beam' if
 * numBeams > 1, else 'greedy'.
 */
export function strategyFromJSON(obj: unknown, opts: StrategyFromJSONOptions = {}): Strategy {
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
    throw new StrategyError('(root)', `expected a JSON object, got ${describe(obj)}`);
  }
  const V = opts.vocabSize;
  // normalise names
  const raw: Record<string, unknown> = {};
  const origin: Record<string, string> = {};
  for (const [key, value] of Object.entries(obj as Record<string, unknown>)) {
    if (value === undefined) continue;
    const c = camel(key);
    const name = (FIELDS as string[]).includes(c) ? c : ALIASES[c];
    if (!name) throw new StrategyError(key, `unknown field${suggest(c)}`);
    if (name in raw) throw new StrategyError(key, `given twice (also as '${origin[name]}')`);
    raw[name] = value;
    origin[name] = key;
  }
  const f = (name: string) => origin[name] ?? name;
  const s: Strategy = {
    ...DEFAULT_STRATEGY,
    badWordsIds: [],
    logitBias: [],
    eosTokenId: [],
    stopStrings: [],
  };

  // search type
  let type: SearchType | undefined;
  if (raw.type !== undefined) {
    if (raw.type !== 'greedy' && raw.type !== 'beam' && raw.type !== 'sample') {
      throw new StrategyError(f('type'), `expected 'greedy', 'beam' or 'sample', got ${describe(raw.type)}`);
    }
    type = raw.type;
  }
  if (raw.doSample !== undefined) {
    if (typeof raw.doSample !== 'boolean') throw new StrategyError(f('doSample'), `expected a boolean, got ${describe(raw.doSample)}`);
    const implied: SearchType | undefined = raw.doSample ? 'sample' : undefined;
    if (type && raw.doSample && type !== 'sample') {
      throw new StrategyError(f('doSample'), `doSample=true contradicts type '${type}'`);
    }
    if (type === 'sample' && !raw.doSample) throw new StrategyError(f('doSample'), `doSample=false contradicts type 'sample'`);
    type = type ?? implied;
  }

  if (raw.maxNewTokens !== undefined) s.maxNewTokens = num(f('maxNewTokens'), raw.maxNewTokens, (x) => x >= 0, '>= 0', true);
  if (raw.numBeams !== undefined) s.numBeams = num(f('numBeams'), raw.numBeams, (x) => x >= 1, '>= 1', true);
  s.type = type ?? (s.numBeams > 1 ? 'beam' : 'greedy');
  if (raw.lengthPenalty !== undefined) s.lengthPenalty = num(f('lengthPenalty'), raw.lengthPenalty, () => true, '');
  if (raw.earlyStopping !== undefined) {
    const e = raw.earlyStopping;
    if (e !== true && e !== false && e !== 'never') {
      throw new StrategyError(f('earlyStopping'), `expected true, false or 'never', got ${describe(e)}`);
    }
    s.earlyStopping = e;
  }
  if (raw.numReturnSequences !== undefined) {
    s.numReturnSequences = num(f('numReturnSequences'), raw.numReturnSequences, (x) => x >= 1, '>= 1', true);
  }
  if (raw.temperature !== undefined) s.temperature = num(f('temperature'), raw.temperature, (x) => x >= 0, '>= 0 (0 = greedy choice)');
  if (raw.topK !== undefined) s.topK = num(f('topK'), raw.topK, (x) => x >= 0, '>= 0 (0 = off)', true);
  if (raw.topP !== undefined) s.topP = num(f('topP'), raw.topP, (x) => x > 0 && x <= 1, 'in (0, 1] (1 = off)');
  if (raw.minP !== undefined) s.minP = num(f('minP'), raw.minP, (x) => x >= 0 && x <= 1, 'in [0, 1] (0 = off)');
  if (raw.typicalP !== undefined) s.typicalP = num(f('typicalP'), raw.typicalP, (x) => x > 0 && x <= 1, 'in (0, 1] (1 = off)');
  if (raw.repetitionPenalty !== undefined) {
    s.repetitionPenalty = num(f('repetitionPenalty'), raw.repetitionPenalty, (x) => x > 0, '> 0 (1 = off)');
  }
  if (raw.presencePenalty !== undefined) s.presencePenalty = num(f('presencePenalty'), raw.presencePenalty, () => true, '');
  if (raw.frequencyPenalty !== undefined) s.frequencyPenalty = num(f('frequencyPenalty'), raw.frequencyPenalty, () => true, '');
  if (raw.noRepeatNgramSize !== undefined) {
    s.noRepeatNgramSize = num(f('noRepeatNgramSize'), raw.noRepeatNgramSize, (x) => x >= 0, '>= 0 (0 = off)', true);
  }
  if (raw.badWordsIds !== undefined) {
    const b = raw.badWordsIds;
    if (!Array.isArray(b)) throw new StrategyError(f('badWordsIds'), `expected an array of token-id arrays, got ${describe(b)}`);
    s.badWordsIds = b.map((seq, i) => {
      if (!Array.isArray(seq) || seq.length === 0) {
        throw new StrategyError(`${f('badWordsIds')}[${i}]`, `expected a non-empty array of token ids, got ${describe(seq)}`);
      }
      return seq.map((t, j) => tokenId(`${f('badWordsIds')}[${i}][${j}]`, t, V));
    });
  }
  if (raw.logitBias !== undefined) {
    const lb = raw.logitBias;
    let pairs: [unknown, unknown][];
    if (Array.isArray(lb)) {
      pairs = lb.map((p, i) => {
        if (!Array.isArray(p) || p.length !== 2) {
          throw new StrategyError(`${f('logitBias')}[${i}]`, `expected a [tokenId, bias] pair, got ${describe(p)}`);
        }
        return [p[0], p[1]];
      });
    } else if (lb !== null && typeof lb === 'object') {
      pairs = Object.entries(lb).map(([k, v]) => [/^\d+$/.test(k) ? Number(k) : k, v]);
    } else {
      throw new StrategyError(f('logitBias'), `expected an object {"tokenId": bias} or [[tokenId, bias], ...], got ${describe(lb)}`);
    }
    s.logitBias = pairs.map(([t, b]) => {
      const id = tokenId(`${f('logitBias')}[${describe(t)}]`, t, V);
      return [id, num(`${f('logitBias')}[${id}]`, b, () => true, '')];
    });
  }
  if (raw.eosTokenId !== undefined && raw.eosTokenId !== null) {
    const e = raw.eosTokenId;
    s.eosTokenId = Array.isArray(e) ? e.map((t, i) => tokenId(`${f('eosTokenId')}[${i}]`, t, V)) : [tokenId(f('eosTokenId'), e, V)];
  }
  if (raw.stopStrings !== undefined) {
    const st = raw.stopStrings;
    const arr = typeof st === 'string' ? [st] : st;
    if (!Array.isArray(arr)) throw new StrategyError(f('stopStrings'), `expected a string or an array of strings, got ${describe(st)}`);
    s.stopStrings = arr.map((x, i) => {
      if (typeof x !== 'string' || x.length === 0) {
        throw new StrategyError(`${f('stopStrings')}[${i}]`, `expected a non-empty string, got ${describe(x)}`);
      }
      return x;
    });
  }
  if (raw.seed !== undefined && raw.seed !== null) {
    s.seed = num(f('seed'), raw.seed, (x) => x >= 0 && x <= Number.MAX_SAFE_INTEGER, 'in [0, 2^53)', true);
  }

  // cross-field rules: a knob that the chosen search would ignore is an error, not a silent no-op
  if (s.type !== 'sample') {
    for (const k of SAMPLE_ONLY) {
      if (raw[k] !== undefined && raw[k] !== null && s[k] !== DEFAULT_STRATEGY[k]) {
        throw new StrategyError(f(k), `applies only to type 'sample' (this strategy is '${s.type}')`);
      }
    }
  }
  if (s.type !== 'beam') {
    if (s.numBeams !== 1) throw new StrategyError(f('numBeams'), `numBeams=${s.numBeams} needs type 'beam' (this strategy is '${s.type}')`);
    for (const k of BEAM_ONLY) {
      if (raw[k] !== undefined && s[k] !== DEFAULT_STRATEGY[k]) {
        throw new StrategyError(f(k), `applies only to type 'beam' (this strategy is '${s.type}')`);
      }
    }
  }
  if (s.type === 'greedy' && s.numReturnSequences !== 1) {
    throw new StrategyError(f('numReturnSequences'), `greedy search returns one sequence; got ${s.numReturnSequences} (use 'beam' or 'sample')`);
  }
  if (s.type === 'beam' && s.numReturnSequences > s.numBeams) {
    throw new StrategyError(f('numReturnSequences'), `must be <= numBeams (${s.numBeams}), got ${s.numReturnSequences}`);
  }
  return s;
}

/** The strategy's logits processors as plain data, in the order they run (Hugging Face order: penalties and
 *  bans first, then the sampling warpers temperature → top-k → top-p → min-p → typical-p). */
export function processorSpecs(s: Strategy): ProcessorSpec[] {
  const out: ProcessorSpec[] = [];
  if (s.repetitionPenalty !== 1) out.push({ type: 'repetitionPenalty', penalty: s.repetitionPenalty });
  if (s.presencePenalty !== 0 || s.frequencyPenalty !== 0) {
    out.push({ type: 'presenceFrequencyPenalty', presence: s.presencePenalty, frequency: s.frequencyPenalty });
  }
  if (s.noRepeatNgramSize > 0) out.push({ type: 'noRepeatNgram', size: s.noRepeatNgramSize });
  if (s.badWordsIds.length > 0) out.push({ type: 'badWords', ids: s.badWordsIds });
  if (s.logitBias.length > 0) out.push({ type: 'logitBias', bias: s.logitBias });
  if (s.type === 'sample' && s.temperature > 0) {
    if (s.temperature !== 1) out.push({ type: 'temperature', value: s.temperature });
    if (s.topK > 0) out.push({ type: 'topK', k: s.topK });
    if (s.topP < 1) out.push({ type: 'topP', p: s.topP });
    if (s.minP > 0) out.push({ type: 'minP', p: s.minP });
    if (s.typicalP < 1) out.push({ type: 'typicalP', p: s.typicalP });
  }
  return out;
}
