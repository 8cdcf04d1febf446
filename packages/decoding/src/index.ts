export type { LanguageModel, ModelSession, Detokenizer, GenerateResult, FinishReason, StreamEvent } from './types';
export {
  strategyFromJSON,
  processorSpecs,
  StrategyError,
  DEFAULT_STRATEGY,
  type Strategy,
  type StrategyInput,
  type SearchType,
  type EarlyStopping,
  type StrategyFromJSONOptions,
} from './strategy';
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
export { generate, generateAll, stream, resultToJSON, prepare, type GenerateOptions } from './generate';
export { SeededRng } from './rng';
export { logSoftmax, softmax, argmax } from './math';
export { TextStream, findStop } from './text';
export { gptLanguageModel, type GPTLike, type CacheLike, type GPTLanguageModelOptions } from './gpt';
