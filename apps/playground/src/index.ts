// @gptlab/playground: the web playground's server and the pieces the CLI uses, for embedding and tests.
export { createServer, defaultUiDir, DEFAULT_REQUEST_TIMEOUT_S, type ServerOptions } from './server';
export { JobQueue, DEFAULT_MAX_QUEUE, isAbortError, abortError } from './queue';
export { QueuedGenerator, BatchingGenerator, type Generator } from './generator';
export { ModelBatchEngine, DEFAULT_MAX_BATCH } from './batch-engine';
export { loadChatTemplate, renderChat, type ChatMessage } from './v1/chat-template';
export { openAIError, type OpenAIErrorBody } from './v1/errors';
export { parseCompletionBody, parseChatBody, type CompletionParams, type ChatParams } from './v1/params';
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
