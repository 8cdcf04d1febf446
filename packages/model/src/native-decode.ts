// Native decoding (Node): enableNativeDecoding(model) makes every one-token step of a batch-1 KVCache run as ONE
// call into @gptlab/tensor-native's decode step (csrc/decode.cc) over a native snapshot of the weights and a
// native key/value cache, instead of ~20 tfjs ops per layer. The arithmetic is the tfjs path's kernel for kernel,
// so logits and ids are those of the tfjs path. One-token steps of a KVCache with several rows (a batch, or beam
// search's beams after reorder) run as ONE R-row call with float32 weights, and reorder moves rows natively
// (native-kv-cache.ts). Prompts (several tokens) and everything else keep running on tfjs; the cache moves between
// the two sides when needed.
import { createRequire } from 'node:module';
import { tf } from '@gptlab/tensor';
import type { DecodeWeightDtype, NativeDecodeModel } from '@gptlab/tensor-native';
import type { DecodeFastPath, GPT } from './gpt';
import type { KVCache } from './kv-cache';
import type { BatchedKVCache } from './batched-kv-cache';
import { NativeBatchedKVCache, nativeBatchedStep } from './native-batched';
import { NativeKVCache } from './native-kv-cache';

export { NativeKVCache };

type NativeModule = typeof import('@gptlab/tensor-native');

export interface NativeDecodingOptions {
  /**
   * 'float32' (default): the tfjs path's logits exactly. 'bfloat16': the weight matrices and wte rounded to
   * bfloat16, half the bytes read per token (faster where decoding is memory-bound). 'int8': weight-only int8, one
   * float scale per output column per group of 64 inputs (absmax / 127), ~0.27 of the bytes (products still
   * accumulate in float32; LayerNorms, biases and wpe stay float32). Both drift from float32 by an amount that
   * depends on the model: the model bench reports the log-prob drift against float32 — check it on yours.
   */
  weights?: DecodeWeightDtype;
}

export interface NativeDecodingStatus {
  /** Whether one-token cached steps of this model now run natively. */
  active: boolean;
  /** What runs (e.g. "native decode step (avx512, 2 threads)"), or why it cannot. */
  detail: string;
}

const req = createRequire(import.meta.url);

function loadNative(): NativeModule | string {
  if (process.env.GPTLAB_NATIVE === '0') return 'GPTLAB_NATIVE=0';
  let mod: NativeModule;
  try {
    mod = req('@gptlab/tensor-native') as NativeModule;
  } catch {
    return '@gptlab/tensor-native is not installed';
  }
  return mod.nativeDecodeUnavailable() ?? mod;
}

/**
 * Runs `model`'s one-token KV-cached steps natively where the addon is built and the model is a plain dense GPT
 * (no sparse attention layers). Caches created afterwards (model.createCache) are NativeKVCaches; a step with a
 * prefix, hidden states, attention probabilities or training runs on tfjs as before, and so does a step of more
 * than one row with bfloat16/int8 weights (the R-row step is float32 only).
 *
 * The weights are snapshotted into native memory on the first native step (a copy: 0.5 GB for GPT-2 small).
 * A weight that changes afterwards (an optimizer's assign, resizeTokenEmbeddings) is noticed at the next step
 * and the snapshot is taken again, so training between generations stays correct, at the cost of the copy.
 */
export function enableNativeDecoding(model: GPT, opts: NativeDecodingOptions = {}): NativeDecodingStatus {
  const dtype = opts.weights ?? 'float32';
  if (dtype !== 'float32' && dtype !== 'bfloat16' && dtype !== 'int8') {
    throw new Error(`enableNativeDecoding: weights must be 'float32', 'bfloat16' or 'int8', got '${String(dtype)}'`);
  }
  const native = loadNative();
  if (typeof native === 'string') return { active: false, detail: native };
  const sparse = (model.config.attention ?? []).findIndex((p) => p.type !== 'dense');
  if (sparse >= 0) return { active: false, detail: `layer ${sparse} has sparse attention (the native step is dense only)` };
  const current = model.decodeFastPath;
  if (!(current instanceof NativeDecoder) || current.dtype !== dtype) {
    current?.dispose();
    model.decodeFastPath = new NativeDecoder(model, native, dtype);
  }
  const info = native.nativeInfo();
  const threads = `${info.threads} thread${info.threads === 1 ? '' : 's'}`;
  const weights = dtype === 'float32' ? '' : `${dtype} weights, `;
  return { active: true, detail: `native decode step (${weights}${info.isa}, ${threads})` };
}

