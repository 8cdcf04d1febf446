// @gptlab/model under Node: the browser entry (everything platform-independent) plus the folder loaders of
// '@gptlab/model/node', so `import { loadGPT } from '@gptlab/model'` keeps working.
export * from './browser';
export * from './node';
export * from './native-decode';
export { NativeBatchedKVCache } from './native-batched';
