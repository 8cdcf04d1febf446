// The one place @gptlab/model touches @gptlab/sparse-attention: pattern types and helpers, and the block-sparse
// kernel used for sparse layers over full sequences.
export {
  type AttentionPattern,
  parsePattern,
  patternToString,
  validatePattern,
  elementMask,
  blockSparseAttention,
} from '@gptlab/sparse-attention';
