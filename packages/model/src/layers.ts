// The one table of a GPT's parameters: every weight's Hugging Face name, shape and initialisation, in checkpoint
// order. Creating a model, initialising it, naming its tensors in checkpoints (GPT-2 and openai-gpt) and counting
// its parameters all read this table; the block code reaches its weights by the same names (w.attn.c_attn.weight).
//
// Dense layers are Hugging Face Conv1D: y = x·W + b with W stored [in, out].
import { tf, linear, Rng, mixSeed } from '@gptlab/tensor';
import type { GPTConfig } from './config';

/**
 * How a weight starts (GPT-2: Radford et al. 2019, nanoGPT; GPT-1: Radford et al. 2018, "N(0, 0.02) was
 * sufficient" since LayerNorm follows every residual add).
 * - normal:   N(0, 0.02)
 * - residual: the output projections into the residual stream; GPT-2 scales them to N(0, 0.02/√(2·nLayer))
 *             (two residual adds per block), GPT-1 (post-LN) keeps N(0, 0.02)
 * - ones / zeros: LayerNorm gains, biases
 */
export type Init = 'normal' | 'residual' | 'ones' | 'zeros';

/** One parameter of the table; shapes are given as functions of the config. */
interface ParamSpec {
  /** Name under `transformer.` (top level) or `transformer.h.{i}.` (in a block), as Hugging Face GPT-2 spells it. */
  name: string;
  /** The name in Hugging Face openai-gpt checkpoints, where it differs. */
  openaiName?: string;
  shape: (c: GPTConfig) => number[];
  init: Init;
}

const STD = 0.02;

const EMBEDDINGS: readonly ParamSpec[] = [
  { name: 'wte.weight', openaiName: 'tokens_embed.weight', shape: (c) => [c.vocabSize, c.nEmbd], init: 'normal' },
  { name: 'wpe.weight', openaiName: 'positions_embed.weight', shape: (c) => [c.nPositions, c.nEmbd], init: 'normal' },
];

const BLOCK: readonly ParamSpec[] = [
  { name: 'ln_1.weight', shape: (c) => [c.nEmbd], init: 'ones' },
  { name: 'ln_1.bias', shape: (c) => [c.nEmbd], init: 'zeros' },
  { name: 'attn.c_attn.weight', shape: (c) => [c.nEmbd, 3 * c.nEmbd], init: 'normal' },
  { name: 'attn.c_attn.bias', shape: (c) => [3 * c.nEmbd], init: 'zeros' },
  { name: 'attn.c_proj.weight', shape: (c) => [c.nEmbd, c.nEmbd], init: 'residual' },
  { name: 'attn.c_proj.bias', shape: (c) => [c.nEmbd], init: 'zeros' },
  { name: 'ln_2.weight', shape: (c) => [c.nEmbd], init: 'ones' },
  { name: 'ln_2.bias', shape: (c) => [c.nEmbd], init: 'zeros' },
  { name: 'mlp.c_fc.weight', shape: (c) => [c.nEmbd, 4 * c.nEmbd], init: 'normal' },
  { name: 'mlp.c_fc.bias', shape: (c) => [4 * c.nEmbd], init: 'zeros' },
  { name: 'mlp.c_proj.weight', shape: (c) => [4 * c.nEmbd, c.nEmbd], init: 'residual' },
  { name: 'mlp.c_proj.bias', shape: (c) => [c.nEmbd], init: 'zeros' },
];

/** Pre-LN (GPT-2/3) only: the LayerNorm after the last block. */
const FINAL_LN: readonly ParamSpec[] = [
  { name: 'ln_f.weight', shape: (c) => [c.nEmbd], init: 'ones' },
  { name: 'ln_f.bias', shape: (c) => [c.nEmbd], init: 'zeros' },
];

/** A parameter of one config: full names, shape and the standard deviation of its initial values (0 for ones/zeros). */
export interface Param {
  /** Hugging Face GPT-2 name, e.g. `transformer.h.0.attn.c_attn.weight`: the model's own name for it. */
  name: string;
  /** Hugging Face openai-gpt (GPT-1) name, e.g. `transformer.tokens_embed.weight`. */
  openaiName: string;
  shape: number[];
  init: Init;
}

