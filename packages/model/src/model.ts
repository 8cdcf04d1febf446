// A decoder-only GPT in one readable file (in the spirit of nanoGPT), with Hugging Face GPT-2 tensor names.
//
//   x = wte[ids] + wpe[pos]                                  (embedding dropout)
//   pre-LN (GPT-2/3):  x = x + attn(ln_1(x));  x = x + mlp(ln_2(x));  ...;  x = ln_f(x)
//   post-LN (GPT-1):   x = ln_1(x + attn(x));  x = ln_2(x + mlp(x))                 (no final LayerNorm)
//   logits = x · wteᵀ                                         (LM head tied to the token embedding)
//
// attn: fused c_attn projection C → 3C ordered [q | k | v], heads are consecutive slices of width C/H; scores
// q·kᵀ/√(C/H) with a causal mask (or a sparse pattern's mask), softmax, attention dropout, weighted sum of v, c_proj.
// mlp: c_fc C → 4C, GELU (tanh approximation), c_proj 4C → C. Every dense layer is a Conv1D (y = x·W + b,
// W stored [in, out]) through @gptlab/tensor's `linear`; attention products go through `batchMatMul`.
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import {
  tf,
  gelu,
  layerNorm,
  crossEntropy,
  causalMask,
  MASK_VALUE,
  dropout,
  linear,
  matMul2d,
  batchMatMul,
  matMulStrategy,
  Rng,
  mixSeed,
} from '@gptlab/tensor';
import { countParameters, fromHFConfig, toHFConfig, validateConfig, type GPTConfig } from './config';
import { readSafetensors, tempPath, writeSafetensors, type SafetensorsInput } from './safetensors';
import { blockSparseAttention, elementMask, type AttentionPattern } from './sparse';

// ---------------------------------------------------------------------------------------------------------
// weights
// ---------------------------------------------------------------------------------------------------------

/** Every weight of a config with its Hugging Face name and shape, in checkpoint order. */
export function weightShapes(c: GPTConfig): [string, number[]][] {
  const { vocabSize: V, nPositions: P, nEmbd: C } = c;
  const out: [string, number[]][] = [
    ['transformer.wte.weight', [V, C]],
    ['transformer.wpe.weight', [P, C]],
  ];
  for (let i = 0; i < c.nLayer; i++) {
    const p = `transformer.h.${i}.`;
    out.push(
      [p + 'ln_1.weight', [C]],
      [p + 'ln_1.bias', [C]],
      [p + 'attn.c_attn.weight', [C, 3 * C]],
      [p + 'attn.c_attn.bias', [3 * C]],
      [p + 'attn.c_proj.weight', [C, C]],
      [p + 'attn.c_proj.bias', [C]],
      [p + 'ln_2.weight', [C]],
      [p + 'ln_2.bias', [C]],
      [p + 'mlp.c_fc.weight', [C, 4 * C]],
      [p + 'mlp.c_fc.bias', [4 * C]],
      [p + 'mlp.c_proj.weight', [4 * C, C]],
      [p + 'mlp.c_proj.bias', [C]],
    );
  }
  if (!c.postLN) out.push(['transformer.ln_f.weight', [C]], ['transformer.ln_f.bias', [C]]);
  return out;
}

interface Block {
  ln1w: tf.Variable;
  ln1b: tf.Variable;
  attnW: tf.Variable;
  attnB: tf.Variable;
  projW: tf.Variable;
  projB: tf.Variable;
  ln2w: tf.Variable;
  ln2b: tf.Variable;
  fcW: tf.Variable;
  fcB: tf.Variable;
  mlpW: tf.Variable;
  mlpB: tf.Variable;
}

const BLOCK_KEYS: [keyof Block, string][] = [
  ['ln1w', 'ln_1.weight'],
  ['ln1b', 'ln_1.bias'],
  ['attnW', 'attn.c_attn.weight'],
  ['attnB', 'attn.c_attn.bias'],
  ['projW', 'attn.c_proj.weight'],
  ['projB', 'attn.c_proj.bias'],
  ['ln2w', 'ln_2.weight'],
  ['ln2b', 'ln_2.bias'],
  ['fcW', 'mlp.c_fc.weight'],
  ['fcB', 'mlp.c_fc.bias'],
  ['mlpW', 'mlp.c_proj.weight'],
  ['mlpB', 'mlp.c_proj.bias'],
];

