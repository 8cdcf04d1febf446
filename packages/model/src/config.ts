// Model configuration: a small typed object, presets for the published shapes, validation with messages that
// name the field, and the training FLOP count. Parameter names, shapes and counts live in layers.ts; the
// Hugging Face config.json mapping in hf-config.ts.
import { countParameters } from './layers';
import { validatePattern, type AttentionPattern } from './sparse';

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
  /**
   * GPT-1 blocks: LayerNorm after each residual add, no final LayerNorm, and GPT-1's initialisation (no scaled
   * residual projections). false = GPT-2/3 pre-LN + ln_f.
   */
  postLN: boolean;
  embdDropout: number;
  attnDropout: number;
  residDropout: number;
  /** One pattern per layer; undefined = every layer dense. */
  attention?: AttentionPattern[];
  /**
   * Id of the end-of-text token (config.json's eos_token_id), when known: kept from a loaded checkpoint, or taken
   * from the tokenizer's `<|endoftext|>` when saving with one. Not derived from the vocabulary size.
   */
  eosTokenId?: number;
}

/** A preset's shape with what every preset shares: tanh GELU, LayerNorm ε = 1e-5, one dropout rate everywhere. */
function shape(
  vocabSize: number,
  nPositions: number,
  nLayer: number,
  nEmbd: number,
  nHead: number,
  opts: { postLN?: boolean; dropout?: number } = {},
): GPTConfig {
  const p = opts.dropout ?? 0;
  return {
    vocabSize,
    nPositions,
    nEmbd,
    nLayer,
    nHead,
    layerNormEpsilon: 1e-5,
    activation: 'gelu_new',
    postLN: opts.postLN ?? false,
    embdDropout: p,
    attnDropout: p,
    residDropout: p,
  };
}

/** GPT-2 (Radford et al. 2019): vocabulary 50,257, context 1,024, pre-LN, dropout 0.1 (HF GPT2Config defaults). */
function gpt2(nLayer: number, nEmbd: number, nHead: number): GPTConfig {
  return shape(50257, 1024, nLayer, nEmbd, nHead, { dropout: 0.1 });
}

/** GPT-3's alternating dense and locally banded sparse layers (Brown et al. 2020, §2.1). */
export const GPT3_LOCAL_WINDOW = 256;

function gpt3(nLayer: number, nEmbd: number, nHead: number): GPTConfig {
  // GPT-3 (Brown et al. 2020, Table 2.1): context 2,048, same blocks as GPT-2, layers alternating dense and
  // locally banded sparse attention. The band width is not published; GPT3_LOCAL_WINDOW is our choice.
  // Dropout is not reported for GPT-3; 0 here (override for small-scale training).
  const attention: AttentionPattern[] = [];
  for (let i = 0; i < nLayer; i++) attention.push(i % 2 === 0 ? { type: 'dense' } : { type: 'local', window: GPT3_LOCAL_WINDOW });
  return { ...shape(50257, 2048, nLayer, nEmbd, nHead), attention };
}

export const PRESETS: Record<string, GPTConfig> = {
  // GPT-1 (Radford et al. 2018): 12 layers, 768 wide, 12 heads, context 512, post-LN, dropout 0.1.
  // Vocabulary: 40,000 BPE merges + 478 base symbols = 40,478 (the released openai-gpt tokenizer).
  gpt1: shape(40478, 512, 12, 768, 12, { postLN: true, dropout: 0.1 }),
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
  // Test shapes (the tiny fixture's shape; nano is the smallest useful model), no dropout.
  tiny: shape(512, 64, 2, 64, 4),
  nano: shape(128, 32, 2, 32, 2),
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
  if (typeof v !== 'number' || !(v >= 0 && v < 1))
    throw new Error(`config.${field} must be a dropout rate in [0, 1), got ${JSON.stringify(v)}`);
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
  const eos = c.eosTokenId;
  if (eos !== undefined && !(typeof eos === 'number' && Number.isInteger(eos) && eos >= 0 && eos < c.vocabSize)) {
    throw new Error(`config.eosTokenId must be a token id in [0, ${c.vocabSize}), got ${JSON.stringify(eos)}`);
  }
  return c;
}

/**
 * Training FLOPs per token (forward + backward) as the PyTorch peer and nanoGPT/PaLM count them:
 * 6·N + 12·L·C·T, with N the parameters without the position embeddings (T = sequence length).
 */
export function trainingFlopsPerToken(c: GPTConfig, seqLen: number): number {
  const n = countParameters(c) - c.nPositions * c.nEmbd;
  return 6 * n + 12 * c.nLayer * c.nEmbd * seqLen;
}
