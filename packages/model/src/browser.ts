// @gptlab/model: a decoder-only GPT (GPT-1 post-LN, GPT-2/3 pre-LN, per-layer sparse attention), KV cache,
// GPT-1 task heads, and Hugging Face checkpoints (config.json + model.safetensors, GPT-2 or openai-gpt layout).
// This is the browser entry (the `browser` export condition): no Node built-ins; checkpoints load from bytes
// or URLs (loadGPTFromFiles / loadGPTFromURL). The Node folder loaders are in '@gptlab/model/node'.
export { type GPTConfig, PRESETS, GPT3_LOCAL_WINDOW, getPreset, validateConfig, trainingFlopsPerToken } from './config';
export { parameterTable, weightShapes, countParameters, normalArray, type Param, type Init } from './layers';
export { toHFConfig, fromHFConfig, hfModelType, type HFModelType } from './hf-config';
export { GPT, type TokenIds, type ForwardOptions, type ForwardResult } from './gpt';
export { KVCache } from './kv-cache';
export { BatchedKVCache } from './batched-kv-cache';
export { BeamKVCache } from './kv-cache-beam';
export { loadGPTFromFiles, loadGPTFromURL, fetchBytes, fileURL, type GPTFiles, type FileContents, type URLLoadOptions } from './load-files';
export { gptFromTensors, type TensorSources } from './from-tensors';
export { TaskHead, type TaskHeadOptions } from './task-head';
export {
  parseSafetensors,
  readTensors,
  readHeader,
  bytesReader,
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
  type ByteReader,
} from './safetensors';
export { type AttentionPattern, parsePattern, patternToString } from './sparse';
export {
  generationConfigJSON,
  eosFromGenerationConfig,
  tokenizerConfigJSON,
  specialTokensMapJSON,
  type GenerationDefaults,
  type SpecialTokensSource,
} from './hf-files';
export { SHARD_INDEX, shardFileName, planShards, shardIndexJSON, parseShardIndex, type ShardMap } from './shard-index';
export * from './vision';
