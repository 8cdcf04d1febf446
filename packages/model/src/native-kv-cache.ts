// The KVCache of native decoding (enableNativeDecoding, native-decode.ts). One row: its positions in one native
// cache, one addon call per token (csrc/decode.cc). Several rows — a batch, or beam search fanning a prompt out to
// its beams with reorder — live in @gptlab/tensor-native's NativeDecodeRows (csrc/decode_rows.cc): a step of every
// row is ONE addon call whose weight products stream the weights once for all rows, and reorder keeps, drops or
// copies rows in native memory (no tfjs gathers). Each row's logits equal that row decoded alone, bit for bit.
// The tfjs tensors of the parent class are brought up to date only when tfjs needs them.
import { tf } from '@gptlab/tensor';
import type { NativeDecodeCache, NativeDecodeModel, NativeDecodeRows } from '@gptlab/tensor-native';
import { KVCache } from './kv-cache';

/**
 * A KVCache whose positions may live in native memory. Native steps append there; the tfjs tensors are brought
 * up to date only when tfjs needs them (a multi-token forward, truncate, clone), and the native side reloads from
 * tfjs when tfjs appended positions it has not seen.
 *
 * Two native forms: one row in a NativeDecodeCache (at any time one side holds every position and the other a
 * prefix), or — once reorder fans rows out, or a step has more than one row, and the snapshot is float32 — all rows
 * in a NativeDecodeRows, which then holds every position of every row (the tfjs side is dropped at each reorder
 * and rebuilt whole when needed). A tfjs step hands the rows back to tfjs.
 */
export class NativeKVCache extends KVCache {
  private positions = 0;
  private tfPositions = 0;
  private nativePositions = 0;
  private nativeCache: NativeDecodeCache | null = null;
  /** The rows form (null: the one-row form, or tfjs alone). */
  private rowsCache: NativeDecodeRows | null = null;

  /** Use GPT.createCache after enableNativeDecoding. */
  constructor(
    ownerId: number,
    private readonly nLayer: number,
    batchSize: number,
    /** @internal */ readonly decoder: object,
    private readonly nHead: number,
    /** New empty native rows, or null where the rows step cannot run (a bfloat16/int8 snapshot, an old addon). */
    private readonly newRows: (() => NativeDecodeRows) | null = null,
  ) {
    super(ownerId, nLayer, batchSize);
  }

  override get length(): number {
    return this.positions;
  }

  /** @internal Whether the rows are in NativeDecodeRows (steps of any number of rows go there). */
  get inRows(): boolean {
    return this.rowsCache !== null;
  }

  /** @internal Whether steps of several rows can run natively. */
  get rowsCapable(): boolean {
    return this.newRows !== null;
  }

  /** @internal */
  override layer(i: number): [tf.Tensor4D | null, tf.Tensor4D | null] {
    this.toTf();
    return super.layer(i);
  }

  /** @internal */
  override commit(kv: tf.Tensor4D[], length: number, batchSize: number): void {
    // a tfjs forward ran on the tensors toTf() completed: tfjs now holds every position, the rows are stale
    this.dropRows();
    if (batchSize !== this.batchSize) this.dropNative(0);
    super.commit(kv, length, batchSize);
    this.positions = this.tfPositions = length;
  }

  override reorder(rows: number[]): void {
    const oneRowIdentity = this.batchSize === 1 && rows?.length === 1 && rows[0] === 0;
    if (this.rowsCache || (this.newRows && this.positions > 0 && !oneRowIdentity)) {
      // native reorder: the kept rows stay where they are, a repeated row is one native copy
      const native = this.enterRows();
      this.dropTf();
      super.reorder(rows); // the checks and the new row count; no tensors are held, so nothing is gathered
      native.reorder(rows);
      return;
    }
    this.toTf();
    super.reorder(rows);
    if (!oneRowIdentity) this.dropNative(0);
  }

  override truncate(length: number): void {
    this.toTf();
    this.dropRows();
    super.truncate(length);
    this.positions = this.tfPositions = length;
    this.dropNative(Math.min(length, this.nativePositions));
  }

  override clone(): KVCache {
    this.toTf();
    return super.clone();
  }

  override dispose(): void {
    this.nativeCache?.free();
    this.nativeCache = null;
    this.dropRows();
    super.dispose();
    this.positions = this.tfPositions = this.nativePositions = 0;
  }

