// One decode step for R sequences at once (decode_rows.cc): each row its own DecodeCache and position, the weight
// products of all rows as R-row products (the few-row kernels, which read the weights once for all rows and sum
// every element as the matrix-vector kernel does), so each row's logits equal decode_step's for that row alone.
#pragma once
#include "decode.h"

namespace gl {

/**
 * Appends tokens[r] to caches[r] at that cache's own position (< m.P) for r < R and writes row r's next-token
 * logits to logits + r·V. float32 snapshots only (m.bf16 throws). The caches must be distinct.
 */
void decode_rows_step(const DecodeModel& m, DecodeCache* const* caches, long R, const long* tokens, float* logits);

/** dst becomes a copy of src's cached positions (a beam that forks: the parent's history for the child). */
void decode_cache_copy(DecodeCache& dst, const DecodeCache& src);

}  // namespace gl
