// The image side of @gptlab/model (platform-independent): a ViT encoder + LLaVA projector whose visual tokens
// prefix a plain GPT's text.
export { type VisionConfig, VISION_DEFAULTS, numPatches, validateVisionConfig, toHFVisionConfig, fromHFVisionConfig } from './config';
export {
  VisionEncoder,
  visionParameterTable,
  extractPatches,
  patchEmbedding,
  standardize,
  isVisionTensor,
  type VisionParam,
  type VisionInit,
} from './encoder';
export { VisionGPT, PrefixedCache, type ImageConditionedGPT } from './vision-gpt';
