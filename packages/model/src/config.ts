// Model configuration: a small typed object, presets for the published shapes, validation with messages that
// name the field, parameter and FLOP counts, and the mapping to/from Hugging Face GPT2Config (config.json).
import { parsePattern as parsePatternString, patternToString, validatePattern, type AttentionPattern } from './sparse';

export interface GPTConfig {
  vocabSize: number;
  /** Context length (number of learned position embeddings). */
  nPositions: number;
  nEmbd: number;
  nLayer: number;
  nHead: number;
  layerNormEpsilon: number;
  /** GELU, tanh approximation (GPT-2's "gelu_new"). */
  activation: 'gelu_new';
  /** GPT-1 blocks: LayerNorm after each residual add and no final LayerNorm. false = GPT-2/3 pre-LN + ln_f. */
  postLN: boolean;
  embdDropout: number;
  attnDropout: number;
  residDropout: number;
  /** One pattern per layer; undefined = every layer dense. */
  attention?: AttentionPattern[];
}

const GPT2_VOCAB = 50257;

function gpt2(nLayer: number, nEmbd: number, nHead: number): GPTConfig {
  // GPT-2 (Radford et al. 2019): vocabulary 50,257, context 1,024, pre-LN, dropout 0.1 (HF GPT2Config defaults).
  return {
    vocabSize: GPT2_VOCAB,
    nPositions: 1024,
    nEmbd,
    nLayer,
    nHead,
    layerNormEpsilon: 1e-5,
    activation: 'gelu_new',
    postLN: false,
    embdDropout: 0.1,
    attnDropout: 0.1,
    residDropout: 0.1,
  };
}

/** GPT-3's alternating dense and locally banded sparse layers (Brown et al. 2020, §2.1). */
export const GPT3_LOCAL_WINDOW = 256;

function gpt3(nLayer: number, nEmbd: number, nHead: number): GPTConfig {
  // GPT-3 (Brown et al. 2020, Table 2.1): context 2,048, same blocks as GPT-2, layers alternating dense and
  // locally banded sparse attention. The band width is not published; GPT3_LOCAL_WINDOW is our choice.
  // Dropout is not reported for GPT-3; 0 here (override for small-scale training).
  const attention: AttentionPattern[] = [];
  for (let i = 0; i < nLayer; i++) attention.push(i % 2 === 0 ? { type: 'dense' } : { type: 'local', window: GPT3_LOCAL_WINDOW });
  return { ...gpt2(nLayer, nEmbd, nHead), nPositions: 2048, embdDropout: 0, attnDropout: 0, residDropout: 0, attention };
}

export const PRESETS: Record<string, GPTConfig> = {
  // GPT-1 (Radford et al. 2018): 12 layers, 768 wide, 12 heads, context 512, post-LN, dropout 0.1.
  // Vocabulary: 40,000 BPE merges + 478 base symbols = 40,478 (the released openai-gpt tokenizer).
  gpt1: {
    vocabSize: 40478,
    nPositions: 512,
    nEmbd: 768,
    nLayer: 12,
    nHead: 12,
    layerNormEpsilon: 1e-5,
    activation: 'gelu_new',
    postLN: true,
    embdDropout: 0.1,
    attnDropout: 0.1,
    residDropout: 0.1,
  },
  'gpt2-small': gpt2(12, 768, 12),
  'gpt2-medium': gpt2(24, 1024, 16),
  'gpt2-large': gpt2(36, 1280, 20),
  'gpt2-xl': gpt2(48, 1600, 25),
  'gpt3-small': gpt3(12, 768, 12),
  'gpt3-medium': gpt3(24, 1024, 16),
  'gpt3-large': gpt3(24, 1536, 16),
  // Table 2.1 lists 24 heads of size 128 for a width of 2,048, which do not multiply out; we keep the head
  // size 128 (16 heads).
  'gpt3-xl': gpt3(24, 2048, 16),
  'gpt3-2.7b': gpt3(32, 2560, 32),
  'gpt3-6.7b': gpt3(32, 4096, 32),
  // Table 2.1 lists a width of 5,140 with 40 heads of 128; 40 × 128 = 5,120.
  'gpt3-13b': gpt3(40, 5120, 40),
  'gpt3-175b': gpt3(96, 12288, 96),
  // Test shapes (the tiny fixture's shape; nano is the smallest useful model).
  tiny: {
    vocabSize: 512,
    nPositions: 64,
    nEmbd: 64,
    nLayer: 2,
    nHead: 4,
    layerNormEpsilon: 1e-5,
    activation: 'gelu_new',
    postLN: false,
    embdDropout: 0,
    attnDropout: 0,
    residDropout: 0,
  },
  nano: {
    vocabSize: 128,
    nPositions: 32,
    nEmbd: 32,
    nLayer: 2,
    nHead: 2,
    layerNormEpsilon: 1e-5,
    activation: 'gelu_new',
    postLN: false,
    embdDropout: 0,
    attnDropout: 0,
    residDropout: 0,
  },
};

