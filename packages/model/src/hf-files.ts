// The small JSON files that complete a Hugging Face checkpoint directory next to config.json, in the shapes
// transformers writes for GPT-2 (checked against transformers' GenerationConfig.save_pretrained and
// PreTrainedTokenizerBase.save_pretrained):
//   generation_config.json   {"_from_model_config": true, "bos_token_id", "eos_token_id", …}: generate()'s
//                            defaults; only values that differ from GenerationConfig's defaults are written
//   tokenizer_config.json    {"tokenizer_class": "GPT2Tokenizer", "model_max_length", bos/eos/unk tokens,
//                            "added_tokens_decoder": {id: AddedToken}, "chat_template"?}
//   special_tokens_map.json  {"bos_token", "eos_token", "unk_token", "additional_special_tokens"?}
// Pure functions (no I/O), so a browser loader can use them on fetched files too.
import type { GPTConfig } from './config';

/** GPT-2's only special token: it begins, ends and pads text, and stands in for unknown text. */
const ENDOFTEXT = '<|endoftext|>';

/** What the tokenizer files need to know of a tokenizer (a @gptlab/tokenizer BPETokenizer has all of it). */
export interface SpecialTokensSource {
  /** The id of `<|endoftext|>`, when the tokenizer has it. */
  readonly eosId?: number;
  /** Special tokens, spelling → id (`<|endoftext|>` and added ones such as GPT-1's `<s>`, `<$>`, `<e>`). */
  readonly specialTokens?: ReadonlyMap<string, number>;
}

/** Decoding defaults written to generation_config.json (ids default to the model's end-of-text token). */
export interface GenerationDefaults {
  /** Total length (prompt + new tokens) generate() stops at; GenerationConfig's default is 20, so none is written. */
  maxLength?: number;
  padTokenId?: number;
}

/**
 * generation_config.json for a model whose end-of-text id is `eos` (GPT-2 begins and ends text with it), or
 * null when there is nothing to say: transformers derives the same file from config.json when it is absent.
 */
export function generationConfigJSON(config: GPTConfig, defaults: GenerationDefaults = {}): Record<string, unknown> | null {
  const eos = config.eosTokenId;
  const out: Record<string, unknown> = { _from_model_config: true };
  if (eos !== undefined) {
    out.bos_token_id = eos;
    out.eos_token_id = eos;
  }
  if (defaults.maxLength !== undefined) {
    if (!(Number.isInteger(defaults.maxLength) && defaults.maxLength >= 1)) {
      throw new Error(`saveGPT: generation.maxLength must be a positive integer, got ${defaults.maxLength}`);
    }
    out.max_length = defaults.maxLength;
  }
  if (defaults.padTokenId !== undefined) {
    if (!(Number.isInteger(defaults.padTokenId) && defaults.padTokenId >= 0 && defaults.padTokenId < config.vocabSize)) {
      throw new Error(`saveGPT: generation.padTokenId ${defaults.padTokenId} is outside the vocabulary [0, ${config.vocabSize})`);
    }
    out.pad_token_id = defaults.padTokenId;
  }
  return Object.keys(out).length > 1 ? out : null;
}

/**
 * The end-of-text id of a parsed generation_config.json: `eos_token_id` may be one id or a list (the first is
 * taken); undefined when absent. Errors name `file` and the field.
 */
export function eosFromGenerationConfig(json: unknown, vocabSize: number, file = 'generation_config.json'): number | undefined {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw new Error(`${file}: expected a JSON object`);
  const raw = (json as Record<string, unknown>).eos_token_id;
  if (raw === undefined || raw === null) return undefined;
  const id = Array.isArray(raw) ? raw[0] : raw;
  if (!(typeof id === 'number' && Number.isInteger(id) && id >= 0 && id < vocabSize)) {
    throw new Error(`${file}: eos_token_id must be a token id in [0, ${vocabSize}), got ${JSON.stringify(raw)}`);
  }
  return id;
}

/** transformers' serialised AddedToken for a special token (special tokens are never normalised). */
function addedToken(content: string): Record<string, unknown> {
  return { content, lstrip: false, normalized: false, rstrip: false, single_word: false, special: true };
}

/** Special tokens other than `<|endoftext|>`, by id. */
function additionalSpecials(tok: SpecialTokensSource): [string, number][] {
  return [...(tok.specialTokens ?? new Map<string, number>())].filter(([t]) => t !== ENDOFTEXT).sort((a, b) => a[1] - b[1]);
}

/** special_tokens_map.json: `<|endoftext|>` as bos/eos/unk (GPT-2), added special tokens as additional ones. */
export function specialTokensMapJSON(tok: SpecialTokensSource): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (tok.eosId !== undefined) Object.assign(out, { bos_token: ENDOFTEXT, eos_token: ENDOFTEXT, unk_token: ENDOFTEXT });
  const extra = additionalSpecials(tok);
  if (extra.length) out.additional_special_tokens = extra.map(([t]) => t);
  return out;
}

/**
 * tokenizer_config.json: GPT2Tokenizer with the model's context as model_max_length, every special token in
 * added_tokens_decoder, and `chat_template` (a Jinja template, issue #13) when one is given.
 */
export function tokenizerConfigJSON(tok: SpecialTokensSource, config: GPTConfig, chatTemplate?: string): Record<string, unknown> {
  const decoder: Record<string, unknown> = {};
  const specials = new Map(tok.specialTokens ?? []);
  if (tok.eosId !== undefined) specials.set(ENDOFTEXT, tok.eosId);
  for (const [t, id] of [...specials].sort((a, b) => a[1] - b[1])) decoder[String(id)] = addedToken(t);
  const out: Record<string, unknown> = {
    add_bos_token: false,
    add_prefix_space: false,
    added_tokens_decoder: decoder,
    ...specialTokensMapJSON(tok),
    clean_up_tokenization_spaces: false,
    errors: 'replace',
    model_max_length: config.nPositions,
    pad_token: null,
    tokenizer_class: 'GPT2Tokenizer',
  };
  if (chatTemplate !== undefined) {
    if (typeof chatTemplate !== 'string' || !chatTemplate.trim()) throw new Error('saveGPT: chatTemplate must be a non-empty string');
    out.chat_template = chatTemplate;
  }
  return out;
}
