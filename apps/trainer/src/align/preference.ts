// Preference data as TRL's RewardTrainer/DPOTrainer and Anthropic HH take it: JSON Lines of
//   {"prompt": "...", "chosen": "...", "rejected": "..."}                          (standard)
//   {"prompt": [{"role":"user","content":"..."}], "chosen": [{"role":"assistant",...}], "rejected": [...]}
// (conversational: the prompt and each answer are message lists). Errors name file:line and the field.
// Message lists are checked by chat.ts (roles, fields) and become text through `renderConversation`: the seam
// where the chat template (src/align/template.ts) plugs in; until then a plain "role: content" rendering that
// the reward model and DPO see the same way at training and at scoring time.
import { Rng } from '@gptlab/common';
import { JsonlError, expectObject, readJsonlFile } from '@gptlab/common/node';
import { parseMessages, type ChatMessage } from './chat';

export interface PreferencePair {
  prompt: string;
  chosen: string;
  rejected: string;
  /** 1-based line of the source file (for messages about this pair). */
  line: number;
}

/** Plain-text rendering of a conversation: one "role: content" line per message. */
export function renderConversation(messages: readonly ChatMessage[]): string {
  return messages.map((m) => `${m.role}: ${m.content}\n`).join('');
}

/** A field that is a string or a message list, as text; a missing or other field is a JsonlError. */
function textField(rec: Record<string, unknown>, field: string, file: string, line: number, allowEmpty: boolean): string {
  const v = rec[field];
  if (v === undefined) throw new JsonlError(file, line, `missing field "${field}" (a preference pair needs prompt, chosen, rejected)`);
  let text: string;
  if (typeof v === 'string') text = v;
  else if (Array.isArray(v)) text = renderConversation(parseMessages(v, field, file, line));
  else throw new JsonlError(file, line, `field "${field}" must be a string or a list of messages`);
  if (!allowEmpty && text.length === 0) throw new JsonlError(file, line, `field "${field}" is empty`);
  return text;
}

/** Parses preference records (already read from `file`): each one a PreferencePair or a file:line error. */
export function parsePreferences(records: { value: unknown; line: number }[], file: string): PreferencePair[] {
  const pairs = records.map(({ value, line }) => {
    const rec = expectObject(value, file, line);
    return {
      prompt: textField(rec, 'prompt', file, line, true),
      chosen: textField(rec, 'chosen', file, line, false),
      rejected: textField(rec, 'rejected', file, line, false),
      line,
    };
  });
  if (pairs.length === 0) throw new Error(`${file}: no preference pairs`);
  return pairs;
}

export function readPreferenceFile(file: string): PreferencePair[] {
  return parsePreferences(readJsonlFile(file), file);
}

/** A seeded split into training pairs and `fraction` held-out pairs (at least one of each when fraction > 0). */
export function splitPairs<T>(pairs: T[], fraction: number, seed: number): { train: T[]; held: T[] } {
  if (!(fraction >= 0 && fraction < 1)) throw new Error(`eval fraction must be in [0, 1), got ${fraction}`);
  const order = new Rng(seed).shuffle(pairs.map((_, i) => i));
  const nHeld = fraction > 0 ? Math.min(pairs.length - 1, Math.max(1, Math.round(pairs.length * fraction))) : 0;
  const held = order.slice(0, nHeld).sort((a, b) => a - b);
  const train = order.slice(nHeld).sort((a, b) => a - b);
  if (train.length === 0) throw new Error('no training pairs left after the held-out split');
  return { train: train.map((i) => pairs[i]!), held: held.map((i) => pairs[i]!) };
}

/** A pair as token ids: the prompt and both responses, each fitted to `maxLength` tokens with the prompt. */
export interface EncodedPair {
  prompt: number[];
  chosen: number[];
  rejected: number[];
}

/**
 * Encodes a pair. A prompt + response longer than the context keeps the end of the prompt (the part next to
 * the answer) and then cuts the end of the response, as TRL's truncation does; the response keeps at least
 * half the context, since both losses are about the response.
 */
export function encodePair(tok: { encode(text: string): number[] }, pair: PreferencePair, maxLength: number): EncodedPair {
  if (maxLength < 2) throw new Error(`the context (${maxLength}) is too short for a prompt and a response`);
  const prompt = tok.encode(pair.prompt);
  // The prompt may claim up to half the context; the response gets the rest.
  const fit = (resp: number[]) => resp.slice(0, maxLength - Math.min(prompt.length, Math.floor(maxLength / 2)));
  const chosen = fit(tok.encode(pair.chosen));
  const rejected = fit(tok.encode(pair.rejected));
  const room = maxLength - Math.max(chosen.length, rejected.length);
  return { prompt: prompt.slice(Math.max(0, prompt.length - room)), chosen, rejected };
}