  /** @internal Appends `token` natively (one-row form); returns the next-token logits. */
  nativeStep(model: NativeDecodeModel, token: number): Float32Array {
    if (this.isDisposed) throw new Error('KVCache.forward: the cache was disposed');
    this.nativeCache ??= model.createCache();
    if (this.nativePositions !== this.positions) {
      // tfjs holds positions the native cache lacks (a prompt): load them all.
      const { keys, values } = this.tfData();
      this.nativeCache.load(keys, values, this.positions);
      this.nativePositions = this.positions;
    }
    const logits = model.step(this.nativeCache, token);
    this.positions++;
    this.nativePositions++;
    return logits;
  }

  /** @internal Appends tokens[r] to row r, all rows in one native call; the logits [rows × V]. */
  rowsStep(model: NativeDecodeModel, tokens: ArrayLike<number>): Float32Array {
    if (this.isDisposed) throw new Error('KVCache.forward: the cache was disposed');
    const logits = this.enterRows().step(model, tokens);
    this.positions++;
    return logits;
  }

  /** The rows form, entered now if needed: every row's positions move once from the side that holds them all. */
  private enterRows(): NativeDecodeRows {
    if (this.rowsCache) return this.rowsCache;
    if (!this.newRows) throw new Error('NativeKVCache: the native rows step is not available for this snapshot');
    const T = this.positions;
    const B = this.batchSize;
    let keys: Float32Array[];
    let values: Float32Array[];
    if (this.nativeCache && this.nativePositions === T && B === 1) {
      const read = Array.from({ length: this.nLayer }, (_, l) => this.nativeCache!.read(l));
      keys = read.map((r) => r.keys);
      values = read.map((r) => r.values);
    } else {
      ({ keys, values } = this.tfData());
    }
    const rows = this.newRows();
    try {
      rows.append(keys, values, new Array<number>(B).fill(T), T);
    } catch (e) {
      rows.free();
      throw e;
    }
    this.nativeCache?.free();
    this.nativeCache = null;
    this.nativePositions = 0;
    this.rowsCache = rows;
    return rows;
  }

  /** Every layer's tfjs keys and values ([B, H, T, D]; empty arrays before the first position). */
  private tfData(): { keys: Float32Array[]; values: Float32Array[] } {
    const keys: Float32Array[] = [];
    const values: Float32Array[] = [];
    for (let l = 0; l < this.nLayer; l++) {
      const [k, v] = super.layer(l);
      keys.push(k ? (k.dataSync() as Float32Array) : new Float32Array(0));
      values.push(v ? (v.dataSync() as Float32Array) : new Float32Array(0));
    }
    return { keys, values };
  }

  /** Copies native positions the tfjs tensors lack into new tensors (kept: a forward's tidy must not take them). */
  private toTf(): void {
    if (this.tfPositions === this.positions || (!this.rowsCache && !this.nativeCache)) return;
    const T = this.positions;
    const B = this.batchSize;
    const kv: tf.Tensor4D[] = [];
    for (let l = 0; l < this.nLayer; l++) {
      // the rows form rebuilds every position (its rows may have been reordered since tfjs last saw them)
      const { keys, values } = this.rowsCache ? this.rowsCache.read(l, T) : this.nativeCache!.read(l);
      const shape: [number, number, number, number] = [B, this.nHead, T, keys.length / (B * this.nHead * T)];
      kv.push(tf.keep(tf.tensor4d(keys, shape)), tf.keep(tf.tensor4d(values, shape)));
    }
    super.commit(kv, T, B);
    this.tfPositions = T;
  }

  /** The tfjs tensors no longer match the rows (reordered natively): dropped, rebuilt whole by toTf. */
  private dropTf(): void {
    if (super.length > 0) super.truncate(0);
    this.tfPositions = 0;
  }

  /** Leaves the rows form (tfjs must hold every position by now, or the cache is being disposed). */
  private dropRows(): void {
    this.rowsCache?.free();
    this.rowsCache = null;
  }

  /** Keeps only the first `keep` native positions (0: the native side starts over from tfjs). */
  private dropNative(keep: number): void {
    if (this.nativeCache && keep < this.nativePositions) this.nativeCache.truncate(keep);
    this.nativePositions = Math.min(keep, this.nativePositions);
  }
}
