// The KV cache of incremental decoding: each layer's keys and values for the positions seen so far, so a forward
// pass over new tokens attends to them without recomputing them. Beam search reorders its rows; rewinding
// truncates it.
import { tf } from '@gptlab/tensor';

/**
 * Keys and values of every layer for the positions seen so far ([batch, heads, length, headDim] each).
 * Pass it to GPT.forward to process only new positions; reorder rows for beam search; truncate to rewind.
 */
export class KVCache {
  private ks: (tf.Tensor4D | null)[];
  private vs: (tf.Tensor4D | null)[];
  private len = 0;
  private batch: number;
  private disposed = false;

  /** Use GPT.createCache. */
  constructor(
    /** @internal */ readonly ownerId: number,
    nLayer: number,
    batchSize: number,
  ) {
    if (!Number.isInteger(batchSize) || batchSize < 1)
      throw new Error(`createCache: batchSize must be a positive integer, got ${batchSize}`);
    this.ks = new Array(nLayer).fill(null);
    this.vs = new Array(nLayer).fill(null);
    this.batch = batchSize;
  }

  /** Number of cached positions. */
  get length(): number {
    return this.len;
  }

  /** Rows (sequences) in the cache. */
  get batchSize(): number {
    return this.batch;
  }

  /** @internal */
  layer(i: number): [tf.Tensor4D | null, tf.Tensor4D | null] {
    this.check('forward');
    return [this.ks[i]!, this.vs[i]!];
  }

  /** @internal Replaces every layer's K/V (kept tensors), the length and the number of rows. */
  commit(kv: tf.Tensor4D[], length: number, batchSize: number): void {
    this.batch = batchSize;
    for (let i = 0; i < this.ks.length; i++) {
      this.ks[i]?.dispose();
      this.vs[i]?.dispose();
      this.ks[i] = kv[2 * i]!;
      this.vs[i] = kv[2 * i + 1]!;
    }
    this.len = length;
  }

  /** Keeps the given rows, in the given order (repeats allowed): row i of the result is old row rows[i]. */
  reorder(rows: number[]): void {
    this.check('reorder');
    if (!Array.isArray(rows) || rows.length === 0) throw new Error('KVCache.reorder: rows must be a non-empty array of row indices');
    for (const r of rows) {
      if (!Number.isInteger(r) || r < 0 || r >= this.batch) {
        throw new Error(`KVCache.reorder: row ${r} is outside [0, ${this.batch})`);
      }
    }
    if (this.len > 0) {
      const idx = tf.tensor1d(rows, 'int32');
      for (let i = 0; i < this.ks.length; i++) {
        const k = tf.gather(this.ks[i]!, idx, 0) as tf.Tensor4D;
        const v = tf.gather(this.vs[i]!, idx, 0) as tf.Tensor4D;
        this.ks[i]!.dispose();
        this.vs[i]!.dispose();
        this.ks[i] = k;
        this.vs[i] = v;
      }
      idx.dispose();
    }
    this.batch = rows.length;
  }

  /** Forgets every position from `length` on. */
  truncate(length: number): void {
    this.check('truncate');
    if (!Number.isInteger(length) || length < 0 || length > this.len) {
      throw new Error(`KVCache.truncate: length must be an integer in [0, ${this.len}], got ${length}`);
    }
    if (length === this.len) return;
    for (let i = 0; i < this.ks.length; i++) {
      const k = this.ks[i]!;
      const v = this.vs[i]!;
      if (length === 0) {
        this.ks[i] = null;
        this.vs[i] = null;
      } else {
        const [b, h, , d] = k.shape;
        this.ks[i] = tf.slice(k, [0, 0, 0, 0], [b, h, length, d]);
        this.vs[i] = tf.slice(v, [0, 0, 0, 0], [b, h, length, d]);
      }
      k.dispose();
      v.dispose();
    }
    this.len = length;
  }

  /** A copy with its own tensors. */
  clone(): KVCache {
    this.check('clone');
    const c = new KVCache(this.ownerId, this.ks.length, this.batch);
    c.ks = this.ks.map((t) => (t ? (tf.clone(t) as tf.Tensor4D) : null));
    c.vs = this.vs.map((t) => (t ? (tf.clone(t) as tf.Tensor4D) : null));
    c.len = this.len;
    return c;
  }

  dispose(): void {
    for (const t of [...this.ks, ...this.vs]) t?.dispose();
    this.ks.fill(null);
    this.vs.fill(null);
    this.len = 0;
    this.disposed = true;
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  private check(op: string): void {
    if (this.disposed) throw new Error(`KVCache.${op}: the cache was disposed`);
  }
}

/**
 * @internal Checks that `cache` is a one-row KVCache of model `ownerId` holding a prompt (what BatchedKVCache.add
 * and BeamKVCache.setPrompt take); `op` names the caller in the error.
 */
export function checkPromptCache(cache: KVCache, ownerId: number, op: string): void {
  if (cache?.ownerId !== ownerId) throw new Error(`${op}: the KV cache was created by another model`);
  if (cache.isDisposed) throw new Error(`${op}: the KV cache was disposed`);
  if (cache.batchSize !== 1 || cache.length === 0) {
    throw new Error(`${op}: expected a one-row cache holding a prompt, got ${cache.batchSize} rows of ${cache.length} positions`);
  }
}
