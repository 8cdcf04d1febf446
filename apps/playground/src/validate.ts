// Validation of request bodies and CLI flags. Every problem is an HttpError(400) whose message names the
// offending field, so the API, the UI and the CLI report the same thing.
import { HttpError, type StrategySpec, type StrategyType } from './types';

export interface Limits {
  /** Largest maxNewTokens accepted. */
  maxNewTokens: number;
  /** Longest prompt text accepted, in characters (before tokenisation). */
  maxPromptChars: number;
  /** Longest sequence the attention view accepts (T×T numbers are sent back). */
  maxAttentionTokens: number;
  maxStopStrings: number;
  maxBeams: number;
}

export const DEFAULT_LIMITS: Limits = {
  maxNewTokens: 512,
  maxPromptChars: 20000,
  maxAttentionTokens: 512,
  maxStopStrings: 8,
  maxBeams: 16,
};

function bad(msg: string): never {
  throw new HttpError(400, msg);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function num(obj: Record<string, unknown>, key: string, where: string): number | undefined {
  const v = obj[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v)) bad(`${where}${key} must be a finite number (got ${JSON.stringify(v)})`);
  return v;
}

function int(obj: Record<string, unknown>, key: string, where: string): number | undefined {
  const v = num(obj, key, where);
  if (v !== undefined && !Number.isInteger(v)) bad(`${where}${key} must be an integer (got ${v})`);
  return v;
}

function range(v: number | undefined, key: string, lo: number, hi: number, loOpen = false, hiOpen = false): void {
  if (v === undefined) return;
  const okLo = loOpen ? v > lo : v >= lo;
  const okHi = hiOpen ? v < hi : v <= hi;
  if (!okLo || !okHi) bad(`${key} must be in ${loOpen ? '(' : '['}${lo}, ${hi}${hiOpen ? ')' : ']'} (got ${v})`);
}

const SAMPLING_KEYS = ['temperature', 'topK', 'topP', 'minP', 'typicalP'] as const;
const BEAM_KEYS = ['numBeams', 'lengthPenalty', 'earlyStopping'] as const;
const COMMON_KEYS = ['repetitionPenalty', 'presencePenalty', 'frequencyPenalty', 'noRepeatNgramSize'] as const;
const ALL_KEYS = new Set<string>(['type', ...SAMPLING_KEYS, ...BEAM_KEYS, ...COMMON_KEYS]);

