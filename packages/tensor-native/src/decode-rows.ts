// The decode step of R sequences in ONE addon call (csrc/decode_rows.cc): each row its own native key/value cache
// and position, the weight products of all rows as R-row products (the weights streamed once for the batch), so
// a row's logits equal NativeDecodeModel.step on that row alone, to the bit. float32 snapshots only.
// @gptlab/model builds its native batched cache (continuous batching, PPO rollouts) on NativeDecodeRows.
import { nativeAddon } from './addon';
import { nativeDecodeUnavailable, type DecodeModelShape, type NativeDecodeModel } from './decode';

/** Opaque addon handle of one row's cache (decode_napi.cc's kind: decodeFree and decodeCacheLength take it). */
type Handle = { readonly __nativeDecodeHandle: unique symbol };

/** The addon's row functions (csrc/decode_rows_napi.cc) and the two of decode_napi.cc used on row caches. */
interface RowsAddon {
  decodeRowsCache(nLayer: number, nEmbd: number): Handle;
  decodeRowsStep(model: Handle, caches: Handle[], tokens: Int32Array, logits: Float32Array): void;
  decodeRowsLoad(caches: Handle[], nHead: number, keys: Float32Array[], values: Float32Array[], width: number, lengths: number[]): void;
  decodeRowsRead(caches: Handle[], nHead: number, layer: number, width: number, keys: Float32Array, values: Float32Array): void;
  decodeRowsCopy(dst: Handle, src: Handle): void;
  decodeFree(handle: Handle): void;
}

/** Why the R-row decode step cannot run here, or null when it can. */
export function nativeDecodeRowsUnavailable(): string | null {
  const why = nativeDecodeUnavailable();
  if (why) return why;
  if (typeof (nativeAddon() as unknown as Partial<RowsAddon>).decodeRowsStep !== 'function') {
    return 'the native addon predates the R-row decode step (rebuild: pnpm --filter @gptlab/tensor-native build)';
  }
  return null;
}

/** The snapshot's addon handle (NativeDecodeModel keeps it private to its own file). */
function modelHandle(model: NativeDecodeModel): Handle {
  return (model as unknown as { live(): Handle }).live();
}

/**
 * The key/value caches of R rows (sequences), row r at its own position. Rows join from tfjs's left-padded
 * [B, H, W, D] keys and values (a batched prefill, or one prompt's [1, H, T, D]), leave or repeat through
 * reorder, and advance together with step.
 */
export class NativeDecodeRows {
  private readonly addon: RowsAddon;
  private readonly shape: Pick<DecodeModelShape, 'nLayer' | 'nHead' | 'nEmbd'>;
  private caches: Handle[] = [];
  private lens: number[] = [];
  private tokens = new Int32Array(0);
  private freed = false;

  constructor(shape: Pick<DecodeModelShape, 'nLayer' | 'nHead' | 'nEmbd'>) {
    const why = nativeDecodeRowsUnavailable();
    if (why) throw new Error(why);
    this.addon = nativeAddon() as unknown as RowsAddon;
    this.shape = { nLayer: shape.nLayer, nHead: shape.nHead, nEmbd: shape.nEmbd };
  }

  /** Rows held. */
  get rows(): number {
    return this.caches.length;
  }

  /** Cached positions of each row (its next token's position). */
  get lengths(): number[] {
    return this.lens.slice();
  }

  /**
   * Appends B rows: per layer, keys and values as [B, H, width, D] with row b's lengths[b] positions in its last
   * lengths[b] slots (left padding, as tfjs's batched cache; width = length for a single prompt).
   */
  append(keys: Float32Array[], values: Float32Array[], lengths: readonly number[], width: number): void {
    this.check('append');
    const fresh = lengths.map(() => this.addon.decodeRowsCache(this.shape.nLayer, this.shape.nEmbd));
    try {
      this.addon.decodeRowsLoad(fresh, this.shape.nHead, keys, values, width, lengths.slice());
    } catch (e) {
      for (const h of fresh) this.addon.decodeFree(h);
      throw e;
    }
    this.caches.push(...fresh);
    this.lens.push(...lengths);
  }

  /** Layer `layer`'s keys and values of every row as [R, H, width, D], left-padded with zeros (width ≥ lengths). */
  read(layer: number, width: number): { keys: Float32Array; values: Float32Array } {
    this.check('read');
    const n = this.caches.length * width * this.shape.nEmbd;
    const keys = new Float32Array(n);
    const values = new Float32Array(n);
    this.addon.decodeRowsRead(this.caches, this.shape.nHead, layer, width, keys, values);
    return { keys, values };
  }

  /**
   * Keeps the given rows in the given order: new row i is old row rows[i]. A row kept once keeps its cache (no
   * copy); each further use of it (a beam that forks, a prompt fanned out) is a copy, into the cache of a row that
   * was dropped when there is one. Dropped rows' caches are freed.
   */
  reorder(rows: readonly number[]): void {
    this.check('reorder');
    for (const r of rows) {
      if (!Number.isInteger(r) || r < 0 || r >= this.caches.length) {
        throw new Error(`NativeDecodeRows.reorder: row ${r} is outside [0, ${this.caches.length})`);
      }
    }
    const taken = new Set<number>();
    const first = rows.map((r) => (taken.has(r) ? false : (taken.add(r), true)));
    const spare = this.caches.filter((_, r) => !taken.has(r));
    const next = rows.map((r, i) => {
      if (first[i]) return this.caches[r]!;
      const dst = spare.pop() ?? this.addon.decodeRowsCache(this.shape.nLayer, this.shape.nEmbd);
      this.addon.decodeRowsCopy(dst, this.caches[r]!);
      return dst;
    });
    for (const h of spare) this.addon.decodeFree(h);
    this.lens = rows.map((r) => this.lens[r]!);
    this.caches = next;
  }

  /**
   * Appends tokens[r] to row r for every row in one call and returns the next-token logits [R × vocabSize]
   * (into `out` when given). `model` must hold float32 weights and this shape.
   */
  step(model: NativeDecodeModel, tokens: ArrayLike<number>, out?: Float32Array): Float32Array {
    this.check('step');
    if (model.weightDtype !== 'float32') {
      throw new Error(`NativeDecodeRows.step: float32 weight snapshots only (this one holds ${model.weightDtype})`);
    }
    const R = this.caches.length;
    if (tokens.length !== R) throw new Error(`NativeDecodeRows.step: got ${tokens.length} tokens for ${R} rows`);
    if (this.tokens.length !== R) this.tokens = new Int32Array(R);
    for (let r = 0; r < R; r++) {
      const t = tokens[r]!;
      if (!Number.isInteger(t)) throw new Error(`NativeDecodeRows.step: token ${t} of row ${r} is not an integer`);
      this.tokens[r] = t;
    }
    const logits = out ?? new Float32Array(R * model.shape.vocabSize);
    this.addon.decodeRowsStep(modelHandle(model), this.caches, this.tokens, logits);
    for (let r = 0; r < R; r++) this.lens[r]! += 1;
    return logits;
  }

  /** Releases every row's cache now (the garbage collector would otherwise); later use throws. */
  free(): void {
    for (const h of this.caches) this.addon.decodeFree(h);
    this.caches = [];
    this.lens = [];
    this.freed = true;
  }

  private check(op: string): void {
    if (this.freed) throw new Error(`NativeDecodeRows.${op}: the rows were freed`);
  }
}
