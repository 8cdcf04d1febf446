export type { LanguageModel, ModelSession, Detokenizer, GenerateResult, FinishReason, StreamEvent } from './types';
export {
  STRATEGY_FIELDS,
  SEARCH_TYPES,
  DEFAULT_STRATEGY,
  defaultStrategy,
  strategyField,
  rangeText,
  type Strategy,
  type StrategyInput,
  type StrategyField,
  type StrategyFieldName,
  type FieldKind,
  type NumberRange,
  type SearchType,
  type EarlyStopping,
} from './schema';
export { strategyFromJSON, processorSpecs, StrategyError, type StrategyFromJSONOptions } from './strategy';
export { strategyFlagSpecs, strategyFromFlags, strategyInputFromFlags, strategyUsageError, fieldValueFromText } from './flags';
export {
  createProcessor,
  applyProcessors,
  repetitionPenalty,
  presenceFrequencyPenalty,
  noRepeatNgram,
  bannedNgramTokens,
  badWords,
  logitBias,
  temperature,
  topK,
  topP,
  minP,
  typicalP,
  type LogitsProcessor,
  type ProcessorContext,
  type ProcessorSpec,
} from './processors';
export { generate, generateAll, stream, resultToJSON, prepare, type GenerateOptions, type GenerateResultJSON } from './generate';
export { logSoftmax, softmax, argmax } from './math';
export { TextStream, findStop } from './text';
export { gptLanguageModel, type GPTLike, type CacheLike, type GPTLanguageModelOptions } from './gpt';
export {
  BatchedGenerator,
  type BatchedRequest,
  type BatchedTokenEvent,
  type BatchedGeneratorOptions,
  type BatchedGPTLike,
  type BatchedCacheLike,
} from './batched';
