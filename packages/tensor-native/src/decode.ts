// The native decode step: a dense GPT's weights snapshot and per-sequence key/value caches held by the addon,
// one call per generated token (csrc/decode.cc). @gptlab/model builds on it (enableNativeDecoding); the
// arithmetic is the tfjs path's, kernel for kernel, so the logits equal that path's.
import { nativeAddon, addonStatus } from './addon';

/** Opaque addon handle (a model snapshot or a cache). */
type Handle = { readonly __nativeDecodeHandle: unique symbol };

/** The addon's decode functions (csrc/decode_napi.cc). */
interface DecodeAddon {
  decodeModel(
    nLayer: number,
    nHead: number,
    nEmbd: number,
    vocabSize: number,
    nPositions: number,
    eps: number,
    postLN: boolean,
    weights: Float32Array[],
    dtype: DecodeWeightDtype,
  ): Handle;
  decodeCache(model: Handle): Handle;
  decodeStep(model: Handle, cache: Handle, token: number, logits: Float32Array): void;
  decodeCacheLoad(cache: Handle, nHead: number, keys: Float32Array[], values: Float32Array[], length: number): void;
  decodeCacheRead(cache: Handle, nHead: number, layer: number, keys: Float32Array, values: Float32Array): void;
  decodeCacheLength(cache: Handle): number;
  decodeCacheTruncate(cache: Handle, length: number): void;
  decodeFree(handle: Handle): void;
}

/** Shape of the GPT a decoder runs (Hugging Face GPT-2 names in the comments of `weights`). */
export interface DecodeModelShape {
  nLayer: number;
  nHead: number;
  nEmbd: number;
  vocabSize: number;
  nPositions: number;
  layerNormEpsilon: number;
  /** GPT-1's post-LN blocks (no ln_f) instead of GPT-2's pre-LN blocks with a final LayerNorm. */
  postLN: boolean;
}

/**
 * How the weight matrices (c_attn, c_proj, c_fc, mlp c_proj, and wte for the embedding and the tied head) are
 * held: 'float32' (the tfjs path's numbers exactly), 'bfloat16' (rounded to nearest even, half the bytes
 * streamed per token) or 'int8' (weight-only: one float scale per output column per group of 64 k's, absmax / 127,
 * round to nearest even; ~0.27 of float32's bytes). Products still accumulate in float32; LayerNorms, biases and
 * wpe stay float32.
 */
export type DecodeWeightDtype = 'float32' | 'bfloat16' | 'int8';

const WEIGHT_DTYPES: readonly DecodeWeightDtype[] = ['float32', 'bfloat16', 'int8'];

/** Why the native decode step cannot run here, or null when it can. */
export function nativeDecodeUnavailable(): string | null {
  const s = addonStatus();
  if (!s.built) return s.error ?? 'native addon not built';
  if (typeof (nativeAddon() as unknown as Partial<DecodeAddon>).decodeStep !== 'function') {
    return 'the native addon predates the decode step (rebuild: pnpm --filter @gptlab/tensor-native build)';
  }
  return null;
}

function decodeAddon(): DecodeAddon {
  const why = nativeDecodeUnavailable();
  if (why) throw new Error(why);
  return nativeAddon() as unknown as DecodeAddon;
}

/**
 * The tensors a NativeDecodeModel copies, in order: wte [V,C], wpe [P,C]; per layer ln_1.weight, ln_1.bias,
 * attn.c_attn.weight [C,3C], attn.c_attn.bias, attn.c_proj.weight [C,C], attn.c_proj.bias, ln_2.weight,
 * ln_2.bias, mlp.c_fc.weight [C,4C], mlp.c_fc.bias, mlp.c_proj.weight [4C,C], mlp.c_proj.bias; then ln_f.weight,
 * ln_f.bias (pre-LN only).
 */
