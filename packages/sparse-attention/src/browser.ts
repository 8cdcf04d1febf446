// @gptlab/sparse-attention: Sparse Transformer and BigBird attention patterns, compiled to block layouts and
// computed block-sparsely (cost grows with the kept blocks, never an n×n tensor), with dense references and pictures.
// This is the browser entry (the `browser` export condition): everything except the PNG renderers.
export {
  type AttentionPattern,
  type PatternType,
  DEFAULT_BLOCK_SIZE,
  PATTERN_SYNTAX,
  parsePattern,
  patternToString,
  validatePattern,
  allowed,
  makePredicate,
  elementMask,
  bigbirdRandomBlocks,
} from './patterns';
export { gatherBlocks, assembleBlocks, useBlockKernels } from './gather-blocks';
export { type BlockLayout, compileLayout, compileLayoutReference, elementDensity, isBlockLayout } from './layout';
export { type AttentionOptions, type BlockSparseOptions, type AttentionWithProbs } from './options';
export { denseAttention } from './dense';
export { blockSparseAttention } from './attention';
export { planGroups, describePlan, clearPlanCache, planCacheSize } from './plan';
export { type RenderOptions, renderLayoutSVG, renderLayoutASCII, renderMaskSVG, renderMaskASCII, layoutCaption } from './render';
