// A decoding strategy as plain data: which search, its knobs, the logits processors and the stopping rules.
// `strategyFromJSON` validates a JSON object against the field table (schema.ts) with messages that name the
// bad field, and fills in defaults; `processorSpecs` turns a strategy into its ordered processors.

import { closestNames } from '@gptlab/common';
import type { ProcessorSpec } from './processors';
import {
  STRATEGY_FIELDS,
  DEFAULT_STRATEGY,
  defaultStrategy,
  inRange,
  rangeText,
  strategyField,
  type SearchType,
  type Strategy,
  type StrategyField,
} from './schema';

export class StrategyError extends Error {
  constructor(
    /** The field as given (a name or an alias), with an index path for list items: `badWordsIds[0][1]`. */
    readonly field: string,
    /** The problem, without the field: "expected a number in (0, 1] (1 = off), got 1.5". */
    readonly reason: string,
  ) {
    super(`invalid decoding strategy: ${field}: ${reason}`);
    this.name = 'StrategyError';
  }
}

export interface StrategyFromJSONOptions {
  /** When given, token ids (eosTokenId, badWordsIds, logitBias) are checked against [0, vocabSize). */
  vocabSize?: number;
  /**
   * Values for fields the object does not give (by name or alias), like a Hugging Face generation config:
   * e.g. a checkpoint's `{ eosTokenId: 50256 }`. They are validated as if given.
   */
  defaults?: object;
}

function describe(v: unknown): string {
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

const NAMES = (STRATEGY_FIELDS as readonly StrategyField[]).map((f) => f.name);

function unknownField(key: string): StrategyError {
  const close = closestNames(key, NAMES);
  return new StrategyError(key, `unknown field ${close.length ? `(did you mean '${close[0]}'?)` : `(known fields: ${NAMES.join(', ')})`}`);
}

interface Given {
  field: StrategyField;
  /** The key as written (name or alias): error messages name it. */
  key: string;
  value: unknown;
}

/** The object's entries by field name; unknown keys and a field given twice (name + alias) are errors. */
function givenFields(obj: object, into = new Map<string, Given>(), keepFirst = false): Map<string, Given> {
  const local = new Map<string, Given>();
  for (const [key, value] of Object.entries(obj)) {
    if (value === undefined) continue;
    const field = strategyField(key);
    if (!field) throw unknownField(key);
    const twice = local.get(field.name);
    if (twice) throw new StrategyError(key, `given twice (also as '${twice.key}')`);
    local.set(field.name, { field, key, value });
  }
  for (const [name, g] of local) if (!keepFirst || !into.has(name)) into.set(name, g);
  return into;
}

function numberValue(key: string, v: unknown, f: Pick<StrategyField, 'kind' | 'range' | 'note'>): number {
  const integer = f.kind === 'int';
  if (typeof v !== 'number' || !Number.isFinite(v) || (integer && !Number.isInteger(v)) || !inRange(v, f.range)) {
    const range = rangeText(f);
    throw new StrategyError(key, `expected ${integer ? 'an integer' : 'a number'}${range ? ' ' + range : ''}, got ${describe(v)}`);
  }
  return v;
}

function tokenId(key: string, v: unknown, vocabSize?: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) {
    throw new StrategyError(key, `expected a token id (integer >= 0), got ${describe(v)}`);
  }
  if (vocabSize !== undefined && v >= vocabSize) {
    throw new StrategyError(key, `token id ${v} is outside the vocabulary [0, ${vocabSize})`);
  }
  return v;
}

function choiceList(choices: readonly (string | boolean)[]): string {
  const shown = choices.map((c) => (typeof c === 'string' ? `'${c}'` : String(c)));
  return `${shown.slice(0, -1).join(', ')} or ${shown[shown.length - 1]}`;
}