/** GPT-2 initialisation of one weight (Radford et al. 2019; nanoGPT): see GPT.create. */
function initTensor(name: string, shape: number[], c: GPTConfig, seed: number): tf.Tensor {
  if (/\.ln_(1|2|f)\.weight$/.test(name)) return tf.ones(shape);
  if (name.endsWith('.bias')) return tf.zeros(shape);
  // Residual output projections: std 0.02/√(2·n_layer), two residual adds per block.
  const std = /\.c_proj\.weight$/.test(name) ? 0.02 / Math.sqrt(2 * c.nLayer) : 0.02;
  return tf.tensor(normalArray(shape.reduce((a, b) => a * b, 1), std, seed), shape, 'float32');
}

/**
 * n draws from N(0, std²): Box–Muller on the seeded mulberry32 stream of @gptlab/tensor's Rng, both outputs of
 * each pair used. Same seed → same values on every platform; ~100× faster than tf.randomNormal (GPT-2 small's
 * 124M weights in seconds).
 */
export function normalArray(n: number, std: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  const rng = new Rng(seed);
  for (let i = 0; i < n; i += 2) {
    let u = rng.next();
    while (u === 0) u = rng.next();
    const r = std * Math.sqrt(-2 * Math.log(u));
    const a = 2 * Math.PI * rng.next();
    out[i] = r * Math.cos(a);
    if (i + 1 < n) out[i + 1] = r * Math.sin(a);
  }
  return out;
}

let nextModelId = 0;

// ---------------------------------------------------------------------------------------------------------
// KV cache
// ---------------------------------------------------------------------------------------------------------

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
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`createCache: batchSize must be a positive integer, got ${batchSize}`);
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

// ---------------------------------------------------------------------------------------------------------
// the model
// ---------------------------------------------------------------------------------------------------------

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
}

export interface ForwardResult {
  logits: tf.Tensor3D;
  hidden?: tf.Tensor3D;
  attention?: tf.Tensor3D;
}

export interface SaveOptions {
  /** Extra `__metadata__` entries of model.safetensors (string values). */
  metadata?: Record<string, string>;
  /** More tensors to store next to the weights (e.g. a task head: 'task_head.weight'). */
  extraTensors?: Record<string, tf.Tensor>;
  /** Storage type of the floating-point tensors (default F32). */
  dtype?: 'F32' | 'F16' | 'BF16';
  /** Writes the tokenizer files too (vocab.json + merges.txt), e.g. a BPETokenizer from @gptlab/tokenizer. */
  tokenizer?: { saveGPT2Files(dir: string): unknown };
}

/** Names of Hugging Face checkpoints' non-weight buffers (attention masks), skipped when loading. */
const HF_BUFFER = /^(transformer\.)?h\.\d+\.attn\.(bias|masked_bias)$/;

export class GPT {
  readonly config: GPTConfig;
  /** Tensors of the checkpoint that are not model weights (e.g. a task head), owned by the model. */
  readonly extraTensors = new Map<string, tf.Tensor>();
  private readonly id: number;
  private readonly weights = new Map<string, tf.Variable>();
  private wte!: tf.Variable;
  private wpe!: tf.Variable;
  private blocks: Block[] = [];
  private lnf: [tf.Variable, tf.Variable] | null = null;
  private patterns: (AttentionPattern | null)[];
  private seedRng: Rng;
  private disposed = false;

  private constructor(config: GPTConfig, tensors: Map<string, tf.Tensor>) {
    this.config = validateConfig({ ...config, attention: config.attention?.map((p) => ({ ...p })) });
    if (this.config.attention === undefined) delete this.config.attention;
    this.id = nextModelId++;
    this.seedRng = new Rng(0x5eed ^ this.id);
    for (const [name] of weightShapes(this.config)) {
      const t = tensors.get(name)!;
      this.weights.set(name, tf.variable(t, true, `gpt${this.id}/${name}`));
    }
    this.patterns = (this.config.attention ?? []).map((p) => (p.type === 'dense' ? null : p));
    this.bind();
  }

  private bind(): void {
    const w = (n: string) => this.weights.get(n)!;
    this.wte = w('transformer.wte.weight');
    this.wpe = w('transformer.wpe.weight');
    this.blocks = [];
    for (let i = 0; i < this.config.nLayer; i++) {
      const b = {} as Block;
      for (const [k, n] of BLOCK_KEYS) b[k] = w(`transformer.h.${i}.${n}`);
      this.blocks.push(b);
    }
    this.lnf = this.config.postLN ? null : [w('transformer.ln_f.weight'), w('transformer.ln_f.bias')];
  }

