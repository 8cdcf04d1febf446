export type { Doc, DocStream, Stage, StageStats, DropExample } from './types';
export { createStage, pipe, drain, collect, emptyStats, type StageContext, type StageImpl } from './stage';
export { normalizeStage, normalizeText, type NormalizeOptions } from './normalize';
export { filterStage, checkText, DEFAULT_FILTERS, GOPHER_FILTERS, type FilterConfig, type FilterResult } from './filters';
export { exactDedupStage, type DuplicateRecord, type ExactDedupOptions } from './exact-dedup';
export { nearDedupStage, resolveNearDedupOptions, type NearDedupOptions, type ResolvedNearDedup } from './near-dedup';
export {
  MinHashPool,
  shingleSet,
  minhashSignature,
  computeMinHashBatch,
  permutationSeeds,
  jaccardSorted,
  estimateJaccard,
  defaultWorkerCount,
  minhashWorkerFile,
  type MinHashBatch,
  type MinHashPoolOptions,
} from './minhash';
export {
  optimalLshParams,
  lshFalsePositive,
  lshFalseNegative,
  lshCandidateProbability,
  bandKeys,
  MemoryLshIndex,
  SqliteLshIndex,
  UnionFind,
  type LshParams,
  type LshIndex,
} from './lsh';
export {
  QualityClassifier,
  qualityStage,
  scoreJsonl,
  type ScoreJsonlOptions,
  hashedFeatures,
  rocAuc,
  type QualityTrainOptions,
  type QualityTrainResult,
  type QualityStageOptions,
} from './quality';
export {
  loadMixture,
  resolveMixture,
  GPT3_MIXTURE,
  STAGE_NAMES,
  type MixtureFile,
  type MixtureFileSource,
  type ResolvedMixture,
  type StageName,
} from './mixture-config';
export { summarizeSources, type SourceSummary, type SourceFunnelRow } from './source-report';
export { mixture, type MixtureComponent, type MixtureOptions, type MixtureStats, type MixtureComponentStats } from './mixture';
export {
  writeShards,
  readManifest,
  dtypeForVocab,
  ShardReader,
  SplitReader,
  TokenDataset,
  inputsAndTargets,
  MANIFEST_NAME,
  type ShardTokenizer,
  type ShardDtype,
  type ShardManifest,
  type SplitManifest,
  type TokenBatch,
  type TokenDatasetOptions,
  type WriteShardsOptions,
} from './shards';
export { funnelSvg, funnelOf, shardsSummary, writeReport, type PipelineReport } from './report';
export {
  textSource,
  globSource,
  expandGlob,
  globToRegExp,
  jsonlSource,
  stdinSource,
  wordnetSource,
  arraySource,
  brownSource,
  makeSource,
  getField,
  DataInputError,
  type Source,
  type SourceStats,
  type TextSourceOptions,
  type JsonlSourceOptions,
  type StdinSourceOptions,
} from './sources';
export { sourceFromSpec, type SpecOptions } from './source-spec';
export { mapJsonlFile, type JsonlRecord, type MapJsonlOptions, type MapJsonlResult } from './jsonl-map';
export { decontaminateJsonl, overlapWords, TaskNgrams, type DecontaminateOptions, type DecontaminateResult } from './decontaminate';
export { parquetSource, type ParquetSourceOptions } from './parquet';
export { readFileChunks, readWholeFile, compressionOf, withoutCompressionSuffix, type Compression } from './compressed';
export { brownDocs, brownFileText, brownWords, detokenize, brownCategories, brownCorpusPath, type BrownSourceOptions } from './brown';
export {
  crawlDocs,
  crawlSource,
  referencePassages,
  isHeldOutPassage,
  DAMAGE,
  DAMAGE_KINDS,
  type DamageKind,
  type CrawlOptions,
} from './crawl';
export {
  loadWordNet,
  wordnetDocs,
  parseDataLine,
  splitGloss,
  wordnetDictPath,
  LEXNAMES,
  POINTER_NAMES,
  type Synset,
  type WordNet,
  type WordNetPointer,
  type WordNetPos,
  type WordNetSourceOptions,
} from './wordnet';
export {
  prepare,
  dedupJsonl,
  buildStages,
  type PrepareOptions,
  type PrepareResult,
  type DedupJsonlOptions,
  type DedupJsonlResult,
  type StageOptions,
  type SourceInput,
} from './pipeline';
export { decodeUtf8, contentHash, fmix32, hashString32 } from './util';
