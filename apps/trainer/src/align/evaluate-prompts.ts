// The prompts `align-eval` answers, and the WordNet preference pairs the alignment experiment trains on.
//
// Held-out prompts ("heldout"): WordNet instructions of the test synsets (the split SFT, `--data
// wordnet-instruct` and the pairs below never draw from), further held out *by word*: an item is dropped when
// its word names any synset of the train or dev split, so a polysemous word seen in training under another
// sense ("bank") cannot leak its answer. A prompt file instead holds JSON Lines
//   {"messages": [...prompt...], "task": "define", "system": "none", "answers": ["..."]}
// where task/system/answers (the judge's key, see judge.ts) are optional together: without them a prompt is
// answered and scored by the reward model and the KL, not by the judge.
import * as fs from 'node:fs';
import { JsonlError, expectObject, stringField } from '@gptlab/common';
import { readJsonlFile, writeFileAtomic } from '@gptlab/common/node';
import { loadWordNet, type WordNet } from '@gptlab/data';
import { splitOf } from '../finetune/wordnet-tasks';
import { parseMessages, type ChatMessage } from './chat';
import { SYSTEM_PROMPTS, type InstructTask, type JudgeKey, type SystemPromptKind } from './judge';
import { buildWordNetInstruct, preferenceRecord, wordnetPreferencePairs } from './wordnet-instruct';

/** --prompts value: held-out WordNet instructions. */
export const HELDOUT = 'heldout';

export interface EvalPrompt {
  /** The conversation so far (no assistant reply): rendered with the generation prompt. */
  messages: ChatMessage[];
  /** What the judge needs; null when the prompt came without one. */
  key: JudgeKey | null;
  /** Where it came from ("heldout:<word>" or "file:line"). */
  origin: string;
}

/** Lower-cased words of every synset outside the test split: the words training may have seen. */
function trainingWords(wn: WordNet): Set<string> {
  const seen = new Set<string>();
  for (const s of wn.synsets) if (splitOf(s.id) !== 'test') for (const w of s.words) seen.add(w.toLowerCase());
  return seen;
}

/** `n` held-out WordNet instructions (test synsets, words unseen in training), in a seeded order. */
export function heldoutPrompts(n: number, seed: number, wordnet?: WordNet): EvalPrompt[] {
  const wn = wordnet ?? loadWordNet();
  const seen = trainingWords(wn);
  // Most test synsets share a word with a training synset; ask for enough to keep n after the word filter.
  const items = buildWordNetInstruct({ seed, wordnet: wn, limits: { train: 0, dev: 0, test: 20 * n } }).test;
  const kept = items.filter((it) => !seen.has(it.word.toLowerCase())).slice(0, n);
  if (kept.length === 0) throw new Error('no held-out WordNet prompts (every test word is also a training word)');
  return kept.map((it) => ({
    messages: it.messages,
    key: { task: it.task, system: it.system, answers: it.answers },
    origin: `${HELDOUT}:${it.word}`,
  }));
}

const TASKS: readonly InstructTask[] = ['define', 'hypernym', 'synonym', 'example', 'isa'];
const SYSTEMS = ['none', ...Object.keys(SYSTEM_PROMPTS)] as SystemPromptKind[];

/** The judge key of a prompt record, or null when it has none; a partial or bad key names its field. */
function keyOf(rec: Record<string, unknown>, file: string, line: number): JudgeKey | null {
  const present = ['task', 'system', 'answers'].filter((f) => rec[f] !== undefined);
  if (present.length === 0) return null;
  if (present.length < 3) throw new JsonlError(file, line, 'fields "task", "system" and "answers" go together (the judge needs all three)');
  const task = stringField(rec, 'task', file, line) as InstructTask;
  if (!TASKS.includes(task)) throw new JsonlError(file, line, `field "task": unknown task "${task}" (expected ${TASKS.join(', ')})`);
  const system = stringField(rec, 'system', file, line) as SystemPromptKind;
  if (!SYSTEMS.includes(system))
    throw new JsonlError(file, line, `field "system": unknown system prompt kind "${system}" (expected ${SYSTEMS.join(', ')})`);
  const answers = rec.answers;
  if (!Array.isArray(answers) || answers.length === 0 || !answers.every((a) => typeof a === 'string'))
    throw new JsonlError(file, line, 'field "answers" must be a non-empty list of strings');
  return { task, system, answers: answers as string[] };
}

/** Prompts of a JSONL file; a bad line is one error naming file:line and the field. */
export function readPromptFile(file: string): EvalPrompt[] {
  const out = readJsonlFile(file).map(({ value, line }) => {
    const rec = expectObject(value, file, line);
    const messages = parseMessages(rec.messages, 'messages', file, line);
    if (messages[messages.length - 1]!.role === 'assistant')
      throw new JsonlError(file, line, 'field "messages": ends with an assistant turn (a prompt ends where the answer begins)');
    return { messages, key: keyOf(rec, file, line), origin: `${file}:${line}` };
  });
  if (out.length === 0) throw new Error(`${file}: no prompts`);
  return out;
}

/** --prompts heldout|FILE as prompts (`n` of them at most). */
export function loadPrompts(spec: string, n: number, seed: number): EvalPrompt[] {
  if (spec === HELDOUT) return heldoutPrompts(n, seed);
  if (!fs.existsSync(spec)) throw new Error(`--prompts: no such file ${spec} (or "${HELDOUT}")`);
  return readPromptFile(spec).slice(0, n);
}

/**
 * WordNet preference pairs of the training synsets as TRL's conversational JSONL (for `reward` and `dpo`),
 * written atomically to `file`; returns how many.
 */
export function writeWordNetPairs(file: string, examples: number, seed: number): number {
  const items = buildWordNetInstruct({ seed, limits: { train: examples, dev: 0, test: 0 } }).train;
  const pairs = wordnetPreferencePairs(items, seed);
  writeFileAtomic(file, pairs.map((p) => JSON.stringify(preferenceRecord(p))).join('\n') + '\n');
  return pairs.length;
}