  /**
   * A randomly initialised model (GPT-2 initialisation): weights N(0, 0.02), the residual output projections
   * (attn.c_proj, mlp.c_proj) N(0, 0.02/√(2·nLayer)), biases 0, LayerNorm γ = 1, β = 0. Same seed → same weights.
   */
  static create(config: GPTConfig, opts: { seed?: number } = {}): GPT {
    validateConfig(config);
    const seed = opts.seed ?? 0;
    const tensors = new Map<string, tf.Tensor>();
    weightShapes(config).forEach(([name, shape], i) => tensors.set(name, initTensor(name, shape, config, mixSeed(seed * 7919 + i))));
    try {
      return new GPT(config, tensors);
    } finally {
      tf.dispose([...tensors.values()]);
    }
  }

  /**
   * Loads config.json (Hugging Face GPT2Config keys) and model.safetensors (GPT-2 names, with or without the
   * "transformer." prefix; F32, F16, BF16 or F64) from `dir`: a local copy of Hugging Face GPT-2 loads as is.
   */
  static async fromPretrained(dir: string): Promise<GPT> {
    const cfgFile = path.join(dir, 'config.json');
    let text: string;
    try {
      text = await fsp.readFile(cfgFile, 'utf8');
    } catch (e) {
      throw new Error(`${cfgFile}: cannot read the model config (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
    let json: Record<string, unknown>;
    try {
      json = JSON.parse(text) as Record<string, unknown>;
    } catch (e) {
      throw new Error(`${cfgFile}: invalid JSON: ${(e as Error).message}`);
    }
    const config = fromHFConfig(json, cfgFile);
    const file = path.join(dir, 'model.safetensors');
    try {
      await fsp.access(file);
    } catch {
      const hasBin = await fsp.access(path.join(dir, 'pytorch_model.bin')).then(() => true, () => false);
      throw new Error(`${file}: not found${hasBin ? ' (pytorch_model.bin is not supported: convert it to safetensors)' : ''}`);
    }
    const st = await readSafetensors(file, { filter: (name) => !HF_BUFFER.test(name) });
    const expected = weightShapes(config);
    const known = new Set(expected.map(([n]) => n));
    const byName = new Map<string, (typeof st.tensors extends Map<string, infer T> ? T : never)>();
    for (const [name, t] of st.tensors) {
      const canonical = !name.startsWith('transformer.') && known.has('transformer.' + name) ? 'transformer.' + name : name;
      if (byName.has(canonical)) throw new Error(`${file}: tensor '${canonical}' is stored twice (with and without the 'transformer.' prefix)`);
      byName.set(canonical, t);
    }
    const shapeDesc = `n_layer=${config.nLayer}, n_embd=${config.nEmbd}, vocab_size=${config.vocabSize}, n_positions=${config.nPositions}`;
    const tensors = new Map<string, tf.Tensor>();
    const extras = new Map<string, tf.Tensor>();
    try {
      for (const [name, shape] of expected) {
        const t = byName.get(name);
        if (!t) throw new Error(`${file}: missing tensor '${name}' (expected by ${cfgFile}: ${shapeDesc})`);
        if (t.dtype !== 'F32' && t.dtype !== 'F16' && t.dtype !== 'BF16' && t.dtype !== 'F64') {
          throw new Error(`${file}: tensor '${name}' has dtype ${t.dtype}; weights must be F32, F16, BF16 or F64`);
        }
        if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
          throw new Error(`${file}: tensor '${name}' has shape [${t.shape}], expected [${shape}] (from ${cfgFile}: ${shapeDesc})`);
        }
        const data = t.data instanceof Float32Array ? t.data : Float32Array.from(t.data as Float64Array);
        tensors.set(name, tf.tensor(data, shape, 'float32'));
      }
      const lm = byName.get('lm_head.weight');
      if (lm && (lm.shape.length !== 2 || lm.shape[0] !== config.vocabSize || lm.shape[1] !== config.nEmbd)) {
        throw new Error(`${file}: tensor 'lm_head.weight' has shape [${lm.shape}], expected [${config.vocabSize},${config.nEmbd}] (tied to wte)`);
      }
      for (const [name, t] of byName) {
        if (known.has(name) || name === 'lm_head.weight') continue;
        extras.set(name, toTfTensor(t.data, t.shape, name, file));
      }
      const model = new GPT(config, tensors);
      for (const [n, t] of extras) model.extraTensors.set(n, t);
      return model;
    } catch (e) {
      tf.dispose([...extras.values()]);
      throw e;
    } finally {
      tf.dispose([...tensors.values()]);
    }
  }

  /**
   * Writes config.json and model.safetensors (Hugging Face GPT-2 layout, tied lm_head omitted) into `dir`,
   * each through a temporary file and a rename; tokenizer files too when `opts.tokenizer` is given.
   */
  async save(dir: string, opts: SaveOptions = {}): Promise<void> {
    this.check('save');
    await fsp.mkdir(dir, { recursive: true });
    const dtype = opts.dtype ?? 'F32';
    if (!['F32', 'F16', 'BF16'].includes(dtype)) throw new Error(`save: dtype must be F32, F16 or BF16, got ${dtype}`);
    const tensors: Record<string, SafetensorsInput> = {};
    for (const [name, v] of this.weights) tensors[name] = { dtype, shape: v.shape, data: (await v.data()) as Float32Array };
    const extra = new Map<string, tf.Tensor>(this.extraTensors);
    for (const [name, t] of Object.entries(opts.extraTensors ?? {})) extra.set(name, t);
    for (const [name, t] of extra) {
      if (this.weights.has(name)) throw new Error(`save: extra tensor '${name}' has the name of a model weight`);
      if (!(t instanceof tf.Tensor) || t.isDisposed) throw new Error(`save: extra tensor '${name}' is not a live tensor`);
      const data = await t.data();
      if (t.dtype === 'float32') tensors[name] = { dtype, shape: t.shape, data: data as Float32Array };
      else if (t.dtype === 'int32') tensors[name] = { dtype: 'I32', shape: t.shape, data: data as Int32Array };
      else if (t.dtype === 'bool') tensors[name] = { dtype: 'U8', shape: t.shape, data: Uint8Array.from(data as Uint8Array) };
      else throw new Error(`save: extra tensor '${name}' has dtype ${t.dtype} (float32, int32 or bool)`);
    }
    const metadata = { format: 'pt', generator: '@gptlab/model', ...(opts.metadata ?? {}) };
    await writeSafetensors(path.join(dir, 'model.safetensors'), tensors, metadata);
    const cfgFile = path.join(dir, 'config.json');
    const tmp = tempPath(cfgFile);
    await fsp.writeFile(tmp, JSON.stringify(toHFConfig(this.config), null, 2) + '\n');
    await fsp.rename(tmp, cfgFile);
    if (opts.tokenizer) await opts.tokenizer.saveGPT2Files(dir);
  }

  /** The weights by Hugging Face name, in checkpoint order. */
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
    return new KVCache(this.id, this.config.nLayer, batchSize);
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
    const old = this.wte;
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
    this.wte = v;
    this.config.vocabSize = newVocabSize;
  }

  dispose(): void {
    if (this.disposed) return;
    for (const v of this.weights.values()) v.dispose();
    for (const t of this.extraTensors.values()) t.dispose();
    this.extraTensors.clear();
    this.disposed = true;
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  /** Mean next-token cross-entropy of `ids` against `targets` (same shape; IGNORE_INDEX entries skipped). */
  loss(ids: tf.Tensor2D, targets: tf.Tensor2D, opts: { training?: boolean; seed?: number } = {}): tf.Scalar {
    if (!(targets instanceof tf.Tensor) || targets.rank !== 2 || targets.shape[0] !== ids.shape[0] || targets.shape[1] !== ids.shape[1]) {
      throw new Error(`loss: targets shape [${targets?.shape}] must equal ids shape [${ids?.shape}]`);
    }
    return tf.tidy(() => crossEntropy(this.forward(ids, { training: opts.training, seed: opts.seed }).logits, targets));
  }

  /** Logits [B, T, V] for int32 ids [B, T] (and optionally hidden states and one head's attention). */
  forward(ids: tf.Tensor2D, opts: ForwardOptions = {}): ForwardResult {
    this.check('forward');
    const c = this.config;
    if (!(ids instanceof tf.Tensor) || ids.rank !== 2) throw new Error(`forward: ids must be a rank-2 tensor [batch, time], got shape [${(ids as tf.Tensor)?.shape}]`);
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
    if (past + T > c.nPositions) {
      throw new Error(`forward: ${past > 0 ? `${past} cached + ${T} new` : T} positions exceed the context length nPositions = ${c.nPositions}`);
    }
    const idv = ids.dataSync();
    for (let i = 0; i < idv.length; i++) {
      const t = idv[i]!;
      if (!(t >= 0 && t < c.vocabSize)) {
        throw new Error(`forward: token id ${t} at [${Math.floor(i / T)}, ${i % T}] is outside the vocabulary [0, ${c.vocabSize})`);
      }
    }
    const probsReq = opts.attentionProbs;
    if (probsReq) {
      const { layer, head } = probsReq;
      if (!Number.isInteger(layer) || layer < 0 || layer >= c.nLayer) throw new Error(`forward: attentionProbs.layer ${layer} is outside [0, ${c.nLayer})`);
      if (!Number.isInteger(head) || head < 0 || head >= c.nHead) throw new Error(`forward: attentionProbs.head ${head} is outside [0, ${c.nHead})`);
    }
    const training = opts.training === true;
    const rng = training ? new Rng(opts.seed ?? this.seedRng.seed()) : null;
    const drop = (x: tf.Tensor, rate: number) => (rng && rate > 0 ? dropout(x, rate, rng.seed()) : x);

    const H = c.nHead;
    const C = c.nEmbd;
    const D = C / H;
    const Tk = past + T;
    const scale = 1 / Math.sqrt(D);
    const newKV: tf.Tensor4D[] = [];
    let attention: tf.Tensor3D | undefined;

    const attend = (x: tf.Tensor, l: number, w: Block): tf.Tensor => {
      const qkv = linear(x, w.attnW as tf.Tensor2D, w.attnB as tf.Tensor1D);
      // [B, T, 3C] → [B, 3H, T, D]: q heads, then k heads, then v heads.
      const r = tf.transpose(tf.reshape(qkv, [B, T, 3 * H, D]), [0, 2, 1, 3]);
      const q = tf.slice(r, [0, 0, 0, 0], [B, H, T, D]) as tf.Tensor4D;
      let k = tf.slice(r, [0, H, 0, 0], [B, H, T, D]) as tf.Tensor4D;
      let v = tf.slice(r, [0, 2 * H, 0, 0], [B, H, T, D]) as tf.Tensor4D;
      if (cache) {
        const [pk, pv] = cache.layer(l);
        if (pk && pv) {
          k = tf.concat([pk, k], 2) as tf.Tensor4D;
          v = tf.concat([pv, v], 2) as tf.Tensor4D;
        }
        newKV.push(tf.keep(k), tf.keep(v));
      }
      const pattern = this.patterns[l] ?? null;
      const wantProbs = probsReq !== undefined && probsReq.layer === l;
      let y: tf.Tensor;
      if (pattern && past === 0 && !wantProbs && !(rng && c.attnDropout > 0)) {
        // Sparse layer over a whole sequence: block-sparse kernel, cost grows with the kept blocks.
        y = blockSparseAttention(q, k, v, pattern, { scale });
      } else {
        let s = batchMatMul(tf.mul(q, scale), k, false, true); // [B, H, T, Tk]
        const mask = attentionMask(pattern, T, Tk, past);
        if (mask) s = tf.add(s, mask);
        let p = tf.softmax(s);
        if (wantProbs) {
          attention = tf.reshape(tf.slice(p, [0, probsReq!.head, 0, 0], [B, 1, T, Tk]), [B, T, Tk]) as tf.Tensor3D;
        }
        p = drop(p, c.attnDropout);
        y = batchMatMul(p, v);
      }
      const merged = tf.reshape(tf.transpose(y, [0, 2, 1, 3]), [B, T, C]);
      return linear(merged, w.projW as tf.Tensor2D, w.projB as tf.Tensor1D);
    };

    const mlp = (x: tf.Tensor, w: Block): tf.Tensor =>
      linear(gelu(linear(x, w.fcW as tf.Tensor2D, w.fcB as tf.Tensor1D)), w.mlpW as tf.Tensor2D, w.mlpB as tf.Tensor1D);

    let result: ForwardResult;
    try {
      result = tf.tidy(() => {
        const eps = c.layerNormEpsilon;
        let x = tf.add(tf.gather(this.wte, ids), tf.slice(this.wpe, [past, 0], [T, C]));
        x = drop(x, c.embdDropout);
        this.blocks.forEach((w, l) => {
          if (c.postLN) {
            x = layerNorm(tf.add(x, drop(attend(x, l, w), c.residDropout)), w.ln1w, w.ln1b, eps);
            x = layerNorm(tf.add(x, drop(mlp(x, w), c.residDropout)), w.ln2w, w.ln2b, eps);
          } else {
            x = tf.add(x, drop(attend(layerNorm(x, w.ln1w, w.ln1b, eps), l, w), c.residDropout));
            x = tf.add(x, drop(mlp(layerNorm(x, w.ln2w, w.ln2b, eps), w), c.residDropout));
          }
        });
        if (this.lnf) x = layerNorm(x, this.lnf[0], this.lnf[1], eps);
        const out: ForwardResult = { logits: this.lmHead(x, B, T) };
        if (opts.outputHidden) out.hidden = x as tf.Tensor3D;
        if (attention) out.attention = attention;
        return out as unknown as tf.TensorContainerObject;
      }) as unknown as ForwardResult;
    } catch (e) {
      tf.dispose(newKV);
      throw e;
    }
    if (cache) cache.commit(newKV, Tk, B);
    return result;
  }

  /** logits = h · wteᵀ (the LM head tied to the token embedding). */
  private lmHead(h: tf.Tensor, B: number, T: number): tf.Tensor3D {
    const C = this.config.nEmbd;
    const V = this.wte.shape[0]!;
    const h2 = tf.reshape(h, [B * T, C]) as tf.Tensor2D;
    let logits: tf.Tensor2D;
    if (matMulStrategy() === 'explicit-transpose' && B * T * (C + V) < V * C) {
      // Plain wasm transposes operands explicitly; for a few rows (generation) transposing h and the logits is
      // far cheaper than transposing the whole embedding: (wte · hᵀ)ᵀ.
      logits = tf.transpose(matMul2d(this.wte as tf.Tensor2D, tf.transpose(h2) as tf.Tensor2D));
    } else {
      logits = matMul2d(h2, this.wte as tf.Tensor2D, false, true);
    }
    return tf.reshape(logits, [B, T, V]) as tf.Tensor3D;
  }

  private check(op: string): void {
    if (this.disposed) throw new Error(`GPT.${op}: the model was disposed`);
  }
}

/** Additive attention mask [Tq, Tk] for queries at positions past..past+Tq−1, or null when nothing is masked. */
function attentionMask(pattern: AttentionPattern | null, tq: number, tk: number, past: number): tf.Tensor | null {
  if (!pattern) {
    if (tq === 1) return null; // one new query sees every cached key
    if (past === 0) return causalMask(tq);
    const bias = new Float32Array(tq * tk);
    for (let r = 0; r < tq; r++) bias.fill(MASK_VALUE, r * tk + past + r + 1, (r + 1) * tk);
    return tf.tensor2d(bias, [tq, tk]);
  }
  const m = elementMask(pattern, tq, tk, past);
  const bias = new Float32Array(tq * tk);
  for (let i = 0; i < bias.length; i++) if (!m[i]) bias[i] = MASK_VALUE;
  return tf.tensor2d(bias, [tq, tk]);
}

function toTfTensor(data: unknown, shape: number[], name: string, file: string): tf.Tensor {
  if (data instanceof Float32Array) return tf.tensor(data, shape, 'float32');
  if (data instanceof Float64Array) return tf.tensor(Float32Array.from(data), shape, 'float32');
  if (data instanceof Int32Array) return tf.tensor(data, shape, 'int32');
  if (data instanceof Uint8Array || data instanceof Int8Array || data instanceof Int16Array || data instanceof Uint16Array) {
    return tf.tensor(Int32Array.from(data), shape, 'int32');
  }
  if (data instanceof BigInt64Array) {
    const out = new Int32Array(data.length);
    for (let i = 0; i < data.length; i++) {
      const v = data[i]!;
      if (v > 2147483647n || v < -2147483648n) throw new Error(`${file}: tensor '${name}' has I64 values outside the int32 range`);
      out[i] = Number(v);
    }
    return tf.tensor(out, shape, 'int32');
  }
  throw new Error(`${file}: tensor '${name}' has a dtype that cannot become a tfjs tensor`);
}
