// Checkpoints in the Hugging Face layout: a folder with config.json and model.safetensors (the tied lm_head
// omitted), tokenizer files next to them. Pre-LN models are written as GPT-2 (GPT2LMHeadModel), post-LN models
// as GPT-1 (OpenAIGPTLMHeadModel: tokens_embed / positions_embed, no ln_f), so Hugging Face loads either as the
// same network; a local copy of Hugging Face gpt2 or openai-gpt loads here as is.
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomicAsync } from '@gptlab/common/node';
import { tf } from '@gptlab/tensor';
import { GPT } from './gpt';
import { fromHFConfig, hfModelType, toHFConfig } from './hf-config';
import { parameterTable, type Param } from './layers';
import { readSafetensors, writeSafetensors, type SafetensorsInput, type SafetensorsTensor } from './safetensors';

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
  tokenizer?: { saveGPT2Files(dir: string): unknown; readonly eosId?: number };
}

/** Names of Hugging Face checkpoints' non-weight buffers (attention masks), skipped when loading. */
const HF_BUFFER = /^(transformer\.)?h\.\d+\.attn\.(bias|masked_bias)$/;

/**
 * Loads config.json (Hugging Face GPT2Config or OpenAIGPTConfig keys) and model.safetensors (names with or
 * without the "transformer." prefix; F32, F16, BF16 or F64) from `dir`. Tensors that are not weights (a task
 * head, training state) land in `model.extraTensors`.
 */
export async function loadGPT(dir: string): Promise<GPT> {
  const cfgFile = path.join(dir, 'config.json');
  const json = await readJson(cfgFile);
  const config = fromHFConfig(json, cfgFile);
  const fileName = (p: Param) => (json.model_type === 'openai-gpt' ? p.openaiName : p.name);
  const file = path.join(dir, 'model.safetensors');
  try {
    await fsp.access(file);
  } catch {
    const hasBin = await fsp.access(path.join(dir, 'pytorch_model.bin')).then(
      () => true,
      () => false,
    );
    throw new Error(`${file}: not found${hasBin ? ' (pytorch_model.bin is not supported: convert it to safetensors)' : ''}`);
  }
  const st = await readSafetensors(file, { filter: (name) => !HF_BUFFER.test(name) });
  const params = parameterTable(config);
  const known = new Set(params.map(fileName));
  const byName = new Map<string, SafetensorsTensor>();
  for (const [name, t] of st.tensors) {
    const canonical = !name.startsWith('transformer.') && known.has('transformer.' + name) ? 'transformer.' + name : name;
    if (byName.has(canonical))
      throw new Error(`${file}: tensor '${canonical}' is stored twice (with and without the 'transformer.' prefix)`);
    byName.set(canonical, t);
  }
  const shapeDesc = `n_layer=${config.nLayer}, n_embd=${config.nEmbd}, vocab_size=${config.vocabSize}, n_positions=${config.nPositions}`;
  const weights = new Map<string, tf.Tensor>();
  const extras = new Map<string, tf.Tensor>();
  try {
    for (const p of params) {
      const name = fileName(p);
      const t = byName.get(name);
      if (!t) throw new Error(`${file}: missing tensor '${name}' (expected by ${cfgFile}: ${shapeDesc})`);
      if (t.dtype !== 'F32' && t.dtype !== 'F16' && t.dtype !== 'BF16' && t.dtype !== 'F64') {
        throw new Error(`${file}: tensor '${name}' has dtype ${t.dtype}; weights must be F32, F16, BF16 or F64`);
      }
      if (t.shape.length !== p.shape.length || t.shape.some((d, i) => d !== p.shape[i])) {
        throw new Error(`${file}: tensor '${name}' has shape [${t.shape}], expected [${p.shape}] (from ${cfgFile}: ${shapeDesc})`);
      }
      const data = t.data instanceof Float32Array ? t.data : Float32Array.from(t.data as Float64Array);
      weights.set(p.name, tf.tensor(data, p.shape, 'float32'));
    }
    const lm = byName.get('lm_head.weight');
    if (lm && (lm.shape.length !== 2 || lm.shape[0] !== config.vocabSize || lm.shape[1] !== config.nEmbd)) {
      throw new Error(
        `${file}: tensor 'lm_head.weight' has shape [${lm.shape}], expected [${config.vocabSize},${config.nEmbd}] (tied to the token embedding)`,
      );
    }
    for (const [name, t] of byName) {
      if (known.has(name) || name === 'lm_head.weight') continue;
      extras.set(name, toTfTensor(t, name, file));
    }
    const model = GPT.fromWeights(config, weights);
    for (const [n, t] of extras) model.extraTensors.set(n, t);
    return model;
  } catch (e) {
    tf.dispose([...extras.values()]);
    throw e;
  } finally {
    tf.dispose([...weights.values()]);
  }
}

/**
 * Writes config.json and model.safetensors into `dir` (GPT-2 layout for pre-LN models, openai-gpt for post-LN),
 * each to a temporary file renamed into place; the tokenizer files too when `opts.tokenizer` is given.
 */
export async function saveGPT(model: GPT, dir: string, opts: SaveOptions = {}): Promise<void> {
  if (model.isDisposed) throw new Error('saveGPT: the model was disposed');
  const dtype = opts.dtype ?? 'F32';
  if (!['F32', 'F16', 'BF16'].includes(dtype)) throw new Error(`saveGPT: dtype must be F32, F16 or BF16, got ${dtype}`);
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
  await writeSafetensors(path.join(dir, 'model.safetensors'), tensors, metadata);
  await writeFileAtomicAsync(path.join(dir, 'config.json'), JSON.stringify(hf, null, 2) + '\n');
  if (opts.tokenizer) await opts.tokenizer.saveGPT2Files(dir);
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

/** A stored tensor that is not a weight as a tfjs tensor: floats as float32, integers and booleans as int32. */
function toTfTensor({ data, shape }: SafetensorsTensor, name: string, file: string): tf.Tensor {
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
