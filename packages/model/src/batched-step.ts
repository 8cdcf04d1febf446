// The two forwards of continuous batching over a BatchedKVCache (GPT.decodeStep, GPT.prefillBatched):
//
//   decodeStep      one new token per row, at the row's own position, attending to the row's cached slots;
//   prefillBatched  prompts of different lengths in ONE forward: left-padded to the longest (the cache's layout,
//                   see batched-kv-cache.ts), each token at its own position within its prompt, each query
//                   attending to its own prompt's earlier tokens only; the rows join the cache without
//                   touching (or recomputing) the rows already there.
//
// Both return only the last position's logits per row, so a prompt's LM head runs on one position, not P.
import { tf, additiveMask } from '@gptlab/tensor';
import { causalSelfAttention } from './attention';
import type { BatchedKVCache } from './batched-kv-cache';
import type { GPTConfig } from './config';
import type { AttentionWeights } from './layers';
import { elementMask, patternToString, type AttentionPattern } from './sparse';

/** What the batched forwards need of a GPT (its private parts, handed over by the model). */
export interface BatchedModelParts {
  id: number;
  config: GPTConfig;
  patterns: readonly (AttentionPattern | null)[];
  wte: tf.Tensor2D;
  wpe: tf.Tensor2D;
  attention(layer: number): AttentionWeights;
  /** Blocks then ln_f over embedded x (no dropout); attend(h, l) is layer l's self-attention. */
  decoder(x: tf.Tensor, attend: (h: tf.Tensor, layer: number) => tf.Tensor): tf.Tensor;
  lmHead(h: tf.Tensor, B: number, T: number): tf.Tensor3D;
  /** Rows of ids → int32 [B, T], each id checked against the vocabulary. */
  idsTensor(rows: readonly ArrayLike<number>[]): tf.Tensor2D;
}

function checkCache(m: BatchedModelParts, cache: BatchedKVCache, op: string): void {
  if (cache?.ownerId !== m.id) throw new Error(`${op}: the batched cache was created by another model`);
  if (cache.isDisposed) throw new Error(`${op}: the batched cache was disposed`);
}

/** See GPT.decodeStep. */
export function decodeStep(m: BatchedModelParts, tokens: ArrayLike<number>, cache: BatchedKVCache): tf.Tensor2D {
  checkCache(m, cache, 'decodeStep');
  const B = cache.batchSize;
  if (tokens?.length !== B || B === 0) {
    throw new Error(`decodeStep: got ${tokens?.length} tokens for a batched cache of ${B} rows (one token per row, at least one row)`);
  }
  const lens = cache.lengths;
  const full = lens.findIndex((n) => n >= m.config.nPositions);
  if (full >= 0) throw new Error(`decodeStep: row ${full} already holds nPositions = ${m.config.nPositions} positions`);
  const { logits, kv } = batchedForward(
    m,
    Array.from(tokens, (t) => [t]),
    Int32Array.from(lens),
    (l) => cache.layer(l),
    (pattern) => cache.keyMask(pattern),
  );
  cache.commit(kv);
  return logits;
}

/**
 * See GPT.prefillBatched. Row r (prompt length P_r, padding p_r = Pmax − P_r) holds its token i in slot p_r + i
 * at position i; padded slots take position 0 (any valid one: their keys are masked and zeroed).
 */
export function prefillBatched(m: BatchedModelParts, prompts: readonly ArrayLike<number>[], cache: BatchedKVCache): tf.Tensor2D {
  checkCache(m, cache, 'prefillBatched');
  if (!Array.isArray(prompts) || prompts.length === 0) {
    throw new Error('prefillBatched: prompts must be a non-empty array of token id rows');
  }
  const lens = prompts.map((p, r) => {
    const n = p?.length;
    if (!Number.isInteger(n) || n < 1 || n > m.config.nPositions) {
      throw new Error(`prefillBatched: prompt ${r} has ${n} tokens; each needs 1 to nPositions = ${m.config.nPositions}`);
    }
    for (let i = 0; i < n; i++) {
      const t = p[i]!;
      if (!(Number.isInteger(t) && t >= 0 && t < m.config.vocabSize)) {
        throw new Error(`prefillBatched: token id ${t} at [${r}, ${i}] is outside the vocabulary [0, ${m.config.vocabSize})`);
      }
    }
    return n;
  });
  const T = Math.max(...lens);
  const rows = prompts.map((p, r) => {
    const row = new Array<number>(T).fill(0); // pads: token 0 (any valid id; masked out)
    for (let i = 0; i < lens[r]!; i++) row[T - lens[r]! + i] = p[i]!;
    return row;
  });
  const pos = new Int32Array(prompts.length * T);
  lens.forEach((n, r) => {
    for (let i = 0; i < n; i++) pos[r * T + T - n + i] = i;
  });
  const { logits, kv } = batchedForward(
    m,
    rows,
    pos,
    () => undefined,
    (pattern) => prefillMask(lens, T, pattern),
    lens,
  );
  cache.appendRows(kv, lens);
  return logits;
}

