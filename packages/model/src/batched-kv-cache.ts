// The KV cache of continuous batching: rows of different lengths that join (prompts prefilled together by
// GPT.prefillBatched, or one prefilled alone with GPT.forward and moved in with add) and leave (finished,
// cancelled) between decoding steps, while one GPT.decodeStep per step advances all of them.
//
// Layout: every layer's keys and values are [B, H, W, D] with W the longest row's length. Rows are LEFT-padded:
// row r keeps its len[r] positions in the last len[r] slots, so a step appends one slot at the end for every row
// (the same concat as KVCache) and row r's slots are always [W − len[r], W). Padded slots hold zeros and get the
// additive MASK_VALUE, so exp() makes their softmax weight exactly 0: a row attends to its own positions only,
// and its new token takes position embedding len[r] (its own position, not its slot). When the longest rows
// leave, the leading slots no row uses any more are cut off, so W never exceeds the longest live row.
import { tf, additiveMask } from '@gptlab/tensor';
import { checkPromptCache, type KVCache } from './kv-cache';
import { elementMask, type AttentionPattern } from './sparse';

/** Keys and values of rows with their own lengths, for GPT.decodeStep. Create with GPT.createBatchedCache. */
export class BatchedKVCache {
  private ks: (tf.Tensor4D | null)[];
  private vs: (tf.Tensor4D | null)[];
  private lens: number[] = [];
  private slots = 0;
  private disposed = false;

  /** Use GPT.createBatchedCache. */
  constructor(
    /** @internal */ readonly ownerId: number,
    nLayer: number,
  ) {
    this.ks = new Array(nLayer).fill(null);
    this.vs = new Array(nLayer).fill(null);
  }

  /** Rows (sequences) in the cache. */
  get batchSize(): number {
    return this.lens.length;
  }

  /** Cached positions of each row (its next token's position). */
  get lengths(): number[] {
    return this.lens.slice();
  }

