// The programmatic judge that stands in for InstructGPT's human labellers: it scores an answer to a WordNet
// instruction for correctness (against WordNet itself) and for compliance with the system prompt. It is an
// evaluation tool only — SFT, the reward model and DPO never see its verdicts, only the data built from WordNet.
//
// Correctness, by task (matching ignores case, punctuation and extra spaces, so "LARGE." matches "large"):
//   define   : the answer covers ≥ 60% of the definition's words (so "It means X." counts as X)
//   hypernym : the answer contains a word of a hypernym synset, as whole words
//   synonym  : the answer contains another word of the same synset (not the word asked about)
//   example  : the answer contains one of the synset's example sentences
//   isa      : the answer's first word is "yes" when Y is a hypernym of X, "no" otherwise
// Compliance, by system prompt:
//   one-word : a single word (letters, inner ' or -), an optional final period
//   sentence : starts with a capital, ends with . ! or ?, ≥ 3 words, no sentence break inside
//   capitals : has letters and no lower-case letter
//   yes-no   : starts with "Yes" or "No" as a word
//   none     : anything
export type InstructTask = 'define' | 'hypernym' | 'synonym' | 'example' | 'isa';
export type SystemPromptKind = 'none' | 'one-word' | 'sentence' | 'capitals' | 'yes-no';

export const SYSTEM_PROMPTS: Record<Exclude<SystemPromptKind, 'none'>, string> = {
  'one-word': 'Answer in one word.',
  sentence: 'Answer in one full sentence.',
  capitals: 'Answer in capital letters.',
  'yes-no': "Start your answer with 'Yes' or 'No'.",
};

/** What the judge needs to know about an instruction: its task, system prompt and WordNet's correct answers. */
export interface JudgeKey {
  task: InstructTask;
  system: SystemPromptKind;
  /** define: the definition; hypernym/synonym: acceptable words; example: the examples; isa: ['yes'] or ['no']. */
  answers: string[];
}

export interface Verdict {
  correct: boolean;
  compliant: boolean;
  /** 1 when correct and compliant, 0.5 when one of the two, 0 when neither. */
  score: number;
}

/** Lower case, punctuation to spaces, single spaces: the form answers are compared in. */
export function normalizeText(s: string): string {
  return s
    .toLowerCase()
    .replace(/[^a-z0-9'\s-]+/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

const containsPhrase = (text: string, phrase: string): boolean => {
  const p = normalizeText(phrase);
  return p !== '' && ` ${normalizeText(text)} `.includes(` ${p} `);
};

function definitionCoverage(answer: string, definition: string): number {
  const said = new Set(normalizeText(answer).split(' '));
  const words = normalizeText(definition).split(' ').filter(Boolean);
  if (words.length === 0) return 0;
  return words.filter((w) => said.has(w)).length / words.length;
}

export function isCorrect(key: JudgeKey, answer: string): boolean {
  switch (key.task) {
    case 'define':
      return key.answers.some((d) => definitionCoverage(answer, d) >= 0.6);
    case 'hypernym':
    case 'synonym':
    case 'example':
      return key.answers.some((a) => containsPhrase(answer, a));
    case 'isa':
      return normalizeText(answer).split(' ')[0] === key.answers[0];
  }
}

export function isCompliant(system: SystemPromptKind, answer: string): boolean {
  const a = answer.trim();
  switch (system) {
    case 'none':
      return true;
    case 'one-word':
      return /^[A-Za-z](?:[A-Za-z'-]*[A-Za-z])?\.?$/.test(a);
    case 'sentence':
      return /^[A-Z]/.test(a) && /[.!?]$/.test(a) && a.split(/\s+/).length >= 3 && !/[.!?]\s+\S/.test(a.slice(0, -1));
    case 'capitals':
      return /[A-Z]/.test(a) && !/[a-z]/.test(a);
    case 'yes-no':
      return /^(Yes|No)\b/.test(a);
  }
}

export function judge(key: JudgeKey, answer: string): Verdict {
  const correct = isCorrect(key, answer);
  const compliant = isCompliant(key.system, answer);
  return { correct, compliant, score: (Number(correct) + Number(compliant)) / 2 };
}