export function decodeWeightNames(shape: Pick<DecodeModelShape, 'nLayer' | 'postLN'>): string[] {
  const names = ['transformer.wte.weight', 'transformer.wpe.weight'];
  const perLayer = ['ln_1.weight', 'ln_1.bias', 'attn.c_attn.weight', 'attn.c_attn.bias', 'attn.c_proj.weight', 'attn.c_proj.bias'];
  perLayer.push('ln_2.weight', 'ln_2.bias', 'mlp.c_fc.weight', 'mlp.c_fc.bias', 'mlp.c_proj.weight', 'mlp.c_proj.bias');
  for (let l = 0; l < shape.nLayer; l++) names.push(...perLayer.map((n) => `transformer.h.${l}.${n}`));
  if (!shape.postLN) names.push('transformer.ln_f.weight', 'transformer.ln_f.bias');
  return names;
}

/**
 * A snapshot of a GPT's weights in native memory (copied: later changes to the source arrays are not seen, so a
 * trained model needs a new snapshot). `free()` releases the memory at once; the garbage collector otherwise.
 */
export class NativeDecodeModel {
  readonly shape: DecodeModelShape;
  readonly weightDtype: DecodeWeightDtype;
  private handle: Handle | null;
  private readonly addon: DecodeAddon;

  /** `weights` in decodeWeightNames(shape) order; sizes are checked by the addon. */
  constructor(shape: DecodeModelShape, weights: Float32Array[], opts: { weightDtype?: DecodeWeightDtype } = {}) {
    this.addon = decodeAddon();
    this.shape = { ...shape };
    this.weightDtype = opts.weightDtype ?? 'float32';
    if (!WEIGHT_DTYPES.includes(this.weightDtype)) {
      throw new Error(`NativeDecodeModel: weightDtype must be 'float32' or 'bfloat16' or 'int8', got '${String(this.weightDtype)}'`);
    }
    const s = shape;
    this.handle = this.addon.decodeModel(
      s.nLayer,
      s.nHead,
      s.nEmbd,
      s.vocabSize,
      s.nPositions,
      s.layerNormEpsilon,
      s.postLN,
      weights,
      this.weightDtype,
    );
  }

  /** An empty key/value cache for one sequence of this model. */
  createCache(): NativeDecodeCache {
    return new NativeDecodeCache(this.addon, this.live(), this.shape);
  }

  /**
   * Appends `token` to `cache` at position cache.length and returns the next-token logits (into `out` when
   * given, else a new Float32Array of vocabSize).
   */
  step(cache: NativeDecodeCache, token: number, out?: Float32Array): Float32Array {
    const logits = out ?? new Float32Array(this.shape.vocabSize);
    this.addon.decodeStep(this.live(), cache.live(), token, logits);
    return logits;
  }

  free(): void {
    if (this.handle) this.addon.decodeFree(this.handle);
    this.handle = null;
  }

  private live(): Handle {
    if (!this.handle) throw new Error('NativeDecodeModel: the model was freed');
    return this.handle;
  }
}

/** One sequence's keys and values per layer, in native memory. */
export class NativeDecodeCache {
  private handle: Handle | null;

  /** Use NativeDecodeModel.createCache. */
  constructor(
    private readonly addon: DecodeAddon,
    model: Handle,
    private readonly shape: DecodeModelShape,
  ) {
    this.handle = addon.decodeCache(model);
  }

  /** Cached positions. */
  get length(): number {
    return this.addon.decodeCacheLength(this.live());
  }

  /** Replaces the contents with `length` positions per layer, keys and values as tfjs's [1, H, length, D]. */
  load(keys: Float32Array[], values: Float32Array[], length: number): void {
    this.addon.decodeCacheLoad(this.live(), this.shape.nHead, keys, values, length);
  }

  /** Layer `layer`'s keys and values as [1, H, length, D] (tfjs's layout). */
  read(layer: number): { keys: Float32Array; values: Float32Array } {
    const n = this.length * this.shape.nEmbd;
    const keys = new Float32Array(n);
    const values = new Float32Array(n);
    this.addon.decodeCacheRead(this.live(), this.shape.nHead, layer, keys, values);
    return { keys, values };
  }

  /** Forgets every position from `length` on. */
  truncate(length: number): void {
    this.addon.decodeCacheTruncate(this.live(), length);
  }

  free(): void {
    if (this.handle) this.addon.decodeFree(this.handle);
    this.handle = null;
  }

  /** @internal */
  live(): Handle {
    if (!this.handle) throw new Error('NativeDecodeCache: the cache was freed');
    return this.handle;
  }
}
