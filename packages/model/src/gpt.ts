// A decoder-only GPT (in the spirit of nanoGPT), with Hugging Face GPT-2 weight names:
//
//   x = wte[ids] + wpe[pos]                     (embedding dropout)
//   x = block(x) for each layer                 (block.ts: pre-LN GPT-2/3 or post-LN GPT-1; attention.ts, mlp.ts)
//   x = ln_f(x)                                 (pre-LN only)
//   logits = x · wteᵀ                           (LM head tied to the token embedding)
//
// The weights and their initialisation come from the layer table (layers.ts); checkpoints are read and written
// by checkpoint.ts (loadGPT, saveGPT).
import { tf, crossEntropy, dropout, layerNorm, matMul2d, matMulStrategy, Rng, mixSeed } from '@gptlab/tensor';
import { causalSelfAttention } from './attention';
import { BatchedKVCache } from './batched-kv-cache';
import { decodeStep, prefillBatched, type BatchedModelParts } from './batched-step';
import { block } from './block';
import { validateConfig, type GPTConfig } from './config';
import { KVCache } from './kv-cache';
import { BeamKVCache } from './kv-cache-beam';
import { beamDecodeStep } from './kv-cache-beam-step';
import { countParameters, initialValue, normalArray, parameterSeed, parameterTable, weightTree, type GPTWeights } from './layers';
import { checkPrefix, idsTensor } from './forward-inputs';
import type { AttentionPattern } from './sparse';

/**
 * Token ids [batch, time]: an int32 tensor, used as is (checking it would copy it to the host on every call; the
 * backends' gather refuses ids outside the embedding), or rows of integers, checked here with an error naming the
 * bad id and where it is.
 */
export type TokenIds = tf.Tensor2D | readonly ArrayLike<number>[];

export interface ForwardOptions {
  /** Dropout on (embedding, attention, residual rates from the config). Default false. */
  training?: boolean;
  /** Seed of the dropout masks (same seed → same masks). Default: a fresh seed per call. */
  seed?: number;
  /** Process ids as the positions after the cached ones, and append their keys/values to the cache. */
  cache?: KVCache;
  /** Also return the final hidden states [B, T, C] (after ln_f for pre-LN models; what the LM head sees). */
  outputHidden?: boolean;
  /** Also return one head's attention probabilities [B, Tq, Tk] (Tk includes cached positions). */
  attentionProbs?: { layer: number; head: number };
  /**
   * Input embeddings [B, P, nEmbd] placed before the tokens' embeddings (e.g. an image encoder's visual tokens,
   * LLaVA-style): they take the P positions after the cached ones, and logits come back for all P + T positions.
   */
  prefix?: tf.Tensor3D;
}

/**
 * @internal A faster path for one-token steps with a KV cache (native-decode.ts installs one through
 * enableNativeDecoding): its caches, and a step that returns null where it does not apply (the tfjs path runs).
 */
export interface DecodeFastPath {
  createCache(ownerId: number, nLayer: number, batchSize: number): KVCache;
  forward(ids: tf.Tensor2D, cache: KVCache): tf.Tensor3D | null;
  /** Optional: its own batched caches (null: the tfjs one) and steps over them (null: the tfjs step runs). */
  createBatchedCache?(ownerId: number): BatchedKVCache | null;
  decodeStep?(ownerId: number, tokens: ArrayLike<number>, cache: BatchedKVCache): tf.Tensor2D | null;
  dispose(): void;
}

export interface ForwardResult {
  logits: tf.Tensor3D;
  hidden?: tf.Tensor3D;
  attention?: tf.Tensor3D;
}

let nextModelId = 0;

export class GPT {
  readonly config: GPTConfig;
  /** Tensors of the checkpoint that are not model weights (e.g. a task head), owned by the model. */
  readonly extraTensors = new Map<string, tf.Tensor>();
  private readonly id: number;
  /** By Hugging Face GPT-2 name, in checkpoint order. */
  private readonly weights = new Map<string, tf.Variable>();
  /** The same variables as the module tree their names spell (w.h[0].attn.c_attn.weight). */
  private readonly w: GPTWeights;
  private readonly patterns: (AttentionPattern | null)[];
  private readonly seedRng: Rng;
  private disposed = false;
  /** @internal The fast decode path when enabled (enableNativeDecoding). */
  decodeFastPath: DecodeFastPath | null = null;

