// @gptlab/model: a decoder-only GPT (GPT-1 post-LN, GPT-2/3 pre-LN, per-layer sparse attention), KV cache,
// GPT-1 task heads, and Hugging Face GPT-2 checkpoints (config.json + model.safetensors).
export {
  type GPTConfig,
  PRESETS,
  GPT3_LOCAL_WINDOW,
  getPreset,
  validateConfig,
  countParameters,
  trainingFlopsPerToken,
  toHFConfig,
  fromHFConfig,
} from './config';
export { GPT, KVCache, weightShapes, type ForwardOptions, type ForwardResult, type SaveOptions } from './model';
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
