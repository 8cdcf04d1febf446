// The KV cache of beam search, reordered without copying: beams that swap, fork or die only change a table of
// indices on the host.
//
// Layout: every layer's keys and values are ONE tensor per head, [H, W, D]: the prompt's P positions once
// (prefilled for one row, shared by every beam), then one slab per generated step holding the keys of the rows
// that ran that step, slot r = row r of that step. A row's history is its ancestry: position P + s of row i
// lives in slab s at slot slots[i][s]. Reordering the rows (beam parents) reorders that table; the tensors stay
// as they are. A step appends one slab (the same one concat per layer greedy decoding pays, over P + Σ slabs
// positions instead of rows × (P + steps)) and every row's query attends to all W + B keys of a head with an
// additive mask that keeps its prompt, its ancestors and itself: MASK_VALUE makes exp() exactly 0 elsewhere.
import { tf, additiveMask } from '@gptlab/tensor';
import { checkPromptCache, type KVCache } from './kv-cache';

/** Keys and values of beams that share a prompt, for GPT.beamStep. Create with GPT.createBeamCache. */
export class BeamKVCache {
  /** Each layer's [keys, values], [H, W, D] each (empty until setPrompt). */
  private layers: [tf.Tensor3D, tf.Tensor3D][] = [];
  private promptLength = 0;
  /** Rows that ran each generated step (the width of its slab). */
  private slabRows: number[] = [];
  /** slots[row][s]: where the row's ancestor of generated step s sits in slab s. */
  private slots: number[][] = [];
  private keys = 0;
  private disposed = false;

  /** Use GPT.createBeamCache. */
  constructor(
    /** @internal */ readonly ownerId: number,
    private readonly nLayer: number,
  ) {}

  /** Rows (beams) in the cache. */
  get batchSize(): number {
    return this.slots.length;
  }

  /** Cached positions of every row (the prompt plus the generated steps): the next token's position. */
  get length(): number {
    return this.promptLength + this.slabRows.length;
  }

  /** Keys per head held for all rows together (prompt once, then every slab). */
  get width(): number {
    return this.keys;
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  /**
   * Takes the keys and values of a one-row KVCache that holds the prompt (run through GPT.forward) as the
   * shared prompt of one row; reorder fans it out to the beams. No copy: the tensors share the cache's memory,
   * which the caller may dispose.
   */
  setPrompt(cache: KVCache): void {
    this.check('setPrompt');
    if (this.keys > 0) throw new Error('BeamKVCache.setPrompt: the cache already holds a prompt');
    checkPromptCache(cache, this.ownerId, 'BeamKVCache.setPrompt');
    for (let i = 0; i < this.nLayer; i++) {
      const kv = cache.layer(i) as [tf.Tensor4D, tf.Tensor4D];
      const [, H, P, D] = kv[0].shape;
      this.layers.push(kv.map((t) => tf.reshape(t, [H, P, D])) as [tf.Tensor3D, tf.Tensor3D]);
    }
    this.promptLength = cache.length;
    this.keys = cache.length;
    this.slabRows = [];
    this.slots = [[]];
  }

  /** Keeps the given rows in the given order (repeats allowed, e.g. beam parents): row i becomes old row rows[i]. */
  reorder(rows: number[]): void {
    this.check('reorder');
    if (!Array.isArray(rows) || rows.length === 0) throw new Error('BeamKVCache.reorder: rows must be a non-empty array of row indices');
    for (const r of rows) {
      if (!Number.isInteger(r) || r < 0 || r >= this.slots.length) {
        throw new Error(`BeamKVCache.reorder: row ${r} is outside [0, ${this.slots.length})`);
      }
    }
    this.slots = rows.map((r) => this.slots[r]!.slice());
  }

  dispose(): void {
    tf.dispose(this.layers.flat());
    this.layers = [];
    this.slots = [];
    this.slabRows = [];
    this.keys = 0;
    this.promptLength = 0;
    this.disposed = true;
  }

  /** @internal Layer i's keys and values [H, W, D]. */
  layer(i: number): [tf.Tensor3D, tf.Tensor3D] {
    this.check('beamStep');
    if (this.keys === 0) throw new Error('BeamKVCache: no prompt yet (setPrompt first)');
    return this.layers[i]!;
  }

  /**
   * @internal The additive mask [B, W + B] of one new token per row over the held keys plus the step's own slab:
   * 0 on the row's prompt, its ancestors and its own new key, MASK_VALUE elsewhere.
   */
  keyMask(): tf.Tensor2D {
    const B = this.slots.length;
    const tk = this.keys + B;
    const keep = new Uint8Array(B * tk);
    for (let r = 0; r < B; r++) {
      const row = r * tk;
      keep.fill(1, row, row + this.promptLength);
      let slab = this.promptLength;
      const mine = this.slots[r]!;
      for (let s = 0; s < mine.length; s++) {
        keep[row + slab + mine[s]!] = 1;
        slab += this.slabRows[s]!;
      }
      keep[row + this.keys + r] = 1;
    }
    return additiveMask(B, tk, keep);
  }

  /** @internal After a step: every layer's keys/values with the step's slab appended (kept tensors). */
  commit(kv: tf.Tensor3D[]): void {
    tf.dispose(this.layers.flat());
    this.layers = this.layers.map((_, i) => [kv[2 * i]!, kv[2 * i + 1]!]);
    const B = this.slots.length;
    this.slots.forEach((mine, r) => mine.push(r));
    this.slabRows.push(B);
    this.keys += B;
  }

  private check(op: string): void {
    if (this.disposed) throw new Error(`BeamKVCache.${op}: the cache was disposed`);
  }
}
