// Preference data as TRL's RewardTrainer/DPOTrainer and Anthropic HH take it: JSON Lines of
//   {"prompt": "...", "chosen": "...", "rejected": "..."}                          (standard)
//   {"prompt": [{"role":"user","content":"..."}], "chosen": [{"role":"assistant",...}], "rejected": [...]}
// (conversational: the prompt and each answer are message lists). Errors name file:line and the field.
// Message lists are checked by chat.ts (roles, fields) and become text through the chat template
// (src/align/template.ts), as TRL applies the tokenizer's chat template to conversational pairs: the prompt
// rendered with the generation prompt, an answer as what rendering prompt + answer adds to it (the reply and
// its closing eos token) — exactly the text an SFT model learned to produce and a policy generates, so the
// reward model and DPO score the same text at training and at evaluation time. Plain strings stay as written.
import { Rng } from '@gptlab/common';
import { JsonlError, expectObject, readJsonlFile } from '@gptlab/common/node';
import { parseMessages, type ChatMessage } from './chat';
import { ChatTemplate } from './template';

export interface PreferencePair {
  prompt: string;
  chosen: string;
  rejected: string;
  /** 1-based line of the source file (for messages about this pair). */
  line: number;
}

/** A field as given: a string, or the messages of a message list (a missing or other field is a JsonlError). */
function stringOrMessages(rec: Record<string, unknown>, field: string, file: string, line: number): string | ChatMessage[] {
  const v = rec[field];
  if (v === undefined) throw new JsonlError(file, line, `missing field "${field}" (a preference pair needs prompt, chosen, rejected)`);
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) return parseMessages(v, field, file, line);
  throw new JsonlError(file, line, `field "${field}" must be a string or a list of messages`);
}

/** The template's error (one that raises, or renders turns inconsistently) as a file:line error. */
function rendered(file: string, line: number, render: () => string): string {
  try {
    return render();
  } catch (e) {
    throw new JsonlError(file, line, (e as Error).message);
  }
}

/**
 * An answer as text after `prompt`: a message list is what rendering prompt + answer adds to the prompt's
 * rendering with the generation prompt (after a plain-string prompt: the answer's own rendering).
 */
function answerText(template: ChatTemplate, prompt: string | ChatMessage[], answer: ChatMessage[]): string {
  if (typeof prompt === 'string') return template.render(answer, false);
  const head = template.render(prompt, true);
  const full = template.render([...prompt, ...answer], false);
  if (!full.startsWith(head)) throw new Error('chat template renders the answer inconsistently (the prompt is not a prefix)');
  return full.slice(head.length);
}

/** One record as a pair of texts, message lists rendered through `template`. */
function pairOf(rec: Record<string, unknown>, file: string, line: number, template: ChatTemplate): PreferencePair {
  const prompt = stringOrMessages(rec, 'prompt', file, line);
  const text = (field: 'chosen' | 'rejected'): string => {
    const v = stringOrMessages(rec, field, file, line);
    const t = typeof v === 'string' ? v : rendered(file, line, () => answerText(template, prompt, v));
    if (t.length === 0) throw new JsonlError(file, line, `field "${field}" is empty`);
    return t;
  };
  const chosen = text('chosen');
  const rejected = text('rejected');
  const promptText = typeof prompt === 'string' ? prompt : rendered(file, line, () => template.render(prompt, true));
  return { prompt: promptText, chosen, rejected, line };
}

/**
 * Parses preference records (already read from `file`): each one a PreferencePair or a file:line error.
 * Message lists are rendered with `template` (the model's chat template; the default one when not given).
 */
export function parsePreferences(
  records: { value: unknown; line: number }[],
  file: string,
  template: ChatTemplate = ChatTemplate.default(),
): PreferencePair[] {
  const pairs = records.map(({ value, line }) => pairOf(expectObject(value, file, line), file, line, template));
  if (pairs.length === 0) throw new Error(`${file}: no preference pairs`);
  return pairs;
}

export function readPreferenceFile(file: string, template?: ChatTemplate): PreferencePair[] {
  return parsePreferences(readJsonlFile(file), file, template);
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

/** What encodePair needs of a tokenizer: special tokens (the template's eos) are recognised in the text. */
export interface PairTokenizer {
  encode(text: string, opts?: { allowedSpecial?: 'all' }): number[];
}

/**
 * Encodes a pair (special tokens such as the chat template's <|endoftext|> as the single ids SFT trained on).
 * A prompt + response longer than the context keeps the end of the prompt (the part next to
 * the answer) and then cuts the end of the response, as TRL's truncation does; the response keeps at least
 * half the context, since both losses are about the response.
 */
export function encodePair(tok: PairTokenizer, pair: PreferencePair, maxLength: number): EncodedPair {
  if (maxLength < 2) throw new Error(`the context (${maxLength}) is too short for a prompt and a response`);
  const enc = (text: string) => tok.encode(text, { allowedSpecial: 'all' });
  const prompt = enc(pair.prompt);
  // The prompt may claim up to half the context; the response gets the rest.
  const fit = (resp: number[]) => resp.slice(0, maxLength - Math.min(prompt.length, Math.floor(maxLength / 2)));
  const chosen = fit(enc(pair.chosen));
  const rejected = fit(enc(pair.rejected));
  const room = maxLength - Math.max(chosen.length, rejected.length);
  return { prompt: prompt.slice(Math.max(0, prompt.length - room)), chosen, rejected };
}
