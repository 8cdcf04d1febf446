// HTTP request bodies. The strategy fields of POST /api/generate are validated by @gptlab/decoding's
// strategyFromJSON (the one schema), so the API accepts exactly what the library does; this file adds the
// request's own fields (model, prompt, topAlternatives) and the server's capacity limits. Every problem is
// an HttpError(400) whose message names the field.
import { closestNames } from '@gptlab/common';
import { STRATEGY_FIELDS, StrategyError, strategyField, strategyFromJSON, type Strategy, type StrategyInput } from '@gptlab/decoding';
import { HttpError, type LoadedModel } from './types';
import { parseImageField, type ImageInput } from './vision';

/** What one request may cost the server (not validity: any strategy within them runs). */
export interface Limits {
  /** Largest maxNewTokens accepted. */
  maxNewTokens: number;
  /** Longest prompt text accepted, in characters (before tokenisation). */
  maxPromptChars: number;
  /** Longest sequence the attention view accepts (T×T numbers are sent back). */
  maxAttentionTokens: number;
  maxStopStrings: number;
  /** Rows decoded at once: numBeams and numReturnSequences are at most this. */
  maxSequences: number;
}

export const DEFAULT_LIMITS: Limits = {
  maxNewTokens: 512,
  maxPromptChars: 20000,
  maxAttentionTokens: 512,
  maxStopStrings: 8,
  maxSequences: 16,
};

export function bad(msg: string, param?: string): never {
  throw new HttpError(400, msg, { param });
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function int(obj: Record<string, unknown>, key: string, lo: number, hi: number): number | undefined {
  const v = obj[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v)) bad(`${key} must be an integer (got ${JSON.stringify(v)})`, key);
  if (v < lo || v > hi) bad(`${key} must be in [${lo}, ${hi}] (got ${v})`, key);
  return v;
}

export function tokenIds(v: unknown, key: string): number[] {
  if (!Array.isArray(v)) bad(`${key} must be an array of token ids`, key);
  v.forEach((t, i) => {
    if (typeof t !== 'number' || !Number.isInteger(t) || t < 0)
      bad(`${key}[${i}] must be a non-negative integer (got ${JSON.stringify(t)})`, key);
  });
  return v as number[];
}

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
  const ids = tokenIds(body.promptIds, 'promptIds');
  if (ids.length === 0) bad('promptIds must not be empty');
  return { promptIds: ids };
}

function parseModel(body: Record<string, unknown>): string {
  if (typeof body.model !== 'string' || body.model.length === 0)
    bad('model must be a non-empty string naming a checkpoint (see GET /api/models)');
  return body.model;
}

export function unknownKey(key: string, known: readonly string[]): never {
  const close = closestNames(key, known);
  bad(`${key} is not a known field${close.length ? ` (did you mean ${close.join(', ')}?)` : ''}`, key);
}

export interface GenerateBody {
  model: string;
  prompt?: string;
  promptIds?: number[];
  /** How many alternatives per generated token to return (0 = none). */
  topAlternatives: number;
  /** The strategy fields of the body: `strategy` and the top level together, as given (not yet resolved). */
  strategy: StrategyInput;
  /** A gray image read before the prompt (vision checkpoints). */
  image?: ImageInput;
}

const GENERATE_KEYS = ['model', 'prompt', 'promptIds', 'topAlternatives', 'strategy', 'image'];
export const STRATEGY_KEYS = STRATEGY_FIELDS.flatMap((f) => [f.name, ...(f.aliases as readonly string[])]);

/**
 * Structural validation of a POST /api/generate body (no model needed yet). Strategy fields may sit in
 * `strategy` or at the top level (`{"model", "prompt", "max_tokens": 5, "temperature": 0.8}`), not both.
 */