  private constructor(config: GPTConfig, tensors: ReadonlyMap<string, tf.Tensor>) {
    this.config = validateConfig({ ...config, attention: config.attention?.map((p) => ({ ...p })) });
    if (this.config.attention === undefined) delete this.config.attention;
    this.id = nextModelId++;
    this.seedRng = new Rng(0x5eed ^ this.id);
    for (const { name, shape } of parameterTable(this.config)) {
      const t = tensors.get(name);
      if (!t) throw new Error(`GPT: missing weight '${name}'`);
      if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
        throw new Error(`GPT: weight '${name}' has shape [${t.shape}], expected [${shape}]`);
      }
      this.weights.set(name, tf.variable(t, true, `gpt${this.id}/${name}`));
    }
    this.w = weightTree(this.config, this.weights);
    this.patterns = (this.config.attention ?? []).map((p) => (p.type === 'dense' ? null : p));
  }

  /**
   * A randomly initialised model, each weight as the layer table says: N(0, 0.02); the residual output
   * projections (attn.c_proj, mlp.c_proj) N(0, 0.02/√(2·nLayer)) for GPT-2/3 (pre-LN) and N(0, 0.02) for GPT-1
   * (post-LN); biases 0, LayerNorm γ = 1, β = 0. Same seed → same weights.
   */
  static create(config: GPTConfig, opts: { seed?: number } = {}): GPT {
    validateConfig(config);
    const seed = opts.seed ?? 0;
    const tensors = new Map(parameterTable(config).map((p, i) => [p.name, initialValue(p, config, parameterSeed(seed, i))] as const));
    try {
      return new GPT(config, tensors);
    } finally {
      tf.dispose([...tensors.values()]);
    }
  }

  /** A model holding copies of the given weights (Hugging Face GPT-2 names, as namedWeights); the caller keeps them. */
  static fromWeights(config: GPTConfig, weights: ReadonlyMap<string, tf.Tensor>): GPT {
    return new GPT(config, weights);
  }

  /** The weights by Hugging Face GPT-2 name, in checkpoint order. */
  namedWeights(): Map<string, tf.Variable> {
    this.check('namedWeights');
    return new Map(this.weights);
  }

  trainableVariables(): tf.Variable[] {
    this.check('trainableVariables');
    return [...this.weights.values()];
  }

  /** Parameters of this model (tied head counted once). */
  numParameters(): number {
    return countParameters(this.config);
  }

  createCache(batchSize: number): KVCache {
    this.check('createCache');
    const fast = this.decodeFastPath;
    return fast ? fast.createCache(this.id, this.config.nLayer, batchSize) : new KVCache(this.id, this.config.nLayer, batchSize);
  }

  /** An empty cache for continuous batching (decodeStep): rows join with BatchedKVCache.add and leave with reorder. */
  createBatchedCache(): BatchedKVCache {
    this.check('createBatchedCache');
    return this.decodeFastPath?.createBatchedCache?.(this.id) ?? new BatchedKVCache(this.id, this.config.nLayer);
  }

  /**
   * An empty cache for beam search (beamStep): a prompt shared by the beams, reordered without copying keys.
   * null for a model with sparse attention layers (beam search then uses a KVCache).
   */
  createBeamCache(): BeamKVCache | null {
    this.check('createBeamCache');
    return this.patterns.some((p) => p !== null) ? null : new BeamKVCache(this.id, this.config.nLayer);
  }

  /**
   * Grows (or shrinks) the token embedding, e.g. for GPT-1's fine-tuning tokens <s>, <$>, <e>: existing rows
   * are kept, new rows drawn from N(0, 0.02). Create optimizers after this call.
   */
  resizeTokenEmbeddings(newVocabSize: number, seed = 0): void {
    this.check('resizeTokenEmbeddings');
    if (!Number.isInteger(newVocabSize) || newVocabSize < 1) {
      throw new Error(`resizeTokenEmbeddings: newVocabSize must be a positive integer, got ${newVocabSize}`);
    }
    const old = this.w.wte;
    const [V, C] = old.shape as [number, number];
    if (newVocabSize === V) return;
    const fresh = tf.tidy(() =>
      newVocabSize > V
        ? tf.concat([old, tf.tensor2d(normalArray((newVocabSize - V) * C, 0.02, mixSeed(seed)), [newVocabSize - V, C])], 0)
        : tf.slice(old, [0, 0], [newVocabSize, C]),
    );
    const name = old.name;
    old.dispose();
    const v = tf.variable(fresh, true, name);
    fresh.dispose();
    this.weights.set('transformer.wte.weight', v);
    this.w.wte = v;
    this.config.vocabSize = newVocabSize;
    // Appended tokens keep the end-of-text id; a cut vocabulary may lose it.
    if (this.config.eosTokenId !== undefined && this.config.eosTokenId >= newVocabSize) delete this.config.eosTokenId;
  }

  dispose(): void {
    if (this.disposed) return;
    this.decodeFastPath?.dispose();
    this.decodeFastPath = null;
    for (const v of this.weights.values()) v.dispose();
    for (const t of this.extraTensors.values()) t.dispose();
    this.extraTensors.clear();
    this.disposed = true;
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  /** Mean next-token cross-entropy of `ids` against `targets` (same shape; IGNORE_INDEX entries skipped). */
  loss(ids: TokenIds, targets: tf.Tensor2D, opts: { training?: boolean; seed?: number } = {}): tf.Scalar {
    const shape = ids instanceof tf.Tensor ? ids.shape : [ids.length, ids[0]?.length ?? 0];
    if (!(targets instanceof tf.Tensor) || targets.rank !== 2 || targets.shape[0] !== shape[0] || targets.shape[1] !== shape[1]) {
      throw new Error(`loss: targets shape [${targets?.shape}] must equal ids shape [${shape}]`);
    }
    return tf.tidy(() => crossEntropy(this.forward(ids, { training: opts.training, seed: opts.seed }).logits, targets));
  }

  /** Logits [B, T, V] for token ids [B, T] (and optionally hidden states and one head's attention). */
  forward(ids: TokenIds, opts: ForwardOptions = {}): ForwardResult {
    this.check('forward');
    if (ids instanceof tf.Tensor) return this.run(ids, opts);
    const t = idsTensor(ids, this.config.vocabSize);
    try {
      return this.run(t, opts);
    } finally {
      t.dispose();
    }
  }

  private run(ids: tf.Tensor2D, opts: ForwardOptions): ForwardResult {
    const c = this.config;
    if (ids.rank !== 2) throw new Error(`forward: ids must be a rank-2 tensor [batch, time], got shape [${ids.shape}]`);
    if (ids.dtype !== 'int32') throw new Error(`forward: ids must be int32, got ${ids.dtype}`);
    const [B, T] = ids.shape as [number, number];
    if (B < 1 || T < 1) throw new Error(`forward: ids shape [${ids.shape}] is empty`);
    const cache = opts.cache;
    if (cache) {
      if (cache.ownerId !== this.id) throw new Error('forward: the KV cache was created by another model');
      if (cache.isDisposed) throw new Error('forward: the KV cache was disposed');
      if (cache.length > 0 && cache.batchSize !== B) {
        throw new Error(`forward: ids have ${B} rows but the KV cache holds ${cache.batchSize} (use cache.reorder to change rows)`);
      }
    }
    const past = cache ? cache.length : 0;
    const P = opts.prefix ? checkPrefix(opts.prefix, B, c.nEmbd) : 0;
    if (past + P + T > c.nPositions) {
      throw new Error(
        `forward: ${past > 0 ? `${past} cached + ${P + T} new` : P + T} positions exceed the context length nPositions = ${c.nPositions}`,
      );
    }
    const probsReq = opts.attentionProbs;
    if (probsReq) {
      const { layer, head } = probsReq;
      if (!Number.isInteger(layer) || layer < 0 || layer >= c.nLayer)
        throw new Error(`forward: attentionProbs.layer ${layer} is outside [0, ${c.nLayer})`);
      if (!Number.isInteger(head) || head < 0 || head >= c.nHead)
        throw new Error(`forward: attentionProbs.head ${head} is outside [0, ${c.nHead})`);
    }
    // Dropout draws one seed per dropped tensor, in forward order, from the call's seed.
    if (cache && this.decodeFastPath && T === 1 && P === 0 && !probsReq && !opts.outputHidden && opts.training !== true) {
      const logits = this.decodeFastPath.forward(ids, cache);
      if (logits) return { logits };
    }
    const rng = opts.training === true ? new Rng(opts.seed ?? this.seedRng.seed()) : null;
    const drop = (rate: number) => (x: tf.Tensor) => (rng && rate > 0 ? dropout(x, rate, rng.seed()) : x);
    const newKV: tf.Tensor4D[] = [];
    let attention: tf.Tensor3D | undefined;
    let result: ForwardResult;
    try {
      result = tf.tidy(() => {
        const tokens = tf.gather(this.w.wte, ids);
        const embedded = opts.prefix ? tf.concat([opts.prefix, tokens], 1) : tokens;
        let x = tf.add(embedded, tf.slice(this.w.wpe, [past, 0], [P + T, c.nEmbd]));
        x = drop(c.embdDropout)(x);
        x = this.decoder(x, drop(c.residDropout), (h, l) => {
          const a = causalSelfAttention(h, this.w.h[l]!.attn, {
            nHead: c.nHead,
            past: cache?.layer(l),
            pattern: this.patterns[l] ?? null,
            dropout: drop(c.attnDropout),
            dropoutActive: rng !== null && c.attnDropout > 0,
            probsHead: probsReq?.layer === l ? probsReq.head : undefined,
          });
          if (cache) newKV.push(tf.keep(a.k), tf.keep(a.v));
          if (a.probs) attention = a.probs;
          return a.y;
        });
        const out: ForwardResult = { logits: this.lmHead(x, B, P + T) };
        if (opts.outputHidden) out.hidden = x as tf.Tensor3D;
        if (attention) out.attention = attention;
        return out as unknown as tf.TensorContainerObject;
      }) as unknown as ForwardResult;
    } catch (e) {
      tf.dispose(newKV);
      throw e;
    }
    if (cache) cache.commit(newKV, past + P + T, B);
    return result;
  }

  /**
   * One step of continuous batching: `tokens[r]` is appended to row r of `cache` at that row's own position (its
   * length) and every row's next-token logits come back, [B, V]. Rows have their own lengths (padded key slots
   * are masked, see BatchedKVCache); the logits are those forward() gives each row with its own KVCache, up to
   * float rounding. No dropout (inference only).
   */
  decodeStep(tokens: ArrayLike<number>, cache: BatchedKVCache): tf.Tensor2D {
    this.check('decodeStep');
    return this.decodeFastPath?.decodeStep?.(this.id, tokens, cache) ?? decodeStep(this.batchedParts(), tokens, cache);
  }

  /**
   * Prefills prompts of different lengths in one forward and appends them to `cache` as its last rows (the rows
   * already there are not touched); returns each prompt's next-token logits, [prompts.length, V], those
   * forward() gives the prompt alone up to float rounding. No dropout (inference only).
   */
  prefillBatched(prompts: readonly ArrayLike<number>[], cache: BatchedKVCache): tf.Tensor2D {
    this.check('prefillBatched');
    return prefillBatched(this.batchedParts(), prompts, cache);
  }

  /**
   * One beam-search step: `tokens[r]` is appended to row r of `cache` (all rows share the prompt and the
   * position) and every row's next-token logits come back, [B, V]: those forward() gives each row with its own
   * KVCache, up to float rounding (kv-cache-beam-step.ts). No dropout (inference only).
   */
  beamStep(tokens: ArrayLike<number>, cache: BeamKVCache): tf.Tensor2D {
    this.check('beamStep');
    return beamDecodeStep(this.batchedParts(), tokens, cache);
  }

  private batchedParts(): BatchedModelParts {
    return {
      id: this.id,
      config: this.config,
      patterns: this.patterns,
      wte: this.w.wte as tf.Tensor2D,
      wpe: this.w.wpe as tf.Tensor2D,
      attention: (l) => this.w.h[l]!.attn,
      decoder: (x, attend) => this.decoder(x, (r) => r, attend),
      lmHead: (h, B, T) => this.lmHead(h, B, T),
      idsTensor: (rows) => idsTensor(rows, this.config.vocabSize),
    };
  }

  /** The blocks, then ln_f (pre-LN), over embedded x; `attend(h, l)` is layer l's self-attention. */
  private decoder(
    x: tf.Tensor,
    residDropout: (branch: tf.Tensor) => tf.Tensor,
    attend: (h: tf.Tensor, layer: number) => tf.Tensor,
  ): tf.Tensor {
    const c = this.config;
    this.w.h.forEach((w, l) => {
      x = block(x, w, c, (h) => attend(h, l), residDropout);
    });
    return this.w.ln_f ? layerNorm(x, this.w.ln_f.weight, this.w.ln_f.bias, c.layerNormEpsilon) : x;
  }

  /** logits = h · wteᵀ (the LM head tied to the token embedding). */
  private lmHead(h: tf.Tensor, B: number, T: number): tf.Tensor3D {
    const C = this.config.nEmbd;
    const wte = this.w.wte as tf.Tensor2D;
    const V = wte.shape[0];
    const h2 = tf.reshape(h, [B * T, C]) as tf.Tensor2D;
    let logits: tf.Tensor2D;
    if (matMulStrategy() === 'explicit-transpose' && B * T * (C + V) < V * C) {
      // Plain wasm transposes operands explicitly; for a few rows (generation) transposing h and the logits is
      // far cheaper than transposing the whole embedding: (wte · hᵀ)ᵀ.
      logits = tf.transpose(matMul2d(wte, tf.transpose(h2) as tf.Tensor2D));
    } else {
      logits = matMul2d(h2, wte, false, true);
    }
    return tf.reshape(logits, [B, T, V]) as tf.Tensor3D;
  }

  private check(op: string): void {
    if (this.disposed) throw new Error(`GPT.${op}: the model was disposed`);
  }
}
