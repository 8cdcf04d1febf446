// @gptlab/model: a decoder-only GPT (GPT-1 post-LN, GPT-2/3 pre-LN, per-layer sparse attention), KV cache,
// GPT-1 task heads, and Hugging Face checkpoints (config.json + model.safetensors, GPT-2 or openai-gpt layout).
export { type GPTConfig, PRESETS, GPT3_LOCAL_WINDOW, getPreset, validateConfig, trainingFlopsPerToken } from './config';
export { parameterTable, weightShapes, countParameters, normalArray, type Param, type Init } from './layers';
export { toHFConfig, fromHFConfig, hfModelType, type HFModelType } from './hf-config';
export { GPT, type TokenIds, type ForwardOptions, type ForwardResult } from './gpt';
export { KVCache } from './kv-cache';
export { loadGPT, saveGPT, type SaveOptions } from './checkpoint';
export { TaskHead, type TaskHeadOptions } from './task-head';
export {
  writeSafetensors,
  readSafetensors,
  readSafetensorsHeader,
  encodeSafetensors,
  SafetensorsError,
  DTYPE_BYTES,
  f16ToF32,
  f32ToF16,
  f32ToBF16,
  type SafetensorsDtype,
  type SafetensorsInput,
  type SafetensorsTensor,
  type SafetensorsFile,
  type SafetensorsHeader,
  type HeaderEntry,
  type ReadOptions,
  type TensorData,
} from './safetensors';
export { type AttentionPattern, parsePattern, patternToString } from './sparse';
