// Native continuous batching (Node): with enableNativeDecoding on (float32 weights), GPT.createBatchedCache gives a
// NativeBatchedKVCache and GPT.decodeStep advances all its rows in ONE addon call (@gptlab/tensor-native's
// NativeDecodeRows, csrc/decode_rows.cc) instead of ~20 tfjs ops per layer. Each row keeps its own native cache at
// its own position; the weight products run as R-row products that sum every element as the one-row step does,
// so each row's logits are those of that sequence decoded alone with the native (= tfjs one-row) step from the
// same cached prompt, bit for bit, and those of the tfjs batched step up to float rounding (which pads rows and sums
// softmaxes over the pads).
// Prompts still run on tfjs (GPT.forward, GPT.prefillBatched); their keys and values move into the native rows
// as they join (add, append, appendRows), as NativeKVCache loads a one-row prompt.
import { tf } from '@gptlab/tensor';
import type { NativeDecodeModel, NativeDecodeRows } from '@gptlab/tensor-native';
import { BatchedKVCache } from './batched-kv-cache';
import type { GPTConfig } from './config';
import { checkPromptCache, type KVCache } from './kv-cache';

type NativeModule = typeof import('@gptlab/tensor-native');

/**
 * A BatchedKVCache whose rows live in native memory. The tfjs tensors of the parent class are only a mirror,
 * built when a tfjs batched step needs them (the native path switched off or to other weights meanwhile) and
 * dropped as soon as the native rows change; a tfjs step's result is moved back into the native rows.
 */
export class NativeBatchedKVCache extends BatchedKVCache {
  private readonly rows: NativeDecodeRows;
  /** Whether the parent's tensors hold the same rows and positions as the native rows. */
  private mirrored = true;
  /** Whether the parent holds tensors at all (rows built by mirror or a tfjs step's commit). */
  private mirrorHeld = false;

  /** Use GPT.createBatchedCache after enableNativeDecoding. */
  constructor(
    ownerId: number,
    private readonly config: Pick<GPTConfig, 'nLayer' | 'nHead' | 'nEmbd'>,
    native: NativeModule,
  ) {
    super(ownerId, config.nLayer);
    this.rows = new native.NativeDecodeRows(config);
  }

  override get batchSize(): number {
    return this.rows.rows;
  }

  override get lengths(): number[] {
    return this.rows.lengths;
  }

  override get width(): number {
    const lens = this.rows.lengths;
    return lens.length > 0 ? Math.max(...lens) : 0;
  }

  override add(cache: KVCache): number {
    this.live('add');
    checkPromptCache(cache, this.ownerId, 'BatchedKVCache.add');
    const kv = Array.from({ length: this.config.nLayer }, (_, i) => cache.layer(i) as [tf.Tensor4D, tf.Tensor4D]);
    this.loadRows(kv.flat(), [cache.length], cache.length);
    return this.batchSize - 1;
  }

  override append(other: BatchedKVCache): void {
    this.live('append');
    if (other?.ownerId !== this.ownerId) throw new Error('BatchedKVCache.append: the cache was created by another model');
    if (other.isDisposed) throw new Error('BatchedKVCache.append: the other cache was disposed');
    if (other === (this as BatchedKVCache))
      throw new Error('BatchedKVCache.append: a cache cannot append itself (use reorder to repeat rows)');
    if (other.batchSize === 0) return;
    if (other instanceof NativeBatchedKVCache) {
      const W = other.width;
      const read = Array.from({ length: this.config.nLayer }, (_, l) => other.rows.read(l, W));
      this.dropMirror();
      this.rows.append(
        read.map((r) => r.keys),
        read.map((r) => r.values),
        other.lengths,
        W,
      );
      return;
    }
    const kv = Array.from({ length: this.config.nLayer }, (_, i) => other.layer(i) as [tf.Tensor4D, tf.Tensor4D]);
    this.loadRows(kv.flat(), other.lengths, other.width);
  }

  /** @internal Rows a batched prefill computed (left-padded, k then v per layer): into native rows; disposed. */
  override appendRows(kv: tf.Tensor4D[], lens: number[]): void {
    try {
      this.live('prefillBatched');
      this.loadRows(kv, lens, kv[0]!.shape[2]);
    } finally {
      tf.dispose(kv);
    }
  }

  override reorder(rows: number[]): void {
    this.live('reorder');
    if (!Array.isArray(rows)) throw new Error('BatchedKVCache.reorder: rows must be an array of row indices');
    for (const r of rows) {
      if (!Number.isInteger(r) || r < 0 || r >= this.batchSize) {
        throw new Error(`BatchedKVCache.reorder: row ${r} is outside [0, ${this.batchSize})`);
      }
    }
    this.dropMirror();
    this.rows.reorder(rows);
  }

