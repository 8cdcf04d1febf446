// Instruction data built from WordNet 3.1 (ships with the repository, nothing downloads): five tasks — define a
// word, name a hypernym, give a synonym, use the word in an example, answer "is X a kind of Y?" — each under a
// system prompt whose compliance a program can check (judge.ts). Splits are by synset (the same stable hash as
// the GPT-1 tasks), so no synset of a held-out prompt is seen in training. Every item carries a reference answer
// that the judge scores as correct and compliant; items where it would not (e.g. a definition with a sentence
// break under "Answer in one full sentence.") are left out rather than taught wrongly.
import { Rng } from '@gptlab/common';
import { loadWordNet, type Synset, type WordNet } from '@gptlab/data';
import { splitOf, type Split } from '../finetune/wordnet-tasks';
import type { ChatMessage } from './chat';
import { SYSTEM_PROMPTS, judge, type InstructTask, type JudgeKey, type SystemPromptKind } from './judge';

export interface InstructItem extends JudgeKey {
  synsetId: string;
  word: string;
  /** The prompt: an optional system message, then the user's instruction. */
  messages: ChatMessage[];
  /** A correct and compliant answer: the SFT target and the preferred answer of a preference pair. */
  reference: string;
  /** A correct answer with no formatting for the system prompt (source of non-compliant rejections). */
  plain: string;
}

export type InstructSplits = Record<Split, InstructItem[]>;

export interface WordNetInstructOptions {
  /** Items per split at most, after a seeded shuffle (default 4000 / 300 / 300). */
  limits?: Partial<Record<Split, number>>;
  seed?: number;
  wordnet?: WordNet;
}

const TASK_SYSTEMS: Record<InstructTask, SystemPromptKind[]> = {
  define: ['none', 'sentence', 'capitals'],
  hypernym: ['none', 'one-word', 'sentence', 'capitals'],
  synonym: ['none', 'one-word', 'sentence', 'capitals'],
  example: ['none', 'capitals'],
  isa: ['none', 'yes-no', 'capitals'],
};