  /** Key slots per row (the longest row's length); shorter rows are padded on the left. */
  get width(): number {
    return this.slots;
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  /**
   * Copies the keys and values of a one-row KVCache (a prompt run through GPT.forward) in as the last row and
   * returns its index. The given cache is left as it was (the caller disposes it).
   */
  add(cache: KVCache): number {
    this.check('add');
    checkPromptCache(cache, this.ownerId, 'BatchedKVCache.add');
    const kv: tf.Tensor4D[] = [];
    for (let i = 0; i < this.ks.length; i++) kv.push(...(cache.layer(i) as [tf.Tensor4D, tf.Tensor4D]));
    this.join(kv, [cache.length]);
    return this.lens.length - 1;
  }

  /**
   * Copies the rows of another batched cache of the same model in after this one's (e.g. prompts prefilled
   * together with GPT.prefillBatched, then fanned out with reorder). `other` is left as it was.
   */
  append(other: BatchedKVCache): void {
    this.check('append');
    if (other?.ownerId !== this.ownerId) throw new Error('BatchedKVCache.append: the cache was created by another model');
    if (other.isDisposed) throw new Error('BatchedKVCache.append: the other cache was disposed');
    if (other === this) throw new Error('BatchedKVCache.append: a cache cannot append itself (use reorder to repeat rows)');
    if (other.batchSize === 0) return;
    this.join(
      other.ks.flatMap((k, i) => [k!, other.vs[i]!]),
      other.lens,
    );
  }

  /** @internal Takes kept keys/values [B', H, W', D] (k then v per layer) of new left-padded rows as the last rows. */
  appendRows(kv: tf.Tensor4D[], lens: number[]): void {
    try {
      this.check('prefillBatched');
      this.join(kv, lens);
    } finally {
      tf.dispose(kv);
    }
  }

  /**
   * Appends left-padded rows (keys/values k then v per layer, [B', H, W', D], W' = their longest length; not
   * disposed here): both sides are padded on the left to the wider width and concatenated along the rows.
   */
  private join(kv: tf.Tensor4D[], lens: number[]): void {
    const Wn = kv[0]!.shape[2];
    const W = Math.max(Wn, this.slots);
    const padLeft = (t: tf.Tensor4D, n: number) =>
      n > 0
        ? tf.pad(t, [
            [0, 0],
            [0, 0],
            [n, 0],
            [0, 0],
          ])
        : t;
    const joined = (old: tf.Tensor4D | null, rows: tf.Tensor4D): tf.Tensor4D =>
      tf.tidy(() => (old === null ? tf.clone(rows) : tf.concat([padLeft(old, W - this.slots), padLeft(rows, W - Wn)], 0)));
    for (let i = 0; i < this.ks.length; i++) {
      const nk = joined(this.ks[i]!, kv[2 * i]!);
      const nv = joined(this.vs[i]!, kv[2 * i + 1]!);
      this.ks[i]?.dispose();
      this.vs[i]?.dispose();
      this.ks[i] = nk;
      this.vs[i] = nv;
    }
    this.lens.push(...lens);
    this.slots = W;
  }

  /**
   * Keeps the given rows in the given order (repeats allowed, e.g. to fan a prompt out to n samples; empty
   * drops every row): row i of the result is old row rows[i]. Slots no kept row uses are cut off.
   */
  reorder(rows: number[]): void {
    this.check('reorder');
    if (!Array.isArray(rows)) throw new Error('BatchedKVCache.reorder: rows must be an array of row indices');
    for (const r of rows) {
      if (!Number.isInteger(r) || r < 0 || r >= this.lens.length) {
        throw new Error(`BatchedKVCache.reorder: row ${r} is outside [0, ${this.lens.length})`);
      }
    }
    const lens = rows.map((r) => this.lens[r]!);
    const W = lens.length > 0 ? Math.max(...lens) : 0;
    const idx = tf.tensor1d(rows, 'int32');
    const pick = (t: tf.Tensor4D | null): tf.Tensor4D | null => {
      if (t === null || W === 0) return null;
      const [, H, , D] = t.shape;
      return tf.tidy(() => tf.slice(tf.gather(t, idx, 0), [0, 0, this.slots - W, 0], [rows.length, H, W, D]));
    };
    for (let i = 0; i < this.ks.length; i++) {
      const k = pick(this.ks[i]!);
      const v = pick(this.vs[i]!);
      this.ks[i]?.dispose();
      this.vs[i]?.dispose();
      this.ks[i] = k;
      this.vs[i] = v;
    }
    idx.dispose();
    this.lens = lens;
    this.slots = W;
  }

  dispose(): void {
    for (const t of [...this.ks, ...this.vs]) t?.dispose();
    this.ks.fill(null);
    this.vs.fill(null);
    this.lens = [];
    this.slots = 0;
    this.disposed = true;
  }

  /** @internal Layer i's keys and values [B, H, W, D]. */
  layer(i: number): [tf.Tensor4D | null, tf.Tensor4D | null] {
    this.check('decodeStep');
    return [this.ks[i]!, this.vs[i]!];
  }

  /** @internal After a step: every layer's keys/values one slot wider (kept tensors), every row one longer. */
  commit(kv: tf.Tensor4D[]): void {
    for (let i = 0; i < this.ks.length; i++) {
      this.ks[i]?.dispose();
      this.vs[i]?.dispose();
      this.ks[i] = kv[2 * i]!;
      this.vs[i] = kv[2 * i + 1]!;
    }
    this.lens = this.lens.map((n) => n + 1);
    this.slots += 1;
  }

  /**
   * @internal The additive mask [B, 1, 1, W + 1] of one new token per row over the cached slots plus its own:
   * 0 on the row's own positions (those a sparse pattern keeps, for a sparse layer), MASK_VALUE elsewhere.
   */
  keyMask(pattern: AttentionPattern | null): tf.Tensor4D {
    const B = this.lens.length;
    const tk = this.slots + 1;
    const keep = new Uint8Array(B * tk);
    this.lens.forEach((n, r) => {
      const first = r * tk + this.slots - n; // the slot of the row's position 0
      if (pattern === null) keep.fill(1, first, (r + 1) * tk);
      else keep.set(elementMask(pattern, 1, n + 1, n), first);
    });
    return tf.tidy(() => tf.reshape(additiveMask(B, tk, keep), [B, 1, 1, tk]));
  }

  private check(op: string): void {
    if (this.disposed) throw new Error(`BatchedKVCache.${op}: the cache was disposed`);
  }
}