  override dispose(): void {
    if (!this.isDisposed) this.rows.free();
    super.dispose();
  }

  /** @internal For a tfjs step: the mirror's keys and values. */
  override layer(i: number): [tf.Tensor4D | null, tf.Tensor4D | null] {
    this.live('decodeStep');
    this.mirror();
    return super.layer(i);
  }

  /** @internal */
  override keyMask(pattern: Parameters<BatchedKVCache['keyMask']>[0]): tf.Tensor4D {
    this.mirror();
    return super.keyMask(pattern);
  }

  /** @internal After a tfjs step: the mirror advanced one slot; the native rows take it over. */
  override commit(kv: tf.Tensor4D[]): void {
    // The step ran on the mirror, built from these very rows: each row is one position longer now.
    const lens = this.rows.lengths.map((n) => n + 1);
    super.commit(kv);
    const keys = kv.filter((_, i) => i % 2 === 0).map((t) => t.dataSync() as Float32Array);
    const values = kv.filter((_, i) => i % 2 === 1).map((t) => t.dataSync() as Float32Array);
    this.rows.reorder([]);
    this.rows.append(keys, values, lens, kv[0]!.shape[2]);
    this.mirrored = true;
    this.mirrorHeld = true;
  }

  /** @internal Appends tokens[r] to row r natively, all rows in one call; the logits [B × V]. */
  nativeStep(model: NativeDecodeModel, tokens: ArrayLike<number>): Float32Array {
    this.dropMirror();
    return this.rows.step(model, tokens);
  }

  /** Appends left-padded rows (k then v per layer, [B', H, W', D], not disposed here) to the native rows. */
  private loadRows(kv: tf.Tensor4D[], lens: readonly number[], width: number): void {
    const data = kv.map((t) => t.dataSync() as Float32Array);
    this.dropMirror();
    this.rows.append(
      data.filter((_, i) => i % 2 === 0),
      data.filter((_, i) => i % 2 === 1),
      lens,
      width,
    );
  }

  /** Builds the parent's tensors from the native rows (left-padded with zeros, as BatchedKVCache keeps them). */
  private mirror(): void {
    if (this.mirrored) return;
    const B = this.batchSize;
    if (B > 0) {
      const W = this.width;
      const { nHead, nEmbd } = this.config;
      const shape: [number, number, number, number] = [B, nHead, W, nEmbd / nHead];
      const kv: tf.Tensor4D[] = [];
      for (let l = 0; l < this.config.nLayer; l++) {
        const { keys, values } = this.rows.read(l, W);
        kv.push(tf.tensor4d(keys, shape), tf.tensor4d(values, shape));
      }
      super.appendRows(kv, this.rows.lengths);
      this.mirrorHeld = true;
    }
    this.mirrored = true;
  }

  /** The native rows are about to change: the mirror no longer matches them. */
  private dropMirror(): void {
    if (this.mirrorHeld) super.reorder([]);
    this.mirrorHeld = false;
    this.mirrored = false;
  }

  private live(op: string): void {
    if (this.isDisposed) throw new Error(`BatchedKVCache.${op}: the cache was disposed`);
  }
}

/**
 * GPT.decodeStep on a NativeBatchedKVCache (null for any other cache: the tfjs step runs): the same checks and
 * messages as the tfjs step, then one native call for every row.
 */
export function nativeBatchedStep(
  config: Pick<GPTConfig, 'vocabSize' | 'nPositions'>,
  ownerId: number,
  snapshot: () => NativeDecodeModel,
  tokens: ArrayLike<number>,
  cache: BatchedKVCache,
): tf.Tensor2D | null {
  if (!(cache instanceof NativeBatchedKVCache)) return null;
  if (cache.ownerId !== ownerId) throw new Error('decodeStep: the batched cache was created by another model');
  if (cache.isDisposed) throw new Error('decodeStep: the batched cache was disposed');
  const B = cache.batchSize;
  if (tokens?.length !== B || B === 0) {
    throw new Error(`decodeStep: got ${tokens?.length} tokens for a batched cache of ${B} rows (one token per row, at least one row)`);
  }
  const full = cache.lengths.findIndex((n) => n >= config.nPositions);
  if (full >= 0) throw new Error(`decodeStep: row ${full} already holds nPositions = ${config.nPositions} positions`);
  const V = config.vocabSize;
  for (let r = 0; r < B; r++) {
    const t = tokens[r]!;
    if (!(Number.isInteger(t) && t >= 0 && t < V)) {
      throw new Error(`decodeStep: token id ${t} at [${r}, 0] is outside the vocabulary [0, ${V})`);
    }
  }
  return tf.tensor2d(cache.nativeStep(snapshot(), tokens), [B, V]);
}
