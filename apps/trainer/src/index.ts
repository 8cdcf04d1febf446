// @gptlab/trainer: the library behind `gptlab-train`.
export { AdamW, defaultDecays, type AdamWOptions } from './train/adamw';
export { cosineSchedule, constantSchedule, linearSchedule, type Schedule, type ScheduleOptions } from './train/schedule';
export { clipByGlobalNorm, globalNorm } from './train/clip';
export {
  WindowSampler,
  RandomTokenSampler,
  validationBatches,
  splitBatch,
  chunkSeeds,
  inputsAndTargets,
  type TokenBatch,
  type TokenArray,
} from './train/batches';
export { tokenSplits, splitByTokens, type TokenSplits } from './train/token-splits';
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
} from './train/loop';
export {
  Trainer,
  TrainingDiverged,
  type TrainingMethod,
  type TrainerOptions,
  type TrainerHooks,
  type TrainResult,
  type BatchSource,
  type EvalResult,
} from './train/trainer';
export { TinyLM, type TinyLMConfig } from './train/tiny-lm';
export { buildReplica, tokenLossFn, type ReplicaSpec, type Replica } from './train/replica';
export { namedWeights, gptGradients, defaultWorkers, robustPeak } from './lm';
export { sampleText } from './sample';
export {
  saveCheckpoint,
  resolveCheckpoint,
  readTrainerState,
  loadOptimizer,
  listCheckpoints,
  checkpointName,
  resumedSettings,
  runDirOf,
  type TrainerState,
} from './train/checkpoint';
export { MetricsLog, lossCurveSvg, type Metric, type TrainMetric, type EvalMetric } from './train/metrics';
export { Progress, progressLine, formatDuration } from './train/progress';
export { causalLmMethod, type CausalLmSettings, type CausalLmParts } from './pretrain/method';
export {
  pretrain,
  modelConfigOf,
  PRETRAIN_DEFAULTS,
  PRETRAIN_FLAGS,
  type PretrainConfig,
  type PretrainResult,
  type PretrainHooks,
} from './commands/pretrain';
export { finetune, prepareForTasks, epochBatches, FINETUNE_DEFAULTS, type FinetuneOptions, type FinetuneResult } from './finetune/finetune';
export { gpt1Loss, taskScores, taskMetrics, makeBatch, type TaskBatch } from './finetune/objective';
export { trainBench, type BenchOptions } from './commands/bench';
export { demo, type DemoOptions, type DemoResult } from './commands/demo';
export { corpusHash, trainedTokenizer, preparedShards, shardTokenizer, trainingData, MIN_VAL_DOCUMENTS } from './corpus';
export { COMMANDS, GROUPS, main } from './commands';
export { runTrainerCli, PROGRAM, VERSION } from './cli/program';
export { CommandError, type CommandIO, type TrainerCommand, type CommandGroup } from './cli/command';
export { readConfigFile, defaultsOf, settingsOf } from './cli/settings';
export { chooseShape, fitComputeOptimal, isoFlopVertex, type IsoFlopProfile, type ShapeCandidate } from './scaling/compute-optimal';
