// Free-form generation tasks scored as SQuAD / lm-eval score them: the model continues the context (greedy,
// or beam search — GPT-3 used beam width 4 and length penalty 0.6, §3), the answer is the continuation up to
// its first newline, and it is compared with every reference answer after SQuAD's normalisation (lower case,
// punctuation and the articles a/an/the removed, whitespace collapsed): exact match and token F1, the best
// over the references.
import { expectObject, readJsonlFile, JsonlError } from '@gptlab/common/node';
import type { GPT } from '@gptlab/model';
import type { BPETokenizer } from '@gptlab/tokenizer';
import { sampleText } from '../sample';
import { meanStderr } from './multiple-choice';

export interface GenerationItem {
  context: string;
  answers: string[];
}

export interface GenerationReport {
  exact_match: number;
  exact_match_stderr: number | null;
  f1: number;
  f1_stderr: number | null;
  n: number;
  samples: { prediction: string; exact_match: number; f1: number }[];
}

/** Items of a JSONL file, `{"context": str, "answers": [str, ...]}` a line; errors name file:line. */
export function readGenerationFile(file: string): GenerationItem[] {
  const items = readJsonlFile(file).map(({ value, line }) => {
    const o = expectObject(value, file, line);
    if (typeof o.context !== 'string')
      throw new JsonlError(file, line, o.context === undefined ? 'missing field "context"' : 'field "context" must be a string');
    const answers = o.answers;
    if (answers === undefined) throw new JsonlError(file, line, 'missing field "answers"');
    if (!Array.isArray(answers) || answers.length === 0 || answers.some((a) => typeof a !== 'string'))
      throw new JsonlError(file, line, 'field "answers" must be a non-empty array of strings');
    return { context: o.context, answers: answers as string[] };
  });
  if (items.length === 0) throw new Error(`${file}: no items`);
  return items;
}

/** SQuAD v1.1's normalize_answer. */
export function normalizeAnswer(text: string): string {
  return text
    .toLowerCase()
    .replace(/[!"#$%&'()*+,\-./:;<=>?@[\\\]^_`{|}~]/g, '')
    .replace(/\b(a|an|the)\b/g, ' ')
    .split(/\s+/)
    .filter(Boolean)
    .join(' ');
}

export function exactMatch(prediction: string, answer: string): number {
  return normalizeAnswer(prediction) === normalizeAnswer(answer) ? 1 : 0;
}

/** SQuAD's token F1: overlap of the normalised tokens as a multiset. */
export function tokenF1(prediction: string, answer: string): number {
  const pred = normalizeAnswer(prediction).split(' ').filter(Boolean);
  const gold = normalizeAnswer(answer).split(' ').filter(Boolean);
  if (pred.length === 0 || gold.length === 0) return pred.length === gold.length ? 1 : 0;
  const counts = new Map<string, number>();
  for (const t of gold) counts.set(t, (counts.get(t) ?? 0) + 1);
  let common = 0;
  for (const t of pred) {
    const c = counts.get(t) ?? 0;
    if (c > 0) {
      common++;
      counts.set(t, c - 1);
    }
  }
  if (common === 0) return 0;
  const precision = common / pred.length;
  const recall = common / gold.length;
  return (2 * precision * recall) / (precision + recall);
}

/** `decoding`: @gptlab/decoding strategy options (numBeams, lengthPenalty, maxNewTokens …); greedy by default. */
export async function evaluateGeneration(
  model: GPT,
  tok: BPETokenizer,
  items: GenerationItem[],
  decoding: Record<string, unknown> & { maxNewTokens: number },
): Promise<GenerationReport> {
  const samples: GenerationReport['samples'] = [];
  for (const item of items) {
    const text = await sampleText(model, tok, item.context, decoding);
    const prediction = text.split('\n')[0]!.trim();
    samples.push({
      prediction,
      exact_match: Math.max(...item.answers.map((a) => exactMatch(prediction, a))),
      f1: Math.max(...item.answers.map((a) => tokenF1(prediction, a))),
    });
  }
  const em = samples.map((s) => s.exact_match);
  const f1 = samples.map((s) => s.f1);
  return {
    exact_match: em.reduce((a, b) => a + b, 0) / em.length,
    exact_match_stderr: meanStderr(em),
    f1: f1.reduce((a, b) => a + b, 0) / f1.length,
    f1_stderr: meanStderr(f1),
    n: items.length,
    samples,
  };
}