/** Checks a strategy object ({type, ...camelCase parameters}) and returns a clean copy. */
export function validateStrategy(raw: unknown, limits: Limits = DEFAULT_LIMITS): StrategySpec {
  const w = 'strategy.';
  if (!isObject(raw)) bad('strategy must be an object like {"type": "greedy"}');
  const type = raw.type;
  if (type !== 'greedy' && type !== 'beam' && type !== 'sample') {
    bad(`strategy.type must be "greedy", "beam" or "sample" (got ${JSON.stringify(type)})`);
  }
  for (const k of Object.keys(raw)) {
    if (!ALL_KEYS.has(k)) bad(`strategy.${k} is not a known parameter (known: ${[...ALL_KEYS].join(', ')})`);
    if (raw[k] === null) continue;
    if (type !== 'sample' && (SAMPLING_KEYS as readonly string[]).includes(k)) bad(`strategy.${k} applies only to type "sample"`);
    if (type !== 'beam' && (BEAM_KEYS as readonly string[]).includes(k)) bad(`strategy.${k} applies only to type "beam"`);
  }
  const s: StrategySpec = { type: type as StrategyType };
  const numBeams = int(raw, 'numBeams', w);
  range(numBeams, 'strategy.numBeams', 1, limits.maxBeams);
  const lengthPenalty = num(raw, 'lengthPenalty', w);
  range(lengthPenalty, 'strategy.lengthPenalty', -10, 10);
  if (raw.earlyStopping !== undefined && raw.earlyStopping !== null && typeof raw.earlyStopping !== 'boolean') {
    bad('strategy.earlyStopping must be a boolean');
  }
  const temperature = num(raw, 'temperature', w);
  range(temperature, 'strategy.temperature', 0, 100, true);
  const topK = int(raw, 'topK', w);
  range(topK, 'strategy.topK', 0, 1e9);
  const topP = num(raw, 'topP', w);
  range(topP, 'strategy.topP', 0, 1, true);
  const minP = num(raw, 'minP', w);
  range(minP, 'strategy.minP', 0, 1, false, true);
  const typicalP = num(raw, 'typicalP', w);
  range(typicalP, 'strategy.typicalP', 0, 1, true);
  const repetitionPenalty = num(raw, 'repetitionPenalty', w);
  range(repetitionPenalty, 'strategy.repetitionPenalty', 0, 100, true);
  const presencePenalty = num(raw, 'presencePenalty', w);
  range(presencePenalty, 'strategy.presencePenalty', -2, 2);
  const frequencyPenalty = num(raw, 'frequencyPenalty', w);
  range(frequencyPenalty, 'strategy.frequencyPenalty', -2, 2);
  const noRepeatNgramSize = int(raw, 'noRepeatNgramSize', w);
  range(noRepeatNgramSize, 'strategy.noRepeatNgramSize', 0, 64);
  const vals: Partial<StrategySpec> = {
    numBeams, lengthPenalty, temperature, topK, topP, minP, typicalP,
    repetitionPenalty, presencePenalty, frequencyPenalty, noRepeatNgramSize,
  };
  if (typeof raw.earlyStopping === 'boolean') vals.earlyStopping = raw.earlyStopping;
  for (const [k, v] of Object.entries(vals)) if (v !== undefined) (s as unknown as Record<string, unknown>)[k] = v;
  return s;
}

export interface ParsedGenerateBody {
  model: string;
  prompt?: string;
  promptIds?: number[];
  strategy: StrategySpec;
  maxNewTokens: number;
  stop: string[];
  seed?: number;
  /** How many alternatives per generated token to return (0 = none). */
  topAlternatives: number;
}

const GENERATE_KEYS = new Set(['model', 'prompt', 'promptIds', 'strategy', 'maxNewTokens', 'stop', 'seed', 'topAlternatives']);

function parsePromptFields(body: Record<string, unknown>, limits: Limits): { prompt?: string; promptIds?: number[] } {
  const hasText = body.prompt !== undefined && body.prompt !== null;
  const hasIds = body.promptIds !== undefined && body.promptIds !== null;
  if (hasText === hasIds) bad('give exactly one of prompt (text) or promptIds (token ids)');
  if (hasText) {
    if (typeof body.prompt !== 'string') bad('prompt must be a string');
    if (body.prompt.length === 0) bad('prompt must not be empty');
    if (body.prompt.length > limits.maxPromptChars) bad(`prompt is longer than ${limits.maxPromptChars} characters`);
    return { prompt: body.prompt };
  }
  const ids = body.promptIds;
  if (!Array.isArray(ids)) bad('promptIds must be an array of token ids');
  if (ids.length === 0) bad('promptIds must not be empty');
  for (let i = 0; i < ids.length; i++) {
    const v = ids[i];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) bad(`promptIds[${i}] must be a non-negative integer (got ${JSON.stringify(v)})`);
  }
  return { promptIds: ids as number[] };
}

function parseModel(body: Record<string, unknown>): string {
  if (typeof body.model !== 'string' || body.model.length === 0) bad('model must be a non-empty string naming a checkpoint (see GET /api/models)');
  return body.model;
}

