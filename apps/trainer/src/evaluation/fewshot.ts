// Zero-, one- and few-shot evaluation in the GPT-2/GPT-3 style (Brown et al. 2020, §2): a natural-language
// task description, k solved examples and the query; each answer option is scored by the model's
// log-likelihood of the completion, normalised per token (GPT-3's default for most multiple-choice tasks),
// and the best-scoring option is the model's answer.
import { Rng } from '@gptlab/common';
import { tf } from '@gptlab/tensor';

export interface ChoiceItem {
  /** The query text, e.g. a word or a gloss. */
  input: string;
  /** Candidate completions; `answer` indexes the right one. */
  options: string[];
  answer: number;
}

export interface FewShotTask {
  name: string;
  /** Natural-language task description placed first in the prompt. */
  description: string;
  /** Separator between input and output, `=>` or `Answer:` style. */
  separator: string;
  items: ChoiceItem[];
}

export interface ScoringModel {
  readonly config: { nPositions: number };
  forward(ids: tf.Tensor2D): { logits: tf.Tensor3D };
}

export interface ScoringTokenizer {
  encode(text: string): number[];
}

/** The prompt for `query` with the given solved examples (k = shots.length). */
export function buildPrompt(task: Pick<FewShotTask, 'description' | 'separator'>, shots: ChoiceItem[], query: ChoiceItem): string {
  const lines = [task.description, ''];
  for (const s of shots) lines.push(`${s.input} ${task.separator} ${s.options[s.answer]}`);
  lines.push(`${query.input} ${task.separator}`);
  return lines.join('\n');
}

/**
 * Sum and mean log-probability of `completion` after `context`. The context is cut from the left when the
 * pair does not fit the model's window; a completion longer than the window minus one token of context is
 * scored on the part that fits (`scored` says how many of its tokens were scored).
 */
export function completionLogProb(
  model: ScoringModel,
  context: number[],
  completion: number[],
): { sum: number; mean: number; tokens: number; scored: number } {
  if (completion.length === 0) throw new Error('completionLogProb: empty completion');
  if (context.length === 0) throw new Error('completionLogProb: empty context (need at least one token to condition on)');
  const max = model.config.nPositions;
  const comp = completion.slice(0, max); // at most `max` tokens can be predicted from max inputs
  const ctx = context.slice(Math.max(0, context.length - Math.max(1, max + 1 - comp.length)));
  const ids = [...ctx, ...comp].slice(0, max + 1);
  const scored = ids.length - ctx.length;
  const sum = tf.tidy(() => {
    const input = tf.tensor2d([ids.slice(0, -1)], [1, ids.length - 1], 'int32');
    const { logits } = model.forward(input);
    const T = ids.length - 1;
    const start = ctx.length - 1; // position whose logits predict the first completion token
    const rows = tf.reshape(tf.slice(logits, [0, start, 0], [1, T - start, logits.shape[2]]), [T - start, logits.shape[2]]);
    const logp = tf.logSoftmax(rows);
    const picked = tf.sum(tf.mul(logp, tf.cast(tf.oneHot(tf.tensor1d(ids.slice(ctx.length), 'int32'), logits.shape[2]), 'float32')));
    return picked.dataSync()[0]!;
  });
  return { sum, mean: sum / scored, tokens: completion.length, scored };
}

export interface FewShotResult {
  task: string;
  k: number;
  accuracy: number;
  n: number;
}

/**
 * Accuracy with k solved examples per query. Shots are drawn from `shotPool` (never the query itself),
 * deterministically from `seed`.
 */
export function evaluateFewShot(
  model: ScoringModel,
  tok: ScoringTokenizer,
  task: FewShotTask,
  k: number,
  shotPool: ChoiceItem[],
  seed = 0,
): FewShotResult {
  if (task.items.length === 0) throw new Error(`task ${task.name} has no items`);
  let correct = 0;
  const rng = new Rng(seed);
  for (const item of task.items) {
    const pool = shotPool.filter((s) => s !== item && s.input !== item.input);
    const shots: ChoiceItem[] = [];
    for (let i = 0; i < k && pool.length; i++) shots.push(pool.splice(rng.int(pool.length), 1)[0]!);
    const context = tok.encode(buildPrompt(task, shots, item));
    let best = -Infinity;
    let pick = -1;
    item.options.forEach((opt, i) => {
      const s = completionLogProb(model, context, tok.encode(' ' + opt)).mean;
      if (s > best) {
        best = s;
        pick = i;
      }
    });
    if (pick === item.answer) correct++;
  }
  return { task: task.name, k, accuracy: correct / task.items.length, n: task.items.length };
}
