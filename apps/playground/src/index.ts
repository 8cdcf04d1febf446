// @gptlab/playground: the web playground's server and the pieces the CLI uses, for embedding and tests.
export { createServer, defaultUiDir, type ServerOptions } from './server';
export { JobQueue, isAbortError, abortError } from './queue';
export { DirRegistry, listModelNames, modelNameProblem, resolveModelDir, isCheckpointDir, type ModelLoader } from './models-dir';
export {
  DEFAULT_LIMITS,
  parseGenerateBody,
  parseAttentionBody,
  resolveStrategy,
  generationDefaults,
  checkAgainstModel,
  type Limits,
  type GenerateBody,
  type AttentionBody,
} from './requests';
export {
  RealModel,
  realRegistry,
  abortableLanguageModel,
  loadTokenizer,
  findEosTokenId,
  type RealModelOptions,
  type TextCodec,
} from './real';
export { main, playgroundProgram } from './program';
export { replLine, REPL_HELP, type ReplState } from './commands/repl';
export { loadRealModel, type CliIO, type CheckpointLoader } from './commands/shared';
export * from './types';
