// Admission of waiting requests into a running batch: every prompt admitted in one iteration is prefilled in ONE
// forward (GPT.prefillBatched: left-padded prompts, per-row positions and masks) instead of one forward each,
// then fanned out to its numReturnSequences rows and appended to the batched cache; rows already there are not
// recomputed. A model without prefillBatched gets the one-prompt-at-a-time path (forward + BatchedKVCache.add).
import { tf } from '@gptlab/tensor';
import { forwardLastLogits, lastLogits, type CacheLike, type GPTLike } from './gpt';

/** The part of @gptlab/model's BatchedKVCache the generator uses. */
export interface BatchedCacheLike<C extends CacheLike> {
  readonly batchSize: number;
  add(cache: C): number;
  reorder(rows: number[]): void;
  dispose(): void;
  /** Copies another batched cache's rows in after these (BatchedKVCache has it). */
  append?(other: BatchedCacheLike<C>): void;
}

/** The part of @gptlab/model's GPT the generator uses (GPT has it). */
export interface BatchedGPTLike<C extends CacheLike, B extends BatchedCacheLike<C>> extends GPTLike<C> {
  createBatchedCache(): B;
  decodeStep(tokens: ArrayLike<number>, cache: B): tf.Tensor2D;
  /** Prompts of different lengths in one forward, appended to `cache` as new rows; their next-token logits. */
  prefillBatched?(prompts: readonly ArrayLike<number>[], cache: B): tf.Tensor2D;
}

/** One admitted prompt and how many cache rows it takes (its numReturnSequences). */
export interface PromptRows {
  prompt: number[];
  rows: number;
}

/**
 * Prefills `prompts` (each within the context) and appends their rows to `cache` (created when null; an empty
 * one may be replaced), prompt i taking prompts[i].rows consecutive rows. Returns the cache to keep using and
 * each prompt's next-token logits; `forwards` counts the model forwards it ran.
 */
export function prefillIntoCache<C extends CacheLike, B extends BatchedCacheLike<C>>(
  model: BatchedGPTLike<C, B>,
  cache: B | null,
  prompts: readonly PromptRows[],
): { cache: B; logits: Float32Array[]; forwards: number } {
  const target = cache ?? model.createBatchedCache();
  try {
    // A lone prompt takes the plain forward: the same arithmetic as generating it alone, to the last bit (a
    // left-padded forward sums in another order and moves log-probs by ~1e-7).
    if (prompts.length === 1 || model.prefillBatched === undefined || (target.batchSize > 0 && target.append === undefined)) {
      return { cache: target, logits: prompts.map((p) => prefillAlone(model, target, p)), forwards: prompts.length };
    }
    const fanOut = prompts.flatMap((p, i) => new Array<number>(p.rows).fill(i));
    // one row per prompt: straight into the running cache; else prefill apart, fan out, then append
    if (fanOut.length === prompts.length) return { cache: target, logits: prefillRows(model, target, prompts), forwards: 1 };
    const fresh = model.createBatchedCache();
    let adopted = false;
    try {
      const logits = prefillRows(model, fresh, prompts);
      fresh.reorder(fanOut);
      if (target.batchSize > 0) {
        target.append!(fresh);
        return { cache: target, logits, forwards: 1 };
      }
      target.dispose(); // an empty running cache gives way to the prefilled one
      adopted = true;
      return { cache: fresh, logits, forwards: 1 };
    } finally {
      if (!adopted) fresh.dispose();
    }
  } catch (e) {
    if (cache === null) target.dispose();
    throw e;
  }
}

/**
 * Splits prompts (by length) into the groups prefilled together: indices sorted by length, a group growing while
 * its left-padded size (count × longest) stays ≤ 2 × its real tokens + 64, so that one long prompt does not make
 * many short ones pay its length (a forward per group costs about one pass over the weights; padding costs
 * compute per padded token).
 */
export function paddingGroups(lengths: readonly number[]): number[][] {
  const order = lengths.map((_, i) => i).sort((a, b) => lengths[a]! - lengths[b]! || a - b);
  const groups: number[][] = [];
  let group: number[] = [];
  let real = 0;
  for (const i of order) {
    const n = lengths[i]!; // the longest so far: sorted
    if (group.length > 0 && (group.length + 1) * n > 2 * (real + n) + 64) {
      groups.push(group);
      group = [];
      real = 0;
    }
    group.push(i);
    real += n;
  }
  if (group.length > 0) groups.push(group);
  return groups;
}

/** One prefillBatched forward into `cache`; next-token logits per prompt. */
function prefillRows<C extends CacheLike, B extends BatchedCacheLike<C>>(
  model: BatchedGPTLike<C, B>,
  cache: B,
  prompts: readonly PromptRows[],
): Float32Array[] {
  const out = model.prefillBatched!(
    prompts.map((p) => p.prompt),
    cache,
  );
  try {
    return lastLogits(tf.reshape(out, [prompts.length, 1, -1]) as tf.Tensor3D);
  } finally {
    out.dispose();
  }
}

/** The one-prompt path: forward with a one-row KVCache, moved into `cache` once per row. */
function prefillAlone<C extends CacheLike, B extends BatchedCacheLike<C>>(
  model: BatchedGPTLike<C, B>,
  cache: B,
  p: PromptRows,
): Float32Array {
  const one = model.createCache(1);
  try {
    const logits = forwardLastLogits(model, [p.prompt], one)[0]!;
    for (let i = 0; i < p.rows; i++) cache.add(one);
    return logits;
  } finally {
    one.dispose();
  }
}
