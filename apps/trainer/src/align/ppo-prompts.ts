// PPO's prompts and how the reward model reads a response to one. Prompt JSONL, one a line:
//   {"prompt": "..."}                                     a user message
//   {"messages": [{"role": "system"|"user"|"assistant", "content": "..."}, ...]}   ending before the reply
// or the built-in WordNet instructions. The policy sees a prompt through its chat template; the reward model reads
// a response the way `reward` read its preference pairs (preference.ts): after a message-list prompt, the prompt
// rendered with the generation prompt and the reply as the template closes it (the eos token where the policy
// ended it) — the text the reward model and align-eval score; after a plain-string prompt, both as they are.
import { JsonlError, expectObject, stringField } from '@gptlab/common';
import { readJsonlFile } from '@gptlab/common/node';
import { parseMessages, type ChatMessage } from './chat';
import type { ChatTemplate } from './template';
import type { RewardModel } from './reward';
import type { RewardFn } from './ppo-rollout';
import { buildWordNetInstruct, type InstructItem } from './wordnet-instruct';

/** --prompts value that takes the prompts of the WordNet instructions that ship with gptlab. */
export const WORDNET_PROMPTS = 'wordnet-instruct';

export interface PpoPrompt {
  messages: ChatMessage[];
  /** A {"prompt": string} record: the reward model reads the string itself. */
  plain: boolean;
  /** "file:line" or "wordnet:<synset>", for messages. */
  origin: string;
  /** The WordNet item (task, system prompt, answers) for a judge-based reward or evaluation. */
  item?: InstructItem;
}

export function parsePromptRecord(value: unknown, source: string, line: number): PpoPrompt {
  const rec = expectObject(value, source, line);
  const origin = `${source}:${line}`;
  if ('messages' in rec) {
    const messages = parseMessages(rec.messages, 'messages', source, line);
    if (messages[messages.length - 1]!.role === 'assistant')
      throw new JsonlError(source, line, 'field "messages" ends with an assistant turn (a PPO prompt stops where the policy replies)');
    return { messages, plain: false, origin };
  }
  if ('prompt' in rec) {
    const text = stringField(rec, 'prompt', source, line);
    if (text.trim() === '') throw new JsonlError(source, line, 'field "prompt" is empty');
    return { messages: [{ role: 'user', content: text }], plain: true, origin };
  }
  throw new JsonlError(source, line, 'expected {"prompt": "..."} or {"messages": [...]} (without the assistant reply)');
}

export function readPromptFile(file: string): PpoPrompt[] {
  const out = readJsonlFile(file).map(({ value, line }) => parsePromptRecord(value, file, line));
  if (out.length === 0) throw new Error(`${file}: no prompts`);
  return out;
}

/** The training split's WordNet instructions as prompts (the dev and test synsets stay held out). */
export function wordnetPrompts(count: number, seed: number): PpoPrompt[] {
  const items = buildWordNetInstruct({ seed, limits: { train: count, dev: 0, test: 0 } }).train;
  return items.map((item) => ({ messages: item.messages, plain: false, origin: `wordnet:${item.synsetId}`, item }));
}

/** The (prompt, response) texts the reward model scores for `response` to `p` (`ended`: closed by the eos token). */
export function rewardModelText(
  template: ChatTemplate,
  p: PpoPrompt,
  response: string,
  ended: boolean,
): { prompt: string; response: string } {
  if (p.plain) return { prompt: p.messages[0]!.content, response };
  return { prompt: template.render(p.messages, true), response: response + (ended ? template.eosToken : '') };
}

/** A reward model as PPO's reward function, reading responses as the policy's template renders them. */
export function rewardModelFn(rm: Pick<RewardModel, 'score'>, template: ChatTemplate): RewardFn {
  return (items) => rm.score(items.map((it) => rewardModelText(template, it.prompt, it.response, it.ended)));
}

type ComparableTokenizer = { toJSON(): unknown; readonly vocabSize: number };

/** The policy and the reward model must share a tokenizer (the reward model is trained from the policy's SFT model). */
export function checkSameTokenizer(policy: ComparableTokenizer, policyDir: string, rm: ComparableTokenizer, rmDir: string): void {
  if (JSON.stringify(policy.toJSON()) === JSON.stringify(rm.toJSON())) return;
  throw new Error(
    `the policy (${policyDir}, vocabulary ${policy.vocabSize}) and the reward model (${rmDir}, vocabulary ${rm.vocabSize}) ` +
      'use different tokenizers: train the reward model from the policy’s SFT model',
  );
}
