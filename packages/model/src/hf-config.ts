// config.json as Hugging Face writes it, for the two architectures this package implements:
//   pre-LN (GPT-2/3)  → GPT2Config         (model_type "gpt2",       GPT2LMHeadModel)
//   post-LN (GPT-1)   → OpenAIGPTConfig    (model_type "openai-gpt", OpenAIGPTLMHeadModel)
// so Hugging Face loads either as the same model. A GPT-1 model written as "gpt2" would load there silently as a
// different (pre-LN) network. Our extension: sparse layers as "gptlab_attention_layers" (Hugging Face ignores the
// key and runs every layer dense). Older gptlab checkpoints ("gpt2" + "post_ln": true, "attention_layers") still load.
import { validateConfig, type GPTConfig } from './config';
import { parsePattern, patternToString, validatePattern, type AttentionPattern } from './sparse';

export type HFModelType = 'gpt2' | 'openai-gpt';

/** The Hugging Face architecture a config is saved as: post-LN blocks are GPT-1's (openai-gpt). */
export function hfModelType(c: GPTConfig): HFModelType {
  return c.postLN ? 'openai-gpt' : 'gpt2';
}

/** config.json for a config: Hugging Face GPT2Config or OpenAIGPTConfig keys, sparse layers as an extra key. */
export function toHFConfig(c: GPTConfig): Record<string, unknown> {
  const eos = c.eosTokenId ?? null;
  const common = {
    vocab_size: c.vocabSize,
    n_positions: c.nPositions,
    n_embd: c.nEmbd,
    n_layer: c.nLayer,
    n_head: c.nHead,
    layer_norm_epsilon: c.layerNormEpsilon,
    resid_pdrop: c.residDropout,
    embd_pdrop: c.embdDropout,
    attn_pdrop: c.attnDropout,
    initializer_range: 0.02,
    tie_word_embeddings: true,
  };
  const out: Record<string, unknown> =
    hfModelType(c) === 'openai-gpt'
      ? {
          architectures: ['OpenAIGPTLMHeadModel'],
          model_type: 'openai-gpt',
          ...common,
          // modeling_openai maps "gelu" to gelu_new, the tanh approximation GPT-1 used (ACT_FNS has no "gelu_new").
          afn: 'gelu',
          eos_token_id: eos,
        }
      : {
          architectures: ['GPT2LMHeadModel'],
          model_type: 'gpt2',
          ...common,
          n_ctx: c.nPositions,
          n_inner: null,
          activation_function: c.activation,
          scale_attn_weights: true,
          scale_attn_by_inverse_layer_idx: false,
          reorder_and_upcast_attn: false,
          use_cache: true,
          // GPT-2 starts and ends text with the same token, <|endoftext|>.
          bos_token_id: eos,
          eos_token_id: eos,
        };
  out.torch_dtype = 'float32';
  if (c.attention && c.attention.some((p) => p.type !== 'dense')) out.gptlab_attention_layers = c.attention.map((p) => patternToString(p));
  return out;
}

/** Reads a Hugging Face GPT2Config or OpenAIGPTConfig object (as in config.json); `file` names the source in errors. */
export function fromHFConfig(d: Record<string, unknown>, file = 'config.json'): GPTConfig {
  const fail = (msg: string): never => {
    throw new Error(`${file}: ${msg}`);
  };
  if (d === null || typeof d !== 'object' || Array.isArray(d)) fail('expected a JSON object');
  const type = d.model_type ?? 'gpt2';
  if (type !== 'gpt2' && type !== 'openai-gpt')
    fail(`model_type ${JSON.stringify(type)} is not supported (expected "gpt2" or "openai-gpt")`);
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
  const nEmbd = int('n_embd');
  let postLN: boolean;
  if (type === 'openai-gpt') {
    if (d.afn !== undefined && d.afn !== 'gelu' && d.afn !== 'gelu_new') {
      fail(`afn ${JSON.stringify(d.afn)} is not supported (gelu, which Hugging Face's openai-gpt runs as the tanh GELU)`);
    }
    if (d.post_ln === false) fail('post_ln: false contradicts model_type "openai-gpt" (GPT-1 blocks are post-LN)');
    postLN = true;
  } else {
    const act = d.activation_function ?? 'gelu_new';
    if (act !== 'gelu_new' && act !== 'gelu_pytorch_tanh') {
      fail(`activation_function ${JSON.stringify(act)} is not supported (gelu_new or gelu_pytorch_tanh, the tanh GELU)`);
    }
    if (d.n_inner !== undefined && d.n_inner !== null && d.n_inner !== 4 * nEmbd) {
      fail(`n_inner ${JSON.stringify(d.n_inner)} is not supported (only 4 × n_embd = ${4 * nEmbd})`);
    }
    for (const flag of ['scale_attn_by_inverse_layer_idx', 'reorder_and_upcast_attn']) {
      if (d[flag] === true) fail(`${flag}: true is not supported`);
    }
    if (d.scale_attn_weights === false) fail('scale_attn_weights: false is not supported');
    if (d.post_ln !== undefined && typeof d.post_ln !== 'boolean') fail(`post_ln must be true or false, got ${JSON.stringify(d.post_ln)}`);
    postLN = d.post_ln === true; // gptlab checkpoints written before openai-gpt naming
  }
  if (d.tie_word_embeddings === false) fail('tie_word_embeddings: false is not supported (the LM head is tied to the token embedding)');
  const c: GPTConfig = {
    vocabSize: int('vocab_size'),
    nPositions: int('n_positions', 'n_ctx'),
    nEmbd,
    nLayer: int('n_layer'),
    nHead: int('n_head'),
    layerNormEpsilon: num('layer_norm_epsilon', 1e-5),
    activation: 'gelu_new',
    postLN,
    embdDropout: num('embd_pdrop', 0.1),
    attnDropout: num('attn_pdrop', 0.1),
    residDropout: num('resid_pdrop', 0.1),
  };
  const layersKey = d.gptlab_attention_layers != null ? 'gptlab_attention_layers' : 'attention_layers';
  const layers = d[layersKey];
  if (layers !== undefined && layers !== null) {
    if (!Array.isArray(layers)) fail(`${layersKey} must be a list of patterns`);
    c.attention = (layers as unknown[]).map((p, i) => parseLayerPattern(p, `${file}: ${layersKey}[${i}]`));
  }
  // Kept when it names a token of this vocabulary: small checkpoints often carry GPT2Config's default 50256.
  const eos = d.eos_token_id;
  if (typeof eos === 'number' && Number.isInteger(eos) && eos >= 0 && eos < c.vocabSize) c.eosTokenId = eos;
  try {
    return validateConfig(c);
  } catch (e) {
    throw new Error(`${file}: ${(e as Error).message}`);
  }
}

function parseLayerPattern(p: unknown, where: string): AttentionPattern {
  try {
    if (typeof p === 'string') return parsePattern(p);
    return validatePattern(p as AttentionPattern, where);
  } catch (e) {
    const msg = (e as Error).message;
    throw new Error(msg.startsWith(where) ? msg : `${where}: ${msg}`);
  }
}