/** Back to the tfjs path for new caches and steps; frees the snapshot. */
export function disableNativeDecoding(model: GPT): void {
  model.decodeFastPath?.dispose();
  model.decodeFastPath = null;
}

/** Whether enableNativeDecoding is in effect for `model`. */
export function nativeDecodingEnabled(model: GPT): boolean {
  return model.decodeFastPath instanceof NativeDecoder;
}

class NativeDecoder implements DecodeFastPath {
  private snapshot: NativeDecodeModel | null = null;
  /** Each weight's tfjs data id when the snapshot was taken (an assign gives a variable a new one). */
  private dataIds: object[] = [];
  private readonly names: string[];

  constructor(
    private readonly model: GPT,
    private readonly native: NativeModule,
    readonly dtype: DecodeWeightDtype,
  ) {
    this.names = native.decodeWeightNames({ nLayer: model.config.nLayer, postLN: model.config.postLN === true });
  }

  createCache(ownerId: number, nLayer: number, batchSize: number): KVCache {
    const c = this.model.config;
    const newRows = this.rowsCapable() ? () => new this.native.NativeDecodeRows(c) : null;
    return new NativeKVCache(ownerId, nLayer, batchSize, this, c.nHead, newRows);
  }

  /** Batched caches whose steps run natively (native-batched.ts); float32 only (others batch on tfjs). */
  createBatchedCache(ownerId: number): BatchedKVCache | null {
    if (!this.rowsCapable()) return null;
    return new NativeBatchedKVCache(ownerId, this.model.config, this.native);
  }

  /** Whether steps of several rows can run natively: the R-row step takes float32 snapshots only. */
  private rowsCapable(): boolean {
    return this.dtype === 'float32' && this.native.nativeDecodeRowsUnavailable() === null;
  }

  decodeStep(ownerId: number, tokens: ArrayLike<number>, cache: BatchedKVCache): tf.Tensor2D | null {
    if (this.dtype !== 'float32') return null;
    return nativeBatchedStep(this.model.config, ownerId, () => this.current(), tokens, cache);
  }

  forward(ids: tf.Tensor2D, cache: KVCache): tf.Tensor3D | null {
    if (!(cache instanceof NativeKVCache) || cache.decoder !== this || ids.shape[0] !== cache.batchSize) return null;
    const B = cache.batchSize;
    const oneRow = B === 1 && !cache.inRows;
    if (!oneRow && !cache.rowsCapable) return null;
    const tokens = ids.dataSync();
    const V = this.model.config.vocabSize;
    for (let r = 0; r < B; r++) {
      const t = tokens[r]!;
      if (!(Number.isInteger(t) && t >= 0 && t < V))
        throw new Error(`forward: token id ${t} at [${r}, 0] is outside the vocabulary [0, ${V})`);
    }
    const logits = oneRow ? cache.nativeStep(this.current(), tokens[0]!) : cache.rowsStep(this.current(), tokens);
    return tf.tensor3d(logits, [B, 1, V]);
  }

  /** The snapshot, taken again when any weight changed since. */
  private current(): NativeDecodeModel {
    const weights = this.model.namedWeights();
    const vars = this.names.map((n) => weights.get(n)!);
    const ids = vars.map((v) => (v as unknown as { dataId: object }).dataId);
    if (this.snapshot && ids.every((id, i) => id === this.dataIds[i])) return this.snapshot;
    this.snapshot?.free();
    this.snapshot = null;
    const c = this.model.config;
    const shape = { ...c, postLN: c.postLN === true };
    this.snapshot = new this.native.NativeDecodeModel(
      shape,
      vars.map((v) => v.dataSync() as Float32Array),
      { weightDtype: this.dtype },
    );
    this.dataIds = ids;
    return this.snapshot;
  }

  dispose(): void {
    this.snapshot?.free();
    this.snapshot = null;
    this.dataIds = [];
  }
}
