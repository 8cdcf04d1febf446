// The response objects of /v1 in OpenAI's shapes: text_completion and chat.completion (with their streamed
// chunk forms), usage, finish_reason and both log-prob layouts.
import { randomUUID } from 'node:crypto';
import type { GenerateResultJSON } from '@gptlab/decoding';
import type { Alternative } from '../types';
import type { V1Kind } from './params';

/** decoding's finish reasons in OpenAI's words: the end-of-text token and a stop string are both "stop". */
export function finishReason(r: GenerateResultJSON['finishReason']): 'stop' | 'length' {
  return r === 'length' ? 'length' : 'stop';
}

export function responseId(kind: V1Kind): string {
  return `${kind === 'chat' ? 'chatcmpl' : 'cmpl'}-${randomUUID().replace(/-/g, '')}`;
}

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

export function usage(promptTokens: number, choices: GenerateResultJSON[]): Usage {
  const completion = choices.reduce((a, c) => a + c.ids.length, 0);
  return { prompt_tokens: promptTokens, completion_tokens: completion, total_tokens: promptTokens + completion };
}

/** Per generated token: its text, raw log-prob and (when asked) the most likely alternatives. */
export interface TokenLogprobs {
  texts: string[];
  logprobs: number[];
  alternatives?: Alternative[][];
}

/** The completions layout: parallel lists, top_logprobs as {token text: logprob}, offsets into prompt + text. */
export function completionLogprobs(t: TokenLogprobs, startOffset: number) {
  const offsets: number[] = [];
  let at = startOffset;
  for (const text of t.texts) {
    offsets.push(at);
    at += text.length;
  }
  return {
    tokens: t.texts,
    token_logprobs: t.logprobs,
    top_logprobs: t.alternatives ? t.alternatives.map((alts) => Object.fromEntries(alts.map((a) => [a.text, a.logprob]))) : null,
    text_offset: offsets,
  };
}

const utf8 = (s: string) => Array.from(Buffer.from(s, 'utf8'));

/** The chat layout: one entry per token with its UTF-8 bytes and its own top_logprobs list. */
export function chatLogprobs(t: TokenLogprobs) {
  return {
    content: t.texts.map((text, i) => ({
      token: text,
      logprob: t.logprobs[i]!,
      bytes: utf8(text),
      top_logprobs: (t.alternatives?.[i] ?? []).map((a) => ({ token: a.text, logprob: a.logprob, bytes: utf8(a.text) })),
    })),
    refusal: null,
  };
}

export interface ResponseHead {
  id: string;
  created: number;
  model: string;
}

/** A whole (unstreamed) response. `logprobs[i]` is choice i's, in the layout of `kind`, or null. */
export function fullResponse(kind: V1Kind, head: ResponseHead, choices: GenerateResultJSON[], logprobs: (object | null)[], use: Usage) {
  if (kind === 'completion') {
    return {
      ...head,
      object: 'text_completion',
      choices: choices.map((c, index) => ({
        text: c.text,
        index,
        logprobs: logprobs[index] ?? null,
        finish_reason: finishReason(c.finishReason),
      })),
      usage: use,
    };
  }
  return {
    ...head,
    object: 'chat.completion',
    choices: choices.map((c, index) => ({
      index,
      message: { role: 'assistant', content: c.text, refusal: null },
      logprobs: logprobs[index] ?? null,
      finish_reason: finishReason(c.finishReason),
    })),
    usage: use,
  };
}

/** One streamed chunk of choice `index`: a text delta (chat: `delta.content`), or the closing one with finish_reason. */
export function chunk(
  kind: V1Kind,
  head: ResponseHead,
  index: number,
  delta: { text?: string; role?: boolean; logprobs?: object | null; finish?: 'stop' | 'length' },
) {
  const finish_reason = delta.finish ?? null;
  if (kind === 'completion') {
    return {
      ...head,
      object: 'text_completion',
      choices: [{ text: delta.text ?? '', index, logprobs: delta.logprobs ?? null, finish_reason }],
    };
  }
  const d: Record<string, unknown> = {};
  if (delta.role) d.role = 'assistant';
  if (delta.text !== undefined) d.content = delta.text;
  return {
    ...head,
    object: 'chat.completion.chunk',
    choices: [{ index, delta: d, logprobs: delta.logprobs ?? null, finish_reason }],
  };
}

/** The last chunk before [DONE] when stream_options.include_usage is set: no choices, the usage. */
export function usageChunk(kind: V1Kind, head: ResponseHead, use: Usage) {
  return { ...head, object: kind === 'chat' ? 'chat.completion.chunk' : 'text_completion', choices: [], usage: use };
}