/** Structural validation of a POST /api/generate body (no model needed yet). */
export function parseGenerateBody(body: unknown, limits: Limits = DEFAULT_LIMITS): ParsedGenerateBody {
  if (!isObject(body)) bad('the request body must be a JSON object');
  for (const k of Object.keys(body)) if (!GENERATE_KEYS.has(k)) bad(`${k} is not a known field (known: ${[...GENERATE_KEYS].join(', ')})`);
  const model = parseModel(body);
  const prompt = parsePromptFields(body, limits);
  const strategy = validateStrategy(body.strategy ?? { type: 'greedy' }, limits);
  const maxNewTokens = int(body, 'maxNewTokens', '');
  if (maxNewTokens === undefined) bad('maxNewTokens is required');
  range(maxNewTokens, 'maxNewTokens', 1, limits.maxNewTokens);
  let stop: string[] = [];
  if (body.stop !== undefined && body.stop !== null) {
    if (!Array.isArray(body.stop)) bad('stop must be an array of strings');
    if (body.stop.length > limits.maxStopStrings) bad(`stop may hold at most ${limits.maxStopStrings} strings`);
    body.stop.forEach((s, i) => {
      if (typeof s !== 'string' || s.length === 0) bad(`stop[${i}] must be a non-empty string`);
      if (s.length > 200) bad(`stop[${i}] is longer than 200 characters`);
    });
    stop = body.stop as string[];
  }
  const seed = int(body, 'seed', '');
  range(seed, 'seed', 0, 2 ** 32 - 1);
  const topAlternatives = int(body, 'topAlternatives', '') ?? 0;
  range(topAlternatives, 'topAlternatives', 0, 20);
  return { model, ...prompt, strategy, maxNewTokens, stop, seed, topAlternatives };
}

/** Checks token ids and lengths against a loaded model. */
export function checkAgainstModel(
  promptIds: number[],
  maxNewTokens: number,
  model: { vocabSize: number; contextLength: number },
  field = 'promptIds',
): void {
  if (promptIds.length === 0) bad('the prompt encodes to no tokens');
  for (let i = 0; i < promptIds.length; i++) {
    if (promptIds[i]! >= model.vocabSize) bad(`${field}[${i}] = ${promptIds[i]} is outside the vocabulary (size ${model.vocabSize})`);
  }
  if (promptIds.length + maxNewTokens > model.contextLength) {
    bad(
      `prompt (${promptIds.length} tokens) + maxNewTokens (${maxNewTokens}) exceeds the model's context of ${model.contextLength} tokens`,
    );
  }
}

export interface ParsedAttentionBody {
  model: string;
  prompt?: string;
  promptIds?: number[];
  /** Generated ids appended after the prompt. */
  generatedIds: number[];
  layer: number;
  head: number;
}

const ATTENTION_KEYS = new Set(['model', 'prompt', 'promptIds', 'generatedIds', 'layer', 'head']);

export function parseAttentionBody(body: unknown, limits: Limits = DEFAULT_LIMITS): ParsedAttentionBody {
  if (!isObject(body)) bad('the request body must be a JSON object');
  for (const k of Object.keys(body)) if (!ATTENTION_KEYS.has(k)) bad(`${k} is not a known field (known: ${[...ATTENTION_KEYS].join(', ')})`);
  const model = parseModel(body);
  const prompt = parsePromptFields(body, limits);
  let generatedIds: number[] = [];
  if (body.generatedIds !== undefined && body.generatedIds !== null) {
    if (!Array.isArray(body.generatedIds)) bad('generatedIds must be an array of token ids');
    body.generatedIds.forEach((v, i) => {
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) bad(`generatedIds[${i}] must be a non-negative integer`);
    });
    generatedIds = body.generatedIds as number[];
  }
  const layer = int(body, 'layer', '');
  const head = int(body, 'head', '');
  if (layer === undefined) bad('layer is required');
  if (head === undefined) bad('head is required');
  range(layer, 'layer', 0, 1e6);
  range(head, 'head', 0, 1e6);
  return { model, ...prompt, generatedIds, layer, head };
}
