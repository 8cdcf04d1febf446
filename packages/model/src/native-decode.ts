// Native decoding (Node): enableNativeDecoding(model) makes every one-token step of a batch-1 KVCache run as ONE
// call into @gptlab/tensor-native's decode step (csrc/decode.cc) over a native snapshot of the weights and a
// native key/value cache, instead of ~20 tfjs ops per layer. The arithmetic is the tfjs path's kernel for kernel,
// so logits and ids are those of the tfjs path. Prompts (several tokens), batches, beams and everything else keep
// running on tfjs; the cache moves between the two sides when needed (see NativeKVCache).
import { createRequire } from 'node:module';
import { tf } from '@gptlab/tensor';
import type { DecodeWeightDtype, NativeDecodeCache, NativeDecodeModel } from '@gptlab/tensor-native';
import type { DecodeFastPath, GPT } from './gpt';
import { KVCache } from './kv-cache';

type NativeModule = typeof import('@gptlab/tensor-native');

export interface NativeDecodingOptions {
  /**
   * 'float32' (default): the tfjs path's logits exactly. 'bfloat16': the weight matrices and wte rounded to
   * bfloat16, half the bytes read per token (faster where decoding is memory-bound); the logits drift, by how much
   * depends on the model (the model bench reports the log-prob drift against float32: check it on yours).
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
 * prefix, hidden states, attention probabilities, training, or more than one row runs on tfjs as before.
 *
 * The weights are snapshotted into native memory on the first native step (a copy: 0.5 GB for GPT-2 small).
 * A weight that changes afterwards (an optimizer's assign, resizeTokenEmbeddings) is noticed at the next step
 * and the snapshot is taken again, so training between generations stays correct, at the cost of the copy.
 */
export function enableNativeDecoding(model: GPT, opts: NativeDecodingOptions = {}): NativeDecodingStatus {
  const dtype = opts.weights ?? 'float32';
  if (dtype !== 'float32' && dtype !== 'bfloat16') {
    throw new Error(`enableNativeDecoding: weights must be 'float32' or 'bfloat16', got '${String(dtype)}'`);
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
  return { active: true, detail: `native decode step (${dtype === 'bfloat16' ? 'bfloat16 weights, ' : ''}${info.isa}, ${threads})` };
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
    return new NativeKVCache(ownerId, nLayer, batchSize, this, this.model.config.nHead);
  }

  forward(ids: tf.Tensor2D, cache: KVCache): tf.Tensor3D | null {
    if (!(cache instanceof NativeKVCache) || cache.decoder !== this || ids.shape[0] !== 1 || cache.batchSize !== 1) return null;
    const token = ids.dataSync()[0]!;
    const V = this.model.config.vocabSize;
    if (!(Number.isInteger(token) && token >= 0 && token < V)) {
      throw new Error(`forward: token id ${token} at [0, 0] is outside the vocabulary [0, ${V})`);
    }
    const logits = cache.nativeStep(this.current(), token);
    return tf.tensor3d(logits, [1, 1, V]);
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

/**
 * A KVCache whose positions may live in native memory. Native steps append there; the tfjs tensors are brought
 * up to date only when tfjs needs them (a multi-token forward, reorder, truncate, clone), and the native cache
 * reloads from tfjs when tfjs appended positions it has not seen. At any time one side holds every position and
 * the other a prefix.
 */
export class NativeKVCache extends KVCache {
  private positions = 0;
  private tfPositions = 0;
  private nativePositions = 0;
  private nativeCache: NativeDecodeCache | null = null;

  /** Use GPT.createCache after enableNativeDecoding. */
  constructor(
    ownerId: number,
    private readonly nLayer: number,
    batchSize: number,
    /** @internal */ readonly decoder: object,
    private readonly nHead: number,
  ) {
    super(ownerId, nLayer, batchSize);
  }

  override get length(): number {
    return this.positions;
  }

  /** @internal */
  override layer(i: number): [tf.Tensor4D | null, tf.Tensor4D | null] {
    this.toTf();
    return super.layer(i);
  }

  /** @internal */
  override commit(kv: tf.Tensor4D[], length: number, batchSize: number): void {
    if (batchSize !== this.batchSize) this.dropNative(0);
    super.commit(kv, length, batchSize);
    this.positions = this.tfPositions = length;
  }

  override reorder(rows: number[]): void {
    this.toTf();
    super.reorder(rows);
    if (!(rows.length === 1 && rows[0] === 0)) this.dropNative(0);
  }

  override truncate(length: number): void {
    this.toTf();
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
    super.dispose();
    this.positions = this.tfPositions = this.nativePositions = 0;
  }

  /** @internal Appends `token` natively; returns the next-token logits. */
  nativeStep(model: NativeDecodeModel, token: number): Float32Array {
    if (this.isDisposed) throw new Error('KVCache.forward: the cache was disposed');
    this.nativeCache ??= model.createCache();
    if (this.nativePositions !== this.positions) {
      // tfjs holds positions the native cache lacks (a prompt): load them all.
      const keys: Float32Array[] = [];
      const values: Float32Array[] = [];
      for (let l = 0; l < this.nLayer; l++) {
        const [k, v] = super.layer(l);
        keys.push(k ? (k.dataSync() as Float32Array) : new Float32Array(0));
        values.push(v ? (v.dataSync() as Float32Array) : new Float32Array(0));
      }
      this.nativeCache.load(keys, values, this.positions);
      this.nativePositions = this.positions;
    }
    const logits = model.step(this.nativeCache, token);
    this.positions++;
    this.nativePositions++;
    return logits;
  }

  /** Copies native positions the tfjs tensors lack into new tensors (kept: a forward's tidy must not take them). */
  private toTf(): void {
    if (this.tfPositions === this.positions || !this.nativeCache) return;
    const nHead = this.nHead;
    const T = this.positions;
    const kv: tf.Tensor4D[] = [];
    for (let l = 0; l < this.nLayer; l++) {
      const { keys, values } = this.nativeCache.read(l);
      const D = keys.length / (nHead * T);
      kv.push(tf.keep(tf.tensor4d(keys, [1, nHead, T, D])), tf.keep(tf.tensor4d(values, [1, nHead, T, D])));
    }
    super.commit(kv, T, this.batchSize);
    this.tfPositions = T;
  }

  /** Keeps only the first `keep` native positions (0: the native side starts over from tfjs). */
  private dropNative(keep: number): void {
    if (this.nativeCache && keep < this.nativePositions) this.nativeCache.truncate(keep);
    this.nativePositions = Math.min(keep, this.nativePositions);
  }
}