const isOneWord = (w: string): boolean => /^[A-Za-z](?:[A-Za-z'-]*[A-Za-z])?$/.test(w);

/** The answer to a word-valued task (hypernym, synonym) formatted for the system prompt. */
function formatWordAnswer(system: SystemPromptKind, word: string, answer: string, relation: string): string {
  if (system === 'capitals') return answer.toUpperCase();
  if (system === 'sentence') return `A ${relation} of "${word}" is "${answer}".`;
  return answer;
}

/** One item for synset `s` and `task`, or null where the synset has nothing to ask (no hypernym, no example...). */
function makeItem(wn: WordNet, s: Synset, task: InstructTask, rng: Rng, pool: Synset[]): InstructItem | null {
  const word = s.words[0]!;
  const systems = TASK_SYSTEMS[task];
  const system = systems[rng.int(systems.length)]!;
  let base: { answers: string[]; user: string; reference: string; plain: string } | null = null;
  switch (task) {
    case 'define': {
      const d = s.definition;
      const reference = system === 'capitals' ? d.toUpperCase() : system === 'sentence' ? `The word "${word}" means ${d}.` : d;
      base = { answers: [d], user: `Define the word "${word}".`, reference, plain: d };
      break;
    }
    case 'hypernym':
    case 'synonym': {
      const answers =
        task === 'hypernym'
          ? s.hypernyms.flatMap((h) => wn.get(h)?.words ?? [])
          : s.words.filter((w) => w.toLowerCase() !== word.toLowerCase());
      if (answers.length === 0) return null;
      const user = task === 'hypernym' ? `Name a more general term for "${word}".` : `Give a synonym of "${word}".`;
      const choice = system === 'one-word' ? answers.find(isOneWord) : answers[0];
      if (choice === undefined) return null;
      const relation = task === 'hypernym' ? 'more general term' : 'synonym';
      base = { answers, user, reference: formatWordAnswer(system, word, choice, relation), plain: choice };
      break;
    }
    case 'example': {
      if (s.examples.length === 0) return null;
      const ex = s.examples[0]!;
      base = {
        answers: s.examples,
        user: `Use the word "${word}" in an example.`,
        reference: system === 'capitals' ? ex.toUpperCase() : ex,
        plain: ex,
      };
      break;
    }
    case 'isa': {
      if (s.pos !== 'n' || s.hypernyms.length === 0) return null;
      const truth = rng.next() < 0.5;
      let y: string | undefined;
      if (truth) y = wn.get(s.hypernyms[0]!)?.words[0];
      else {
        const other = pool[rng.int(pool.length)]!;
        if (other !== s && !s.hypernyms.includes(other.id)) y = other.words[0];
      }
      if (y === undefined) return null;
      const claim = `a ${word} is ${truth ? '' : 'not '}a kind of ${y}`;
      const text = `${truth ? 'Yes' : 'No'}, ${claim}.`;
      base = {
        answers: [truth ? 'yes' : 'no'],
        user: `Is a ${word} a kind of ${y}?`,
        reference: system === 'capitals' ? text.toUpperCase() : text,
        plain: claim,
      };
      break;
    }
  }
  const messages: ChatMessage[] = [];
  if (system !== 'none') messages.push({ role: 'system', content: SYSTEM_PROMPTS[system] });
  messages.push({ role: 'user', content: base.user });
  const item: InstructItem = {
    task,
    system,
    answers: base.answers,
    synsetId: s.id,
    word,
    messages,
    reference: base.reference,
    plain: base.plain,
  };
  return judge(item, item.reference).score === 1 ? item : null;
}

const TASKS: InstructTask[] = ['define', 'hypernym', 'synonym', 'example', 'isa'];

/** WordNet instruction items by split (by synset), shuffled with `seed` and cut to the limits. */
export function buildWordNetInstruct(opts: WordNetInstructOptions = {}): InstructSplits {
  const wn = opts.wordnet ?? loadWordNet();
  const rng = new Rng(opts.seed ?? 1234);
  const limits: Record<Split, number> = { train: 4000, dev: 300, test: 300, ...opts.limits };
  const out: InstructSplits = { train: [], dev: [], test: [] };
  const bySplit: Record<Split, Synset[]> = { train: [], dev: [], test: [] };
  for (const s of wn.synsets) if (s.definition && s.words.length > 0) bySplit[splitOf(s.id)].push(s);
  for (const split of ['train', 'dev', 'test'] as const) {
    const pool = bySplit[split];
    // Synsets in a seeded order, one task each, so the tasks are spread across many synsets.
    for (const s of rng.shuffle([...pool])) {
      if (out[split].length >= limits[split]) break;
      const start = rng.int(TASKS.length);
      for (let k = 0; k < TASKS.length; k++) {
        const item = makeItem(wn, s, TASKS[(start + k) % TASKS.length]!, rng, pool);
        if (item) {
          out[split].push(item);
          break;
        }
      }
    }
  }
  return out;
}

/** The item as a chat record, with the reference as the assistant turn (SFT data). */
export function instructConversation(item: InstructItem): ChatMessage[] {
  return [...item.messages, { role: 'assistant', content: item.reference }];
}

export interface InstructPreference {
  item: InstructItem;
  chosen: string;
  rejected: string;
  /** Why the rejected answer is worse: it is wrong (another synset's answer) or ignores the system prompt. */
  flaw: 'wrong' | 'non-compliant';
}

/** A correct answer that breaks the item's system prompt, or null where the prompt is "none". */
function nonCompliant(item: InstructItem): string | null {
  switch (item.system) {
    case 'none':
      return null;
    case 'one-word':
      return `I would say ${item.plain}, I think`;
    case 'sentence':
      return item.plain.charAt(0).toLowerCase() + item.plain.slice(1);
    case 'capitals':
      return item.reference.toLowerCase();
    case 'yes-no':
      return item.plain.charAt(0).toUpperCase() + item.plain.slice(1) + '.';
  }
}

/**
 * Preference pairs for the reward model and DPO: chosen = the reference (correct and compliant); rejected = the
 * reference of another item of the same task and system prompt (wrong but compliant) or, half the time where
 * the prompt has a checkable format, a correct answer that ignores it. A pair is kept only where the judge
 * confirms the flaw (a wrong answer judged incorrect, a non-compliant one judged non-compliant).
 */
export function wordnetPreferencePairs(items: readonly InstructItem[], seed = 1234): InstructPreference[] {
  const rng = new Rng(seed);
  const groups = new Map<string, InstructItem[]>();
  for (const it of items) {
    const k = `${it.task}/${it.system}`;
    groups.set(k, [...(groups.get(k) ?? []), it]);
  }
  const out: InstructPreference[] = [];
  for (const item of items) {
    const nc = nonCompliant(item);
    let rejected: string | null = null;
    let flaw: InstructPreference['flaw'] = 'wrong';
    if (nc !== null && rng.next() < 0.5) {
      rejected = nc;
      flaw = 'non-compliant';
    } else {
      const group = groups.get(`${item.task}/${item.system}`)!;
      const other = group[rng.int(group.length)]!;
      if (other.synsetId !== item.synsetId) rejected = other.reference;
    }
    if (rejected === null) continue;
    const verdict = judge(item, rejected);
    if (flaw === 'wrong' ? !verdict.correct : !verdict.compliant) out.push({ item, chosen: item.reference, rejected, flaw });
  }
  return out;
}

/** TRL's conversational preference record: {"prompt": [...], "chosen": [assistant], "rejected": [assistant]}. */
export function preferenceRecord(p: InstructPreference): { prompt: ChatMessage[]; chosen: ChatMessage[]; rejected: ChatMessage[] } {
  return {
    prompt: p.item.messages,
    chosen: [{ role: 'assistant', content: p.chosen }],
    rejected: [{ role: 'assistant', content: p.rejected }],
  };
}
