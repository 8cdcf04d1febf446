// Request bodies of /v1/completions and /v1/chat/completions, in OpenAI's spelling, mapped onto
// @gptlab/decoding's strategy schema. The schema already knows OpenAI's max_tokens, n, stop, logit_bias,
// presence_penalty, frequency_penalty, top_p and seed; what it cannot know is OpenAI's semantics around them,
// mapped here: temperature 0 (and only 0) is greedy, anything else samples (OpenAI's default temperature is
// 1), `n` returns n samples (n identical greedy answers at temperature 0), chat's max_completion_tokens is
// max_tokens. Any other field of the strategy table (top_k, repetition_penalty, ...) is accepted as an extension.
import { strategyField } from '@gptlab/decoding';
import { STRATEGY_KEYS, bad, int, isObject, tokenIds, unknownKey, type Limits } from '../requests';
import type { ChatMessage } from './chat-template';

export type V1Kind = 'completion' | 'chat';

interface V1Common {
  model: string;
  /** Strategy fields in the schema's spelling (maxNewTokens absent: the route's default applies). */
  strategy: Record<string, unknown>;
  /** Choices to return. */
  n: number;
  /** Run once and repeat the answer n times (greedy: every choice would be the same). */
  repeatGreedy: boolean;
  stream: boolean;
  includeUsage: boolean;
  /** Token log-probs wanted, and how many alternatives per token (0: only the chosen token's). */
  logprobs: boolean;
  topLogprobs: number;
}

export interface CompletionParams extends V1Common {
  kind: 'completion';
  prompt: string | number[];
}

export interface ChatParams extends V1Common {
  kind: 'chat';
  messages: ChatMessage[];
}

const COMMON_KEYS = ['model', 'stream', 'stream_options', 'temperature', 'top_p', 'n', 'user', 'seed'];
const COMPLETION_KEYS = [...COMMON_KEYS, 'prompt', 'logprobs', 'echo', 'best_of', 'suffix'];
const CHAT_KEYS = [...COMMON_KEYS, 'messages', 'logprobs', 'top_logprobs', 'max_completion_tokens'];
/** Most alternatives per token (OpenAI allows 5 for completions, 20 for chat). */
const MAX_TOP_LOGPROBS = 20;

function flag(body: Record<string, unknown>, key: string): boolean {
  const v = body[key];
  if (v === undefined || v === null) return false;
  if (typeof v !== 'boolean') bad(`${key} must be a boolean (got ${JSON.stringify(v)})`, key);
  return v;
}

function number(body: Record<string, unknown>, key: string, lo: number, hi: number): number | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < lo || v > hi)
    bad(`${key} must be a number in [${lo}, ${hi}] (got ${JSON.stringify(v)})`, key);
  return v;
}

/** Fields OpenAI has that this server cannot honour: accepted only at the value that means "off". */
function unsupported(body: Record<string, unknown>, key: string, off: (v: unknown) => boolean, why: string): void {
  if (body[key] !== undefined && body[key] !== null && !off(body[key])) bad(`${key} is not supported: ${why}`, key);
}

function common(body: Record<string, unknown>, known: string[], limits: Limits): V1Common {
  for (const key of Object.keys(body)) {
    if (!known.includes(key) && !strategyField(key)) unknownKey(key, [...known, ...STRATEGY_KEYS]);
  }
  if (typeof body.model !== 'string' || body.model.length === 0) bad('model must be a non-empty string (see GET /v1/models)', 'model');
  const temperature = number(body, 'temperature', 0, 2) ?? 1;
  const n = int(body, 'n', 1, limits.maxSequences) ?? 1;
  const strategy: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(body)) {
    if (key !== 'n' && key !== 'temperature' && key !== 'top_p' && strategyField(key)) strategy[key] = value;
  }
  const greedy = temperature === 0;
  if (greedy) {
    strategy.type ??= 'greedy';
  } else {
    strategy.type ??= 'sample';
    strategy.temperature = temperature;
    if (body.top_p !== undefined && body.top_p !== null) strategy.top_p = body.top_p;
    if (n > 1) strategy.numReturnSequences = n;
  }
  const options = body.stream_options;
  if (options !== undefined && options !== null && !isObject(options)) bad('stream_options must be an object', 'stream_options');
  const includeUsage = isObject(options) && options.include_usage === true;
  return {
    model: body.model,
    strategy,
    n,
    repeatGreedy: greedy && n > 1,
    stream: flag(body, 'stream'),
    includeUsage,
    logprobs: false,
    topLogprobs: 0,
  };
}

