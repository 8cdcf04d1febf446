// Checkpoints in the Hugging Face layout: a folder with config.json and model.safetensors (the tied lm_head
// omitted), tokenizer files next to them. Pre-LN models are written as GPT-2 (GPT2LMHeadModel), post-LN models
// as GPT-1 (OpenAIGPTLMHeadModel: tokens_embed / positions_embed, no ln_f), so Hugging Face loads either as the
// same network; a local copy of Hugging Face gpt2 or openai-gpt loads here as is.
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomicAsync } from '@gptlab/common/node';
import { tf } from '@gptlab/tensor';
import type { GPT } from './gpt';
import { hfModelType, toHFConfig } from './hf-config';
import { parameterTable } from './layers';
import { HF_BUFFER, gptFromTensors } from './from-tensors';
import type { SafetensorsInput } from './safetensors';
import type { GPTConfig } from './config';
import {
  eosFromGenerationConfig,
  generationConfigJSON,
  specialTokensMapJSON,
  tokenizerConfigJSON,
  type GenerationDefaults,
} from './hf-files';
import { readCheckpointTensors, writeCheckpointTensors } from './sharded-checkpoint';

export interface SaveOptions {
  /** Extra `__metadata__` entries of model.safetensors (string values). */
  metadata?: Record<string, string>;
  /** More tensors to store next to the weights (e.g. a task head: 'task_head.weight'). */
  extraTensors?: Record<string, tf.Tensor>;
  /** Storage type of the floating-point tensors (default F32). */
  dtype?: 'F32' | 'F16' | 'BF16';
  /**
   * Writes the tokenizer files too (vocab.json + merges.txt), e.g. a BPETokenizer from @gptlab/tokenizer; its
   * `<|endoftext|>` id (`eosId`) becomes config.json's eos_token_id.
   */
  tokenizer?: { saveGPT2Files(dir: string): unknown; readonly eosId?: number; readonly specialTokens?: ReadonlyMap<string, number> };
  /** Jinja chat template stored as tokenizer_config.json's `chat_template` (needs `tokenizer`). */
  chatTemplate?: string;
  /** Decoding defaults for generation_config.json beyond the bos/eos ids. */
  generation?: GenerationDefaults;
  /** Largest shard in bytes: bigger weights are written as model-0000i-of-0000n.safetensors + index. */
  maxShardSize?: number;
}

/**
 * Loads config.json (Hugging Face GPT2Config or OpenAIGPTConfig keys) and model.safetensors (names with or
 * without the "transformer." prefix; F32, F16, BF16 or F64) from `dir`. Tensors that are not weights (a task
 * head, training state) land in `model.extraTensors`.
 */
export async function loadGPT(dir: string): Promise<GPT> {
  const cfgFile = path.join(dir, 'config.json');
  const json = await readJson(cfgFile);
  // transformers keeps decoding ids in generation_config.json; config.json may lack them (eos_token_id: null).
  if (json.eos_token_id == null && typeof json.vocab_size === 'number') {
    const eos = await generationEos(dir, json.vocab_size);
    if (eos !== undefined) json.eos_token_id = eos;
  }
  const st = await readCheckpointTensors(dir, (name) => !HF_BUFFER.test(name));
  return gptFromTensors(json, st.tensors, { configFile: cfgFile, weightsFile: st.source });
}

/**
 * Writes config.json and model.safetensors into `dir` (GPT-2 layout for pre-LN models, openai-gpt for post-LN),
 * each to a temporary file renamed into place; the tokenizer files too when `opts.tokenizer` is given.
 */
