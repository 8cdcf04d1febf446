// @gptlab/playground: the web playground's server and the pieces the CLI uses, for embedding and tests.
export { createServer, defaultUiDir, type ServerOptions } from './server';
export { JobQueue, isAbortError, abortError } from './queue';
export { DirRegistry, listModelNames, modelNameProblem, resolveModelDir, isCheckpointDir, type ModelLoader } from './models-dir';
export {
  DEFAULT_LIMITS,
  validateStrategy,
  parseGenerateBody,
  parseAttentionBody,
  checkAgainstModel,
  type Limits,
  type ParsedGenerateBody,
  type ParsedAttentionBody,
} from './validate';
export { RealModel, realRegistry, abortableLanguageModel, loadTokenizer, findEosTokenId, toDecodingStrategy, type RealModelOptions, type TextCodec } from './real';
export { main, replCommand, strategyFromFlags, USAGE, REPL_HELP, UsageError, type ReplState, type CliIO } from './cli-main';
export * from './types';
