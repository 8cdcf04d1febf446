// A GPT from a Hugging Face config.json object and the tensors of its safetensors file(s): the names mapped
// (with or without the "transformer." prefix, GPT-2 or openai-gpt layout), shapes and dtypes checked against
// the config. Shared by loadGPT(dir) (Node) and loadGPTFromFiles / loadGPTFromURL (any platform).
import { tf } from '@gptlab/tensor';
import { GPT } from './gpt';
import { fromHFConfig } from './hf-config';
import { parameterTable, type Param } from './layers';
import type { SafetensorsTensor } from './safetensors';

/** Names of Hugging Face checkpoints' non-weight buffers (attention masks), skipped when loading. */
export const HF_BUFFER = /^(transformer\.)?h\.\d+\.attn\.(bias|masked_bias)$/;

/** Where the config and the weights came from, for error messages. */
export interface TensorSources {
  configFile: string;
  weightsFile: string;
}

/**
 * Builds the model; tensors that are not weights (a task head, training state) land in `model.extraTensors`.
 * The weight tensors are copied into the model, so `tensors` may be dropped afterwards.
 */
export function gptFromTensors(
  json: Record<string, unknown>,
  tensors: ReadonlyMap<string, SafetensorsTensor>,
  { configFile: cfgFile, weightsFile: file }: TensorSources,
): GPT {
  const config = fromHFConfig(json, cfgFile);
  const fileName = (p: Param) => (json.model_type === 'openai-gpt' ? p.openaiName : p.name);
  const params = parameterTable(config);
  const known = new Set(params.map(fileName));
  const byName = new Map<string, SafetensorsTensor>();
  for (const [name, t] of tensors) {
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