function cloneConfig(c: GPTConfig): GPTConfig {
  const out: GPTConfig = { ...c };
  if (c.attention) out.attention = c.attention.map((p) => ({ ...p }));
  else delete out.attention;
  return out;
}

/** A preset by name, with overrides applied and validated. */
export function getPreset(name: string, overrides: Partial<GPTConfig> = {}): GPTConfig {
  const base = Object.prototype.hasOwnProperty.call(PRESETS, name) ? PRESETS[name] : undefined;
  if (!base) throw new Error(`unknown model preset '${name}'; presets: ${Object.keys(PRESETS).join(', ')}`);
  const c = cloneConfig({ ...base, ...overrides } as GPTConfig);
  // A preset's per-layer attention list follows nLayer when only the depth is overridden.
  if (overrides.nLayer !== undefined && overrides.attention === undefined && base.attention) {
    c.attention = Array.from({ length: c.nLayer }, (_, i) => ({ ...base.attention![i % base.attention!.length]! }));
  }
  return validateConfig(c);
}

function positiveInt(c: GPTConfig, field: keyof GPTConfig): void {
  const v = c[field];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) {
    throw new Error(`config.${field} must be a positive integer, got ${JSON.stringify(v)}`);
  }
}

function rate(c: GPTConfig, field: keyof GPTConfig): void {
  const v = c[field];
  if (typeof v !== 'number' || !(v >= 0 && v < 1)) throw new Error(`config.${field} must be a dropout rate in [0, 1), got ${JSON.stringify(v)}`);
}

/** Checks a config; returns it unchanged or throws an error naming the field. */
export function validateConfig(c: GPTConfig): GPTConfig {
  if (c === null || typeof c !== 'object') throw new Error(`config must be an object, got ${JSON.stringify(c)}`);
  for (const f of ['vocabSize', 'nPositions', 'nEmbd', 'nLayer', 'nHead'] as const) positiveInt(c, f);
  if (c.nEmbd % c.nHead !== 0) {
    throw new Error(`config.nHead (${c.nHead}) must divide config.nEmbd (${c.nEmbd}): the width is split evenly across heads`);
  }
  if (typeof c.layerNormEpsilon !== 'number' || !(c.layerNormEpsilon > 0)) {
    throw new Error(`config.layerNormEpsilon must be a positive number, got ${JSON.stringify(c.layerNormEpsilon)}`);
  }
  if (c.activation !== 'gelu_new') throw new Error(`config.activation must be 'gelu_new', got ${JSON.stringify(c.activation)}`);
  if (typeof c.postLN !== 'boolean') throw new Error(`config.postLN must be a boolean, got ${JSON.stringify(c.postLN)}`);
  for (const f of ['embdDropout', 'attnDropout', 'residDropout'] as const) rate(c, f);
  if (c.attention !== undefined) {
    if (!Array.isArray(c.attention) || c.attention.length !== c.nLayer) {
      throw new Error(
        `config.attention must list one pattern per layer (${c.nLayer}), got ${Array.isArray(c.attention) ? c.attention.length : JSON.stringify(c.attention)}`,
      );
    }
    c.attention.forEach((p, i) => validatePattern(p, `config.attention[${i}]`));
  }
  return c;
}

/** Trainable parameters, the tied LM head counted once. GPT-2 small: 124,439,808. */
export function countParameters(c: GPTConfig): number {
  const { vocabSize: V, nPositions: P, nEmbd: C, nLayer: L } = c;
  // Per block: c_attn C·3C + 3C, c_proj C·C + C, c_fc C·4C + 4C, mlp.c_proj 4C·C + C, two LayerNorms 4C.
  const block = 12 * C * C + 13 * C;
  return V * C + P * C + L * block + (c.postLN ? 0 : 2 * C);
}

/**
 * Training FLOPs per token (forward + backward) as the PyTorch peer and nanoGPT/PaLM count them:
 * 6·N + 12·L·C·T, with N the parameters without the position embeddings (T = sequence length).
 */
export function trainingFlopsPerToken(c: GPTConfig, seqLen: number): number {
  const n = countParameters(c) - c.nPositions * c.nEmbd;
  return 6 * n + 12 * c.nLayer * c.nEmbd * seqLen;
}

// ---------------------------------------------------------------------------------------------------------
// Hugging Face config.json
// ---------------------------------------------------------------------------------------------------------

