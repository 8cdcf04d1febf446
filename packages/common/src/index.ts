// @gptlab/common: primitives every gptlab package shares, each defined once. Browser-safe: no Node built-ins
// here (file and CLI helpers live in `@gptlab/common/node`).
export { Rng, mixSeed } from './rng';
export { UsageError } from './usage-error';
export { MinHeap, kthLargest } from './heap';
export { editDistance, closestNames } from './edit-distance';
export { JsonlError, parseJsonl, parseJsonlLine, expectObject, stringField } from './jsonl';
export {
  sizeOf,
  rowsAndCols,
  broadcastShapes,
  matMulShapes,
  contiguousReduction,
  type MatMulShapes,
  type ContiguousReduction,
} from './shapes';
