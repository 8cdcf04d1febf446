// k-shot prompts for JSONL multiple-choice tasks, as lm-evaluation-harness builds them: k solved examples
// from a train split, each its context followed by its gold choice, joined by a blank line ("\n\n",
// lm-eval's default fewshot_delimiter) before the query's own context. The examples are drawn without
// replacement from a generator seeded once per run, so a seed fixes every prompt.
import { Rng } from '@gptlab/common';
import type { MultipleChoiceItem } from './multiple-choice';

export const FEWSHOT_DELIMITER = '\n\n';

/** `items` with k solved examples from `train` before each context; an example never repeats its query. */
export function withFewShotPrompts(
  items: MultipleChoiceItem[],
  train: MultipleChoiceItem[],
  k: number,
  seed: number,
): MultipleChoiceItem[] {
  if (!Number.isInteger(k) || k < 0) throw new Error(`few-shot: k must be a non-negative integer, got ${k}`);
  if (k === 0) return items;
  const rng = new Rng(seed);
  return items.map((item) => {
    // Excluding the query itself matters when the train split is the task file (lm-eval does the same).
    const pool = train.filter((ex) => ex.context !== item.context);
    if (pool.length < k) throw new Error(`few-shot: ${k} examples asked for, the train split has ${pool.length} besides the query`);
    const shots: string[] = [];
    for (let i = 0; i < k; i++) {
      const ex = pool.splice(rng.int(pool.length), 1)[0]!;
      shots.push(ex.context + ex.choices[ex.gold]!);
    }
    return { ...item, context: shots.join(FEWSHOT_DELIMITER) + FEWSHOT_DELIMITER + item.context };
  });
}
