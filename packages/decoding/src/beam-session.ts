// The model session of beam search over a GPT with a beam cache (GPT.createBeamCache / GPT.beamStep of
// @gptlab/model): the prompt is prefilled once for one row, the beams are rows of ONE batched step, and
// reordering them (beam parents) only rewrites the cache's ancestry table — no keys or values are copied. The
// logits of a step come back in one host read. Past the context the window slides exactly as the plain
// session does: each step re-encodes every row's last nPositions tokens.
import { tf } from '@gptlab/tensor';
import type { CacheLike, GPTLike } from './gpt';
import type { ModelSession } from './types';

/** The part of @gptlab/model's BeamKVCache the session uses. */
export interface BeamCacheLike<C> {
  readonly length: number;
  setPrompt(cache: C): void;
  reorder(rows: number[]): void;
  dispose(): void;
}

/** A GPT with a beam cache (GPT has it). */
export interface BeamGPTLike<C extends CacheLike = CacheLike, BC extends BeamCacheLike<C> = BeamCacheLike<C>> extends GPTLike<C> {
  /** null when the model cannot (e.g. sparse attention layers): the plain session is used. */
  createBeamCache(): BC | null;
  beamStep(tokens: ArrayLike<number>, cache: BC): tf.Tensor2D;
}

export function hasBeamCache<C extends CacheLike>(model: GPTLike<C>): model is BeamGPTLike<C> {
  const m = model as Partial<BeamGPTLike<C>>;
  return typeof m.createBeamCache === 'function' && typeof m.beamStep === 'function';
}

/**
 * The checks of ModelSession.feed (shared with the plain session of gpt.ts): appends `tokens[r]` to `rows[r]`
 * and returns how many tokens each row got.
 */
export function appendTokens(disposed: boolean, rows: number[][], tokens: number[][]): number {
  if (disposed) throw new Error('ModelSession.feed: the session was disposed');
  if (tokens.length !== rows.length) {
    throw new Error(`ModelSession.feed: got ${tokens.length} rows, the session has ${rows.length} (use reorder to change rows)`);
  }
  const T = tokens[0]?.length ?? 0;
  if (T === 0 || tokens.some((t) => t.length !== T))
    throw new Error('ModelSession.feed: every row needs the same, non-zero number of tokens');
  tokens.forEach((t, r) => rows[r]!.push(...t));
  return T;
}

/** The checks of ModelSession.reorder (shared with gpt.ts); true when `idx` keeps every row in place. */
export function isIdentity(disposed: boolean, rows: number[][], idx: number[]): boolean {
  if (disposed) throw new Error('ModelSession.reorder: the session was disposed');
  for (const i of idx) {
    if (!Number.isInteger(i) || i < 0 || i >= rows.length) throw new Error(`ModelSession.reorder: row ${i} is outside [0, ${rows.length})`);
  }
  return idx.length === rows.length && idx.every((r, i) => r === i);
}

/** Next-token logits [B, V] → one Float32Array view per row (one host read, no per-row copies). Disposes `logits`. */
function rowsOf(logits: tf.Tensor2D): Float32Array[] {
  const [B, V] = logits.shape;
  const data = logits.dataSync() as Float32Array;
  logits.dispose();
  return Array.from({ length: B }, (_, r) => data.subarray(r * V, (r + 1) * V));
}

/**
 * A one-row session whose rows become beams through reorder. `forwardLast` runs rows of ids through the model
 * (with a KVCache, or none) and returns the last position's logits per row; `plain` opens the ordinary session
 * when the model has no beam cache.
 */
export function beamSession<C extends CacheLike>(
  model: BeamGPTLike<C>,
  forwardLast: (ids: number[][], cache: C | null) => Float32Array[],
  plain: () => ModelSession,
): ModelSession {
  let cache = model.createBeamCache();
  if (cache === null) return plain();
  const N = model.config.nPositions;
  let rows: number[][] = [[]];
  let prefilled = false;
  let disposed = false;
  const drop = () => {
    cache?.dispose();
    cache = null;
  };
  return {
    async feed(tokens: number[][]): Promise<Float32Array[]> {
      const T = appendTokens(disposed, rows, tokens);
      const total = rows[0]!.length;
      if (cache && !prefilled && rows.length === 1 && total <= N) {
        // the prompt, once, for one row: its keys and values become the beams' shared prefix
        prefilled = true;
        const kv = model.createCache(1);
        try {
          const logits = forwardLast(tokens, kv);
          cache.setPrompt(kv);
          return logits;
        } finally {
          kv.dispose();
        }
      }
      if (cache && T === 1 && cache.length + 1 <= N)
        return rowsOf(
          model.beamStep(
            Array.from(tokens, (t) => t[0]!),
            cache,
          ),
        );
      // several tokens at once, or the window is full: encode the last N tokens of every row from scratch
      drop();
      return forwardLast(
        rows.map((r) => r.slice(Math.max(0, total - N))),
        null,
      );
    },
    reorder(idx: number[]): void {
      if (isIdentity(disposed, rows, idx)) return;
      rows = idx.map((i) => rows[i]!.slice());
      if (prefilled) cache?.reorder(idx);
    },
    dispose(): void {
      if (disposed) return;
      disposed = true;
      drop();
    },
  };
}