/**
 * Embeds rows of ids [B, T] at positions `pos` (B·T), runs the blocks with each layer's cached keys/values
 * `past(l)` and the additive mask `maskFor(pattern)` [B, 1, T, Tk] (one per distinct pattern, shared by its
 * layers), and returns the last position's logits [B, V] with every layer's keys and values (kept, k then v per
 * layer) for the cache. With `leftPadded` (each row's real length, its tokens last) padded slots' keys and
 * values are zeroed.
 */
function batchedForward(
  m: BatchedModelParts,
  rows: readonly ArrayLike<number>[],
  pos: Int32Array,
  past: (layer: number) => [tf.Tensor4D | null, tf.Tensor4D | null] | undefined,
  maskFor: (pattern: AttentionPattern | null) => tf.Tensor,
  leftPadded?: readonly number[],
): { logits: tf.Tensor2D; kv: tf.Tensor4D[] } {
  const c = m.config;
  const B = rows.length;
  const T = rows[0]!.length;
  const ids = m.idsTensor(rows);
  const positions = tf.tensor1d(pos, 'int32');
  const kv: tf.Tensor4D[] = [];
  try {
    const logits = tf.tidy(() => {
      const masks = new Map<string, tf.Tensor>();
      const keepSlots = leftPadded ? zeroPadsMask(leftPadded, T) : null;
      const x = tf.add(tf.gather(m.wte, ids), tf.reshape(tf.gather(m.wpe, positions), [B, T, c.nEmbd]));
      const h = m.decoder(x, (hl, l) => {
        const pattern = m.patterns[l] ?? null;
        const key = pattern ? patternToString(pattern) : 'dense';
        if (!masks.has(key)) masks.set(key, maskFor(pattern));
        const a = causalSelfAttention(hl, m.attention(l), {
          nHead: c.nHead,
          past: past(l),
          pattern,
          dropout: (p) => p,
          dropoutActive: false,
          mask: masks.get(key),
        });
        kv.push(tf.keep(keepSlots ? tf.mul(a.k, keepSlots) : a.k), tf.keep(keepSlots ? tf.mul(a.v, keepSlots) : a.v));
        return a.y;
      });
      const last = T === 1 ? h : tf.slice(h, [0, T - 1, 0], [B, 1, c.nEmbd]);
      return tf.reshape(m.lmHead(last, B, 1), [B, c.vocabSize]) as tf.Tensor2D;
    });
    return { logits, kv };
  } catch (e) {
    tf.dispose(kv);
    throw e;
  } finally {
    tf.dispose([ids, positions]);
  }
}

/**
 * The additive mask [B, 1, T, T] of left-padded prompts: a real query attends to its prompt's keys up to itself
 * (those the sparse pattern keeps, for a sparse layer); a padded query to itself only (its output is unused,
 * this keeps its softmax well defined).
 */
function prefillMask(lens: readonly number[], T: number, pattern: AttentionPattern | null): tf.Tensor4D {
  const B = lens.length;
  const keep = new Uint8Array(B * T * T);
  lens.forEach((n, r) => {
    const pad = T - n;
    const rowKeep = pattern ? elementMask(pattern, n, n, 0) : null;
    for (let q = 0; q < T; q++) {
      const base = (r * T + q) * T;
      if (q < pad) keep[base + q] = 1;
      else if (rowKeep === null) keep.fill(1, base + pad, base + q + 1);
      else keep.set(rowKeep.subarray((q - pad) * n, (q - pad + 1) * n), base + pad);
    }
  });
  return tf.tidy(() => tf.reshape(additiveMask(B * T, T, keep), [B, 1, T, T]));
}

/** [B, 1, T, 1]: 1 on each row's last lens[r] slots (its prompt), 0 on its left padding. */
function zeroPadsMask(lens: readonly number[], T: number): tf.Tensor4D {
  const keep = new Float32Array(lens.length * T);
  lens.forEach((n, r) => keep.fill(1, r * T + T - n, (r + 1) * T));
  return tf.tensor4d(keep, [lens.length, 1, T, 1]);
}