function requireObject(body: unknown): Record<string, unknown> {
  if (!isObject(body)) bad('the request body must be a JSON object');
  return body;
}

export function parseCompletionBody(raw: unknown, limits: Limits): CompletionParams {
  const body = requireObject(raw);
  const c = common(body, COMPLETION_KEYS, limits);
  unsupported(body, 'echo', (v) => v === false, 'the prompt is not echoed');
  unsupported(body, 'suffix', (v) => v === '', 'no insertion (fill-in-the-middle) mode');
  unsupported(body, 'best_of', (v) => v === 1 || v === c.n, 'best_of must equal n');
  let prompt: string | number[];
  const p = Array.isArray(body.prompt) && body.prompt.length === 1 && typeof body.prompt[0] !== 'number' ? body.prompt[0] : body.prompt;
  if (typeof p === 'string') {
    if (p.length === 0) bad('prompt must not be empty', 'prompt');
    if (p.length > limits.maxPromptChars) bad(`prompt is longer than ${limits.maxPromptChars} characters`, 'prompt');
    prompt = p;
  } else if (Array.isArray(p) && p.every((t) => typeof t === 'number')) {
    prompt = tokenIds(p, 'prompt');
    if (prompt.length === 0) bad('prompt must not be empty', 'prompt');
  } else {
    bad('prompt must be a string or an array of token ids (one prompt per request)', 'prompt');
  }
  const logprobs = int(body, 'logprobs', 0, MAX_TOP_LOGPROBS);
  // OpenAI's completions default: 16 new tokens.
  if (!Object.keys(c.strategy).some((k) => strategyField(k)?.name === 'maxNewTokens')) c.strategy.maxNewTokens = 16;
  return { ...c, kind: 'completion', prompt, logprobs: logprobs !== undefined, topLogprobs: logprobs ?? 0 };
}

function messageContent(v: unknown, i: number): string {
  if (typeof v === 'string') return v;
  // The content-parts form: [{"type": "text", "text": "..."}]; only text parts exist for a text model.
  if (Array.isArray(v)) {
    return v
      .map((part, j) => {
        if (!isObject(part) || part.type !== 'text' || typeof part.text !== 'string')
          bad(`messages[${i}].content[${j}] must be {"type": "text", "text": "..."} (this model reads text only)`, 'messages');
        return part.text;
      })
      .join('');
  }
  return bad(`messages[${i}].content must be a string or a list of text parts`, 'messages');
}

export function parseChatBody(raw: unknown, limits: Limits): ChatParams {
  const body = requireObject(raw);
  const c = common(body, CHAT_KEYS, limits);
  if (!Array.isArray(body.messages) || body.messages.length === 0) bad('messages must be a non-empty array', 'messages');
  const messages = body.messages.map((m, i): ChatMessage => {
    if (!isObject(m) || typeof m.role !== 'string' || m.role.length === 0) bad(`messages[${i}] must be an object with a role`, 'messages');
    const msg: ChatMessage = { role: m.role, content: messageContent(m.content ?? '', i) };
    if (typeof m.name === 'string') msg.name = m.name;
    return msg;
  });
  const chars = messages.reduce((a, m) => a + m.content.length, 0);
  if (chars > limits.maxPromptChars) bad(`messages are longer than ${limits.maxPromptChars} characters`, 'messages');
  const logprobs = flag(body, 'logprobs');
  const topLogprobs = int(body, 'top_logprobs', 0, MAX_TOP_LOGPROBS) ?? 0;
  if (topLogprobs > 0 && !logprobs) bad('top_logprobs needs logprobs: true', 'top_logprobs');
  if (body.max_completion_tokens !== undefined && body.max_completion_tokens !== null) {
    if (Object.keys(c.strategy).some((k) => strategyField(k)?.name === 'maxNewTokens'))
      bad('give max_completion_tokens or max_tokens, not both', 'max_completion_tokens');
    c.strategy.max_tokens = body.max_completion_tokens;
  }
  return { ...c, kind: 'chat', messages, logprobs, topLogprobs };
}
