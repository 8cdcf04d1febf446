// Chat data for supervised fine-tuning, in the two formats users already have (JSON Lines, one example a line):
//   {"messages": [{"role": "system"|"user"|"assistant", "content": "..."}, ...]}   (TRL / OpenAI chat)
//   {"instruction": "...", "input": "...", "output": "..."}                          (Alpaca; "input" optional)
// Both become one Conversation. Errors name file:line and the field; a conversation must contain at least one
// assistant turn (SFT learns only assistant tokens, so one without would train on nothing).
import { JsonlError, expectObject, parseJsonl, stringField } from '@gptlab/common';
import { readJsonlFile } from '@gptlab/common/node';

export type ChatRole = 'system' | 'user' | 'assistant';
export const CHAT_ROLES: readonly ChatRole[] = ['system', 'user', 'assistant'];

export interface ChatMessage {
  role: ChatRole;
  content: string;
}

export interface Conversation {
  messages: ChatMessage[];
  /** Where it came from ("file:line"), for messages about this example. */
  origin: string;
}

/** A `messages` array as ChatMessages; any bad element is a JsonlError naming its index and field. */
export function parseMessages(value: unknown, field: string, source: string, line: number): ChatMessage[] {
  if (!Array.isArray(value)) throw new JsonlError(source, line, `field "${field}" must be an array of {"role","content"} objects`);
  if (value.length === 0) throw new JsonlError(source, line, `field "${field}" is empty`);
  return value.map((m, i) => {
    const where = `field "${field}"[${i}]`;
    if (m === null || typeof m !== 'object' || Array.isArray(m))
      throw new JsonlError(source, line, `${where} must be a {"role","content"} object`);
    const { role, content } = m as Record<string, unknown>;
    if (!CHAT_ROLES.includes(role as ChatRole))
      throw new JsonlError(source, line, `${where}: unknown role ${JSON.stringify(role)} (expected ${CHAT_ROLES.join(', ')})`);
    if (typeof content !== 'string') throw new JsonlError(source, line, `${where}: "content" must be a string`);
    return { role: role as ChatRole, content };
  });
}

/** Alpaca's prompt: the instruction, then the input (when non-empty) after a blank line. */
export function alpacaToMessages(instruction: string, input: string, output: string): ChatMessage[] {
  const user = input.trim() === '' ? instruction : `${instruction}\n\n${input}`;
  return [
    { role: 'user', content: user },
    { role: 'assistant', content: output },
  ];
}

/** One JSONL record (chat or Alpaca) as a Conversation. */
export function parseChatRecord(value: unknown, source: string, line: number): Conversation {
  const rec = expectObject(value, source, line);
  let messages: ChatMessage[];
  if ('messages' in rec) {
    messages = parseMessages(rec.messages, 'messages', source, line);
  } else if ('instruction' in rec) {
    const input = rec.input === undefined ? '' : stringField(rec, 'input', source, line);
    messages = alpacaToMessages(stringField(rec, 'instruction', source, line), input, stringField(rec, 'output', source, line));
  } else {
    throw new JsonlError(source, line, 'expected a chat record {"messages": [...]} or an Alpaca record {"instruction","input","output"}');
  }
  if (!messages.some((m) => m.role === 'assistant'))
    throw new JsonlError(source, line, 'field "messages": no assistant turn (SFT trains on assistant replies only)');
  return { messages, origin: `${source}:${line}` };
}

/** Every conversation of JSONL text; `source` names it in errors. */
export function parseChatJsonl(text: string, source: string): Conversation[] {
  return [...parseJsonl(text, source)].map(({ value, line }) => parseChatRecord(value, source, line));
}

/** Every conversation of a JSONL file; an empty file is an error. */
export function readChatFile(file: string): Conversation[] {
  const out = readJsonlFile(file).map(({ value, line }) => parseChatRecord(value, file, line));
  if (out.length === 0) throw new Error(`${file}: no conversations`);
  return out;
}