export async function saveGPT(model: GPT, dir: string, opts: SaveOptions = {}): Promise<void> {
  if (model.isDisposed) throw new Error('saveGPT: the model was disposed');
  const dtype = opts.dtype ?? 'F32';
  if (!['F32', 'F16', 'BF16'].includes(dtype)) throw new Error(`saveGPT: dtype must be F32, F16 or BF16, got ${dtype}`);
  if (opts.chatTemplate !== undefined && !opts.tokenizer)
    throw new Error('saveGPT: chatTemplate needs the tokenizer (tokenizer_config.json)');
  const eos = opts.tokenizer?.eosId ?? model.config.eosTokenId;
  const config = { ...model.config };
  if (eos !== undefined) config.eosTokenId = eos;
  if (eos !== undefined && !(Number.isInteger(eos) && eos >= 0 && eos < config.vocabSize)) {
    throw new Error(`saveGPT: the end-of-text id ${eos} is outside the model's vocabulary [0, ${config.vocabSize})`);
  }
  const hf = toHFConfig(config);
  const openai = hfModelType(config) === 'openai-gpt';
  const weights = model.namedWeights();
  const tensors: Record<string, SafetensorsInput> = {};
  const taken = new Set<string>(weights.keys());
  for (const p of parameterTable(config)) {
    const name = openai ? p.openaiName : p.name;
    const v = weights.get(p.name)!;
    tensors[name] = { dtype, shape: v.shape, data: (await v.data()) as Float32Array };
    taken.add(name);
  }
  const extra = new Map<string, tf.Tensor>(model.extraTensors);
  for (const [name, t] of Object.entries(opts.extraTensors ?? {})) extra.set(name, t);
  for (const [name, t] of extra) {
    if (taken.has(name)) throw new Error(`saveGPT: extra tensor '${name}' has the name of a model weight`);
    if (!(t instanceof tf.Tensor) || t.isDisposed) throw new Error(`saveGPT: extra tensor '${name}' is not a live tensor`);
    const data = await t.data();
    if (t.dtype === 'float32') tensors[name] = { dtype, shape: t.shape, data: data as Float32Array };
    else if (t.dtype === 'int32') tensors[name] = { dtype: 'I32', shape: t.shape, data: data as Int32Array };
    else if (t.dtype === 'bool') tensors[name] = { dtype: 'U8', shape: t.shape, data: Uint8Array.from(data as Uint8Array) };
    else throw new Error(`saveGPT: extra tensor '${name}' has dtype ${t.dtype} (float32, int32 or bool)`);
  }
  await fsp.mkdir(dir, { recursive: true });
  const metadata = { format: 'pt', generator: '@gptlab/model', ...(opts.metadata ?? {}) };
  await writeCheckpointTensors(dir, tensors, metadata, opts.maxShardSize);
  await writeFileAtomicAsync(path.join(dir, 'config.json'), JSON.stringify(hf, null, 2) + '\n');
  await writeHFFiles(dir, config, opts);
}

/** generation_config.json, the tokenizer's files and (for a tokenizer with special tokens) its HF configs. */
async function writeHFFiles(dir: string, config: GPTConfig, opts: SaveOptions): Promise<void> {
  const writeJson = (name: string, v: unknown) => writeFileAtomicAsync(path.join(dir, name), JSON.stringify(v, null, 2) + '\n');
  const generation = generationConfigJSON(config, opts.generation);
  if (generation) await writeJson('generation_config.json', generation);
  if (!opts.tokenizer) return;
  await opts.tokenizer.saveGPT2Files(dir);
  if (opts.tokenizer.specialTokens === undefined && opts.chatTemplate === undefined) return;
  await writeJson('tokenizer_config.json', tokenizerConfigJSON(opts.tokenizer, config, opts.chatTemplate));
  await writeJson('special_tokens_map.json', specialTokensMapJSON(opts.tokenizer));
}

/** The end-of-text id in generation_config.json (undefined without the file or the field). */
async function generationEos(dir: string, vocabSize: number): Promise<number | undefined> {
  const file = path.join(dir, 'generation_config.json');
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch {
    return undefined;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`${file}: invalid JSON: ${(e as Error).message}`);
  }
  return eosFromGenerationConfig(json, vocabSize, file);
}

async function readJson(file: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (e) {
    throw new Error(`${file}: cannot read the model config (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch (e) {
    throw new Error(`${file}: invalid JSON: ${(e as Error).message}`);
  }
}