export function parseGenerateBody(body: unknown, limits: Limits = DEFAULT_LIMITS): GenerateBody {
  if (!isObject(body)) bad('the request body must be a JSON object');
  const nested = body.strategy ?? {};
  if (!isObject(nested)) bad('strategy must be an object like {"type": "greedy"}');
  const strategy: Record<string, unknown> = { ...nested };
  const nestedFields = new Map(Object.keys(nested).map((k) => [strategyField(k)?.name ?? k, k]));
  for (const [key, value] of Object.entries(body)) {
    if (GENERATE_KEYS.includes(key)) continue;
    const field = strategyField(key);
    if (!field) unknownKey(key, [...GENERATE_KEYS, ...STRATEGY_KEYS]);
    const also = nestedFields.get(field.name);
    if (also !== undefined) bad(`${key} is given both at the top level and in strategy (as ${also})`);
    strategy[key] = value;
  }
  const model = parseModel(body);
  const prompt = parsePromptFields(body, limits);
  const topAlternatives = int(body, 'topAlternatives', 0, 20) ?? 0;
  strategyOrBadRequest(strategy); // every strategy error before any model loads
  return { model, ...prompt, topAlternatives, strategy: strategy as StrategyInput, image: parseImageField(body.image) };
}

export function strategyOrBadRequest(input: object, opts?: Parameters<typeof strategyFromJSON>[1]): Strategy {
  try {
    return strategyFromJSON(input, opts);
  } catch (e) {
    // The field as the client spelled it, without an index path: OpenAI's error `param`.
    throw e instanceof StrategyError ? new HttpError(400, e.message, { param: e.field.replace(/\[.*$/, '') }) : e;
  }
}

/** The checkpoint's generation defaults (its end-of-text token), as strategyFromJSON's `defaults`. */
export function generationDefaults(model: Pick<LoadedModel, 'eosTokenId'>): StrategyInput {
  return model.eosTokenId === undefined || model.eosTokenId === null ? {} : { eosTokenId: model.eosTokenId };
}

/** The strategy a request runs on `model`: token ids checked against its vocabulary, its EOS by default, the server's limits. */
export function resolveStrategy(input: StrategyInput, model: Pick<LoadedModel, 'vocabSize' | 'eosTokenId'>, limits: Limits): Strategy {
  const s = strategyOrBadRequest(input, { vocabSize: model.vocabSize, defaults: generationDefaults(model) });
  const over = (field: string, value: number, max: number, param: string) => {
    if (value > max) bad(`${field} may be at most ${max} on this server (got ${value})`, param);
  };
  over('maxNewTokens', s.maxNewTokens, limits.maxNewTokens, 'max_tokens');
  over('numBeams', s.numBeams, limits.maxSequences, 'num_beams');
  over('numReturnSequences', s.numReturnSequences, limits.maxSequences, 'n');
  over('the number of stop strings', s.stopStrings.length, limits.maxStopStrings, 'stop');
  return s;
}

/** Checks token ids and lengths against a loaded model; `field` names the prompt in messages. */
export function checkAgainstModel(
  promptIds: number[],
  maxNewTokens: number,
  model: { vocabSize: number; contextLength: number },
  field = 'promptIds',
): void {
  if (promptIds.length === 0) bad('the prompt encodes to no tokens');
  for (let i = 0; i < promptIds.length; i++) {
    if (promptIds[i]! >= model.vocabSize)
      bad(`${field}[${i}] = ${promptIds[i]} is outside the vocabulary (size ${model.vocabSize})`, field);
  }
  if (promptIds.length + maxNewTokens > model.contextLength) {
    bad(
      `prompt (${promptIds.length} tokens) + maxNewTokens (${maxNewTokens}) exceeds the model's context of ${model.contextLength} tokens`,
      field,
    );
  }
}

export interface AttentionBody {
  model: string;
  prompt?: string;
  promptIds?: number[];
  /** Generated ids appended after the prompt. */
  generatedIds: number[];
  layer: number;
  head: number;
  image?: ImageInput;
}

const ATTENTION_KEYS = ['model', 'prompt', 'promptIds', 'generatedIds', 'layer', 'head', 'image'];

export function parseAttentionBody(body: unknown, limits: Limits = DEFAULT_LIMITS): AttentionBody {
  if (!isObject(body)) bad('the request body must be a JSON object');
  for (const k of Object.keys(body)) if (!ATTENTION_KEYS.includes(k)) unknownKey(k, ATTENTION_KEYS);
  const model = parseModel(body);
  const prompt = parsePromptFields(body, limits);
  const generatedIds = body.generatedIds === undefined || body.generatedIds === null ? [] : tokenIds(body.generatedIds, 'generatedIds');
  const layer = int(body, 'layer', 0, 1e6);
  const head = int(body, 'head', 0, 1e6);
  if (layer === undefined) bad('layer is required');
  if (head === undefined) bad('head is required');
  return { model, ...prompt, generatedIds, layer, head, image: parseImageField(body.image) };
}
