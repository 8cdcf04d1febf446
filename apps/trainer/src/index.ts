// @gptlab/trainer: the library behind `gptlab-train`.
export { AdamW, defaultDecays, type AdamWOptions } from './train/adamw';
export { cosineSchedule, constantSchedule, type Schedule, type ScheduleOptions } from './train/schedule';
export { clipByGlobalNorm, globalNorm } from './train/clip';
export {
  WindowSampler,
  RandomTokenSampler,
  validationBatches,
  splitBatch,
  inputsAndTargets,
  type TokenBatch,
  type TokenArray,
} from './train/batches';
export { LocalGradients, type GradientSource, type LossFn, type LossContext, type StepGradients } from './train/gradients';
export { WorkerGradients, layoutOf, type ParamLayout } from './train/parallel';
export {
  trainLoop,
  NonFiniteLossError,
  type TrainLoopOptions,
  type TrainLoopResult,
  type StepRecord,
  type StepBatches,
  type StopReason,
} from './train/trainer';
export { TinyLM, type TinyLMConfig } from './train/tiny-lm';
export { buildReplica, tokenLossFn, type ReplicaSpec, type Replica } from './train/replica';
export { namedWeights } from './lm';
export { saveCheckpoint, resolveCheckpoint, readTrainerState, loadOptimizer, listCheckpoints, checkpointName, type TrainerState } from './train/checkpoint';
export { MetricsLog, lossCurveSvg, type Metric, type TrainMetric, type EvalMetric } from './train/metrics';
export { Progress, progressLine, formatDuration } from './train/progress';
export { pretrain, sampleText, modelConfigOf, readConfigFile, defaultWorkers, PRETRAIN_DEFAULTS, PRETRAIN_FLAGS, type PretrainConfig, type PretrainResult, type PretrainHooks } from './commands/pretrain';
export { trainBench, type BenchOptions } from './commands/bench';
export { demo, type DemoOptions, type DemoResult } from './commands/demo';
export { corpusHash, trainedTokenizer, preparedShards, shardTokenizer } from './commands/corpus';
export { COMMANDS } from './commands';
export { runCli, dispatch, defaultIO, CommandError, type Command, type CommandIO } from './cli/router';
export { parseFlags, formatFlags, UsageError, type FlagSpec, type FlagSpecs } from './cli/flags';