/** Every parameter of a config in checkpoint order: wte, wpe, then each block, then ln_f (pre-LN only). */
export function parameterTable(c: GPTConfig): Param[] {
  const at = (prefix: string, s: ParamSpec): Param => ({
    name: prefix + s.name,
    openaiName: prefix + (s.openaiName ?? s.name),
    shape: s.shape(c),
    init: s.init,
  });
  const out = EMBEDDINGS.map((s) => at('transformer.', s));
  for (let i = 0; i < c.nLayer; i++) out.push(...BLOCK.map((s) => at(`transformer.h.${i}.`, s)));
  if (!c.postLN) out.push(...FINAL_LN.map((s) => at('transformer.', s)));
  return out;
}

/** Every weight of a config with its Hugging Face GPT-2 name and shape, in checkpoint order. */
export function weightShapes(c: GPTConfig): [string, number[]][] {
  return parameterTable(c).map((p) => [p.name, p.shape]);
}

/** Trainable parameters, the tied LM head counted once. GPT-2 small: 124,439,808. */
export function countParameters(c: GPTConfig): number {
  let n = 0;
  for (const p of parameterTable(c)) n += p.shape.reduce((a, b) => a * b, 1);
  return n;
}

/** Standard deviation of a weight's initial values; GPT-1 (post-LN) does not scale the residual projections. */
export function initStd(init: Init, c: GPTConfig): number {
  if (init === 'normal') return STD;
  if (init === 'residual') return c.postLN ? STD : STD / Math.sqrt(2 * c.nLayer);
  return 0;
}

/** A parameter's initial value; `seed` draws the normal ones (same seed → same values). */
export function initialValue(p: Param, c: GPTConfig, seed: number): tf.Tensor {
  if (p.init === 'ones') return tf.ones(p.shape);
  if (p.init === 'zeros') return tf.zeros(p.shape);
  return tf.tensor(
    normalArray(
      p.shape.reduce((a, b) => a * b, 1),
      initStd(p.init, c),
      seed,
    ),
    p.shape,
    'float32',
  );
}

/** Seed of parameter i of a model created with `seed` (each weight draws from its own stream). */
export function parameterSeed(seed: number, i: number): number {
  return mixSeed(seed * 7919 + i);
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

// ---------------------------------------------------------------------------------------------------------
// the weights as the block code sees them: the table's names as paths (h.0.attn.c_proj.weight → attn.c_proj.weight)
// ---------------------------------------------------------------------------------------------------------

/** A Conv1D layer (W [in, out], b [out]) or a LayerNorm (γ, β). */
export interface Affine {
  weight: tf.Variable;
  bias: tf.Variable;
}

/** A Conv1D layer: x·W + b over the last axis. */
export function conv1d(x: tf.Tensor, layer: Affine): tf.Tensor {
  return linear(x, layer.weight as tf.Tensor2D, layer.bias as tf.Tensor1D);
}

export interface AttentionWeights {
  c_attn: Affine;
  c_proj: Affine;
}

export interface MLPWeights {
  c_fc: Affine;
  c_proj: Affine;
}

export interface BlockWeights {
  ln_1: Affine;
  attn: AttentionWeights;
  ln_2: Affine;
  mlp: MLPWeights;
}

export interface GPTWeights {
  wte: tf.Variable;
  wpe: tf.Variable;
  h: BlockWeights[];
  /** Pre-LN only. */
  ln_f: Affine | null;
}

/** The named variables arranged as the module tree their names spell (`transformer.h.0.ln_1.weight` → h[0].ln_1.weight). */
export function weightTree(c: GPTConfig, byName: ReadonlyMap<string, tf.Variable>): GPTWeights {
  const root: Record<string, unknown> = { h: Array.from({ length: c.nLayer }, () => ({})), ln_f: null };
  for (const { name } of parameterTable(c)) {
    const v = byName.get(name);
    if (!v) throw new Error(`weightTree: no variable '${name}'`);
    const path = name.slice('transformer.'.length).split('.');
    let node = root as Record<string, unknown>;
    for (const key of path.slice(0, -1)) node = (node[key] ??= {}) as Record<string, unknown>;
    node[path[path.length - 1]!] = v;
  }
  const tree = root as unknown as { wte: Affine; wpe: Affine; h: BlockWeights[]; ln_f: Affine | null };
  return { wte: tree.wte.weight, wpe: tree.wpe.weight, h: tree.h, ln_f: tree.ln_f };
}