/** config.json with Hugging Face GPT2Config keys; GPT-1 post-LN and sparse layers as extra keys. */
export function toHFConfig(c: GPTConfig): Record<string, unknown> {
  const out: Record<string, unknown> = {
    architectures: ['GPT2LMHeadModel'],
    model_type: 'gpt2',
    vocab_size: c.vocabSize,
    n_positions: c.nPositions,
    n_ctx: c.nPositions,
    n_embd: c.nEmbd,
    n_layer: c.nLayer,
    n_head: c.nHead,
    n_inner: null,
    activation_function: c.activation,
    layer_norm_epsilon: c.layerNormEpsilon,
    resid_pdrop: c.residDropout,
    embd_pdrop: c.embdDropout,
    attn_pdrop: c.attnDropout,
    initializer_range: 0.02,
    scale_attn_weights: true,
    scale_attn_by_inverse_layer_idx: false,
    reorder_and_upcast_attn: false,
    tie_word_embeddings: true,
    use_cache: true,
    bos_token_id: c.vocabSize - 1 < 50256 ? c.vocabSize - 1 : 50256,
    eos_token_id: c.vocabSize - 1 < 50256 ? c.vocabSize - 1 : 50256,
    torch_dtype: 'float32',
  };
  if (c.postLN) out.post_ln = true;
  if (c.attention && c.attention.some((p) => p.type !== 'dense')) out.attention_layers = c.attention.map((p) => patternToString(p));
  return out;
}

/** Reads a Hugging Face GPT2Config object (as in config.json); `file` names the source in errors. */
export function fromHFConfig(d: Record<string, unknown>, file = 'config.json'): GPTConfig {
  const fail = (msg: string): never => {
    throw new Error(`${file}: ${msg}`);
  };
  if (d === null || typeof d !== 'object' || Array.isArray(d)) fail('expected a JSON object');
  if (d.model_type !== undefined && d.model_type !== 'gpt2') {
    fail(`model_type ${JSON.stringify(d.model_type)} is not supported (expected "gpt2")`);
  }
  const int = (key: string, alt?: string): number => {
    const v = d[key] ?? (alt ? d[alt] : undefined);
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) fail(`${key} must be a positive integer, got ${JSON.stringify(v)}`);
    return v as number;
  };
  const num = (key: string, dflt: number): number => {
    const v = d[key] ?? dflt;
    if (typeof v !== 'number' || !Number.isFinite(v)) fail(`${key} must be a number, got ${JSON.stringify(v)}`);
    return v as number;
  };
  const act = d.activation_function ?? 'gelu_new';
  if (act !== 'gelu_new' && act !== 'gelu_pytorch_tanh') {
    fail(`activation_function ${JSON.stringify(act)} is not supported (gelu_new or gelu_pytorch_tanh, the tanh GELU)`);
  }
  const nEmbd = int('n_embd');
  if (d.n_inner !== undefined && d.n_inner !== null && d.n_inner !== 4 * nEmbd) {
    fail(`n_inner ${JSON.stringify(d.n_inner)} is not supported (only 4 × n_embd = ${4 * nEmbd})`);
  }
  for (const flag of ['scale_attn_by_inverse_layer_idx', 'reorder_and_upcast_attn']) {
    if (d[flag] === true) fail(`${flag}: true is not supported`);
  }
  if (d.scale_attn_weights === false) fail('scale_attn_weights: false is not supported');
  if (d.tie_word_embeddings === false) fail('tie_word_embeddings: false is not supported (the LM head is tied to wte)');
  const c: GPTConfig = {
    vocabSize: int('vocab_size'),
    nPositions: int('n_positions', 'n_ctx'),
    nEmbd,
    nLayer: int('n_layer'),
    nHead: int('n_head'),
    layerNormEpsilon: num('layer_norm_epsilon', 1e-5),
    activation: 'gelu_new',
    postLN: d.post_ln === true,
    embdDropout: num('embd_pdrop', 0.1),
    attnDropout: num('attn_pdrop', 0.1),
    residDropout: num('resid_pdrop', 0.1),
  };
  if (d.post_ln !== undefined && typeof d.post_ln !== 'boolean') fail(`post_ln must be true or false, got ${JSON.stringify(d.post_ln)}`);
  if (d.attention_layers !== undefined && d.attention_layers !== null) {
    const list = d.attention_layers;
    if (!Array.isArray(list)) fail('attention_layers must be a list of patterns');
    c.attention = (list as unknown[]).map((p, i) => parseLayerPattern(p, `${file}: attention_layers[${i}]`));
  }
  try {
    return validateConfig(c);
  } catch (e) {
    throw new Error(`${file}: ${(e as Error).message}`);
  }
}

function parseLayerPattern(p: unknown, where: string): AttentionPattern {
  try {
    if (typeof p === 'string') return parsePatternString(p);
    return validatePattern(p as AttentionPattern, where);
  } catch (e) {
    const msg = (e as Error).message;
    throw new Error(msg.startsWith(where) ? msg : `${where}: ${msg}`);
  }
}
