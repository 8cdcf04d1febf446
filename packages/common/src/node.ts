// @gptlab/common/node: the Node-only primitives (files and command lines). Also re-exports the root entry.
export * from './index';
export { tempPathFor, writeFileAtomic, writeFileAtomicAsync, AtomicWriter } from './atomic';
export { readJsonlFile, streamJsonlFile } from './jsonl-file';
export {
  UsageError,
  camel,
  parseFlags,
  flagValue,
  withDefaults,
  formatFlags,
  commandHelp,
  programHelp,
  runCli,
  type Command,
  type Program,
  type FlagSpec,
  type FlagSpecs,
  type FlagType,
  type FlagValue,
  type ParsedFlags,
  type ParseResult,
} from './cli';
