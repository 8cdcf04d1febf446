// Adapter: a @gptlab/model GPT as a decoding LanguageModel (KV cache or full re-encoding, sliding window).
//
// Typed structurally (anything with GPT's forward/createCache/config shape works), so this package compiles
// without @gptlab/model's build; at runtime it only needs the model object you pass in.

import { tf } from '@gptlab/tensor';
import { appendTokens, beamSession, hasBeamCache, isIdentity } from './beam-session';
import type { LanguageModel, ModelSession } from './types';

/** The part of a KV cache the adapter uses (GPT's KVCache has it). */
export interface CacheLike {
  readonly length: number;
  reorder(rows: number[]): void;
  dispose(): void;
}

/** The part of @gptlab/model's GPT the adapter uses. */
export interface GPTLike<C extends CacheLike = CacheLike> {
  readonly config: { readonly vocabSize: number; readonly nPositions: number };
  forward(ids: tf.Tensor2D, opts?: { cache?: C }): { logits: tf.Tensor3D };
  createCache(batchSize: number): C;
}

export interface GPTLanguageModelOptions {
  /** Keep keys/values of past positions (default true). false: re-run the whole prefix every step. */
  useCache?: boolean;
  /**
   * Beam search over the model's beam cache when it has one (GPT.beamStep; default false): beams are rows of one
   * step and reordering them copies nothing. Its results equal the default's (a KVCache whose rows are gathered
   * on every reorder) up to float rounding, not to the bit (the attention sums in another grouping): opt-in.
   */
  beamCache?: boolean;
}

/** Last-position logits of every row, as one Float32Array per row. Disposes `logits`. */
export function lastLogits(logits: tf.Tensor3D): Float32Array[] {
  const [B, T, V] = logits.shape;
  const last = tf.tidy(() => tf.reshape(tf.slice(logits, [0, T - 1, 0], [B, 1, V]), [B, V]));
  logits.dispose();
  const data = last.dataSync() as Float32Array;
  last.dispose();
  return Array.from({ length: B }, (_, r) => data.slice(r * V, (r + 1) * V));
}

/** Runs equally long rows of ids through the model (appending to `cache` when given); next-token logits per row. */
export function forwardLastLogits<C extends CacheLike>(model: GPTLike<C>, ids: number[][], cache: C | null): Float32Array[] {
  const T = ids[0].length;
  const flat = new Int32Array(ids.length * T);
  ids.forEach((row, r) => flat.set(row, r * T));
  const x = tf.tensor2d(flat, [ids.length, T], 'int32');
  try {
    return lastLogits(model.forward(x, cache ? { cache } : {}).logits);
  } finally {
    x.dispose();
  }
}

/**
 * Wrap a GPT for `generate`/`stream`. With the cache (default) each step feeds only the new token; the cache
 * follows beam reordering. When prompt + generated tokens exceed the context (`config.nPositions`), the
 * window slides: the model sees the last nPositions tokens. The model has learned absolute positions, so
 * cached keys cannot be shifted; once the window is full each step re-encodes the last nPositions tokens
 * (exactly what the no-cache mode computes).
 */
export function gptLanguageModel<C extends CacheLike>(model: GPTLike<C>, opts: GPTLanguageModelOptions = {}): LanguageModel {
  const useCache = opts.useCache ?? true;
  const V = model.config.vocabSize;
  const N = model.config.nPositions;
  const lm: LanguageModel = {
    vocabSize: V,
    contextLength: N,
    start(batch: number): ModelSession {
      if (!Number.isInteger(batch) || batch < 1) throw new Error(`gptLanguageModel.start: batch must be a positive integer, got ${batch}`);
      let rows: number[][] = Array.from({ length: batch }, () => []);
      let cache: C | null = useCache ? model.createCache(batch) : null;
      let disposed = false;
      const run = (ids: number[][], c: C | null) => forwardLastLogits(model, ids, c);
      return {
        async feed(tokens: number[][]): Promise<Float32Array[]> {
          const T = appendTokens(disposed, rows, tokens);
          const total = rows[0].length;
          if (cache && cache.length + T <= N) return run(tokens, cache);
          // no cache, or the window is full: encode the last N tokens of every row from scratch
          const window = rows.map((r) => r.slice(Math.max(0, total - N)));
          if (cache) {
            cache.dispose();
            cache = model.createCache(rows.length);
          }
          return run(window, cache);
        },
        reorder(idx: number[]): void {
          if (isIdentity(disposed, rows, idx)) return;
          rows = idx.map((i) => rows[i].slice());
          cache?.reorder(idx);
        },
        dispose(): void {
          if (disposed) return;
          disposed = true;
          cache?.dispose();
          cache = null;
        },
      };
    },
  };
  if (useCache && opts.beamCache === true && hasBeamCache(model)) {
    lm.startBeams = () =>
      beamSession(
        model,
        (ids, cache) => forwardLastLogits(model, ids, cache),
        () => lm.start(1),
      );
  }
  return lm;
}
