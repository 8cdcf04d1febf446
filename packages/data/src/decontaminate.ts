// Test-set contamination removal (GPT-3 §4 and Appendix C): a training document that shares an N-gram (N = 13
// words by default) with any evaluation example is removed. Text is compared as lower-cased words (letters and
// digits; punctuation and spacing ignored). An evaluation text shorter than N words is matched whole, as GPT-3
// did for short examples, unless it is shorter than `minWords` (8, GPT-3's smallest N): a one-word answer such
// as "Paris" would otherwise remove every document that mentions it. Evaluation tasks are the trainer's JSONL files: multiple choice
// `{"context","choices","gold"}`, generation `{"context","answers"}` and last-word `{"text"}`.
import { writeFileAtomic } from '@gptlab/common/node';
import { JsonlError, expectObject, parseJsonlLine } from '@gptlab/common';
import { readFileChunks } from './compressed';
import { DataInputError } from './errors';
import { mapJsonlFile, type MapJsonlResult } from './jsonl-map';
import { decodeUtf8, readLines } from './util';

const WORD_RE = /[\p{L}\p{N}]+/gu;

/** The words n-grams are made of: lower-cased runs of letters and digits. */
export function overlapWords(text: string): string[] {
  return text.toLowerCase().match(WORD_RE) ?? [];
}

/** The texts of one evaluation record that must not appear in training data. */
function taskTexts(obj: Record<string, unknown>, file: string, line: number): string[] {
  const strings = (k: string): string[] | undefined => {
    const v = obj[k];
    if (v === undefined) return undefined;
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string'))
      throw new JsonlError(file, line, `field "${k}" must be an array of strings`);
    return v as string[];
  };
  if (typeof obj.text === 'string' && obj.context === undefined) return [obj.text];
  if (typeof obj.context !== 'string')
    throw new JsonlError(
      file,
      line,
      obj.context === undefined ? 'missing field "context" (or "text")' : 'field "context" must be a string',
    );
  const choices = strings('choices');
  const answers = strings('answers');
  if (!choices && !answers) throw new JsonlError(file, line, 'missing field "choices" or "answers"');
  const outs = choices ?? answers!;
  const gold = choices ? (typeof obj.gold === 'number' ? choices[obj.gold] : undefined) : answers![0];
  // the context, every candidate, and the context followed by the right answer (what a contaminated page holds)
  return [obj.context, ...outs, ...(gold !== undefined ? [`${obj.context} ${gold}`] : [])];
}

/** The N-grams of the evaluation tasks, keyed by their words joined with spaces. */
export class TaskNgrams {
  readonly grams = new Map<string, { task: string; line: number }>();
  /** Gram lengths present: N, plus the lengths of evaluation texts shorter than N words. */
  readonly lengths = new Set<number>();
  readonly items: Record<string, number> = {};

  constructor(
    readonly n: number,
    readonly minWords = 8,
  ) {
    if (!(Number.isInteger(n) && n >= 1)) throw new DataInputError(`ngram must be a positive integer, got ${n}`);
  }

  addText(text: string, task: string, line: number): void {
    const w = overlapWords(text);
    if (!w.length || w.length < Math.min(this.n, this.minWords)) return;
    const len = Math.min(this.n, w.length);
    this.lengths.add(len);
    for (let i = 0; i + len <= w.length; i++) {
      const g = w.slice(i, i + len).join(' ');
      if (!this.grams.has(g)) this.grams.set(g, { task, line });
    }
  }

  async addTaskFile(file: string): Promise<void> {
    let items = 0;
    for await (const { line, lineNo } of readLines(readFileChunks(file))) {
      const raw = decodeUtf8(line).text;
      if (!raw.trim()) continue;
      const obj = expectObject(parseJsonlLine(raw, file, lineNo), file, lineNo);
      for (const t of taskTexts(obj, file, lineNo)) this.addText(t, file, lineNo);
      items++;
    }
    if (!items) throw new DataInputError(`decontaminate: task file ${file} has no items`);
    this.items[file] = items;
  }

  /** The first evaluation N-gram found in `text`, or null. */
  firstCollision(text: string): { gram: string; task: string; line: number } | null {
    const w = overlapWords(text);
    for (const len of this.lengths)
      for (let i = 0; i + len <= w.length; i++) {
        const g = w.slice(i, i + len).join(' ');
        const hit = this.grams.get(g);
        if (hit) return { gram: g, ...hit };
      }
    return null;
  }
}

export interface DecontaminateOptions {
  input: string;
  against: string[];
  out: string;
  report?: string;
  ngram?: number;
  /** Evaluation texts shorter than min(ngram, minWords) words are not matched (default 8). */
  minWords?: number;
  field?: string;
  idField?: string;
  skipBad?: boolean;
}

export interface DecontaminateResult extends MapJsonlResult {
  removed: number;
  ngram: number;
  /** Removed documents per task file. */
  perTask: Record<string, { items: number; removedDocs: number }>;
  removedDocs: { id: string; line: number; task: string; taskLine: number; ngram: string }[];
}

/** `data decontaminate`: the input without the documents that share an N-gram with the tasks, and a report. */
export async function decontaminateJsonl(opts: DecontaminateOptions): Promise<DecontaminateResult> {
  const n = opts.ngram ?? 13;
  const grams = new TaskNgrams(n, opts.minWords);
  if (!opts.against.length) throw new DataInputError('decontaminate: no task files given (--against)');
  for (const t of opts.against) await grams.addTaskFile(t);
  const perTask: DecontaminateResult['perTask'] = {};
  for (const t of opts.against) perTask[t] = { items: grams.items[t]!, removedDocs: 0 };
  const removedDocs: DecontaminateResult['removedDocs'] = [];
  const idField = opts.idField ?? 'id';
  const r = await mapJsonlFile(
    { input: opts.input, out: opts.out, field: opts.field, skipBad: opts.skipBad, what: 'decontaminate' },
    (rec) => {
      const hit = grams.firstCollision(rec.text);
      if (!hit) return rec.obj;
      const idv = rec.obj[idField];
      perTask[hit.task]!.removedDocs++;
      removedDocs.push({
        id: typeof idv === 'string' || typeof idv === 'number' ? String(idv) : `${opts.input}:${rec.line}`,
        line: rec.line,
        task: hit.task,
        taskLine: hit.line,
        ngram: hit.gram,
      });
      return null;
    },
  );
  const result: DecontaminateResult = { ...r, removed: removedDocs.length, ngram: n, perTask, removedDocs };
  if (opts.report)
    writeFileAtomic(opts.report, JSON.stringify({ input: opts.input, out: opts.out, against: opts.against, ...result }, null, 2) + '\n');
  return result;
}