/** The stored value of one given field, by its kind. */
function fieldValue(f: StrategyField, key: string, v: unknown, V: number | undefined): unknown {
  switch (f.kind) {
    case 'choice':
      if (!f.choices!.includes(v as string | boolean))
        throw new StrategyError(key, `expected ${choiceList(f.choices!)}, got ${describe(v)}`);
      return v;
    case 'bool':
      if (typeof v !== 'boolean') throw new StrategyError(key, `expected a boolean, got ${describe(v)}`);
      return v;
    case 'int':
    case 'float':
      return f.nullable && v === null ? null : numberValue(key, v, f);
    case 'tokenIds':
      if (v === null) return [];
      return Array.isArray(v) ? v.map((t, i) => tokenId(`${key}[${i}]`, t, V)) : [tokenId(key, v, V)];
    case 'tokenSequences':
      if (!Array.isArray(v)) throw new StrategyError(key, `expected an array of token-id arrays, got ${describe(v)}`);
      return v.map((seq, i) => {
        if (!Array.isArray(seq) || seq.length === 0) {
          throw new StrategyError(`${key}[${i}]`, `expected a non-empty array of token ids, got ${describe(seq)}`);
        }
        return seq.map((t, j) => tokenId(`${key}[${i}][${j}]`, t, V));
      });
    case 'logitBias': {
      let pairs: [unknown, unknown][];
      if (Array.isArray(v)) {
        pairs = v.map((p, i) => {
          if (!Array.isArray(p) || p.length !== 2)
            throw new StrategyError(`${key}[${i}]`, `expected a [tokenId, bias] pair, got ${describe(p)}`);
          return [p[0], p[1]];
        });
      } else if (v !== null && typeof v === 'object') {
        pairs = Object.entries(v).map(([k, b]) => [/^\d+$/.test(k) ? Number(k) : k, b]);
      } else {
        throw new StrategyError(key, `expected an object {"tokenId": bias} or [[tokenId, bias], ...], got ${describe(v)}`);
      }
      return pairs.map(([t, b]) => {
        const id = tokenId(`${key}[${describe(t)}]`, t, V);
        return [id, numberValue(`${key}[${id}]`, b, { kind: 'float' })];
      });
    }
    case 'strings': {
      const arr = typeof v === 'string' ? [v] : v;
      if (!Array.isArray(arr)) throw new StrategyError(key, `expected a string or an array of strings, got ${describe(v)}`);
      return arr.map((x, i) => {
        if (typeof x !== 'string' || x.length === 0)
          throw new StrategyError(`${key}[${i}]`, `expected a non-empty string, got ${describe(x)}`);
        return x;
      });
    }
  }
}

/** The search type: given, or implied by doSample / numBeams (Hugging Face's rule). */
function searchType(given: Map<string, Given>, s: Strategy): SearchType {
  const type = given.get('type');
  const doSample = given.get('doSample');
  if (doSample) {
    const on = fieldValue(doSample.field, doSample.key, doSample.value, undefined) as boolean;
    if (type && on && s.type !== 'sample') throw new StrategyError(doSample.key, `doSample=true contradicts type '${s.type}'`);
    if (type && !on && s.type === 'sample') throw new StrategyError(doSample.key, `doSample=false contradicts type 'sample'`);
    if (!type && on) return 'sample';
  }
  if (type) return s.type;
  return s.numBeams > 1 ? 'beam' : 'greedy';
}

/**
 * Validate a JSON-like object and return a complete `Strategy`. Accepts each field's camelCase name or its
 * aliases (Hugging Face snake_case, OpenAI's `max_tokens`, `n`, `stop`, `logit_bias`; see STRATEGY_FIELDS).
 * Throws `StrategyError` naming the bad field. A knob the chosen search would ignore is an error, unless it
 * has its neutral (default) value, so a CLI may always send its defaults.
 */
export function strategyFromJSON(obj: unknown, opts: StrategyFromJSONOptions = {}): Strategy {
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
    throw new StrategyError('(root)', `expected a JSON object, got ${describe(obj)}`);
  }
  const given = givenFields(obj);
  if (opts.defaults) givenFields(opts.defaults, given, true);
  const s = defaultStrategy();
  const out = s as unknown as Record<string, unknown>;
  for (const { field, key, value } of given.values()) {
    if (!field.inputOnly) out[field.name] = fieldValue(field, key, value, opts.vocabSize);
  }
  s.type = searchType(given, s);

  // cross-field rules: a knob that the chosen search would ignore is an error, not a silent no-op
  const defaults = DEFAULT_STRATEGY as unknown as Record<string, unknown>;
  for (const { field, key } of given.values()) {
    if (field.strategies.includes(s.type) || field.inputOnly || out[field.name] === defaults[field.name]) continue;
    const which = field.strategies.map((t) => `'${t}'`).join(' or ');
    throw new StrategyError(key, `applies only to type ${which} (this strategy is '${s.type}')`);
  }
  if (s.type === 'beam' && s.numReturnSequences > s.numBeams) {
    throw new StrategyError(given.get('numReturnSequences')!.key, `must be <= numBeams (${s.numBeams}), got ${s.numReturnSequences}`);
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
