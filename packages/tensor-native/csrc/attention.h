// Flash-style causal attention (FlashAttention, Dao et al. 2022): the output and each query row's log-sum-exp
// forward, computed with an online softmax over key blocks; backward recomputes the probabilities block by block
// from Q, K and the saved log-sum-exp. Nothing of size T × Tk is ever stored.
#pragma once

namespace gl {

/**
 * Forward over BH independent heads: Q [BH, T, D], K and V [BH, Tk, D] (Tk ≥ T; query i sits at key position
 * i + Tk − T and sees the keys up to it), O [BH, T, D] = softmax(scale·Q·Kᵀ + causal mask)·V, LSE [BH, T] the
 * log-sum-exp of each row of scale·Q·Kᵀ over its visible keys.
 */
void causal_attention_forward(const float* Q, const float* K, const float* V, float* O, float* LSE, long BH, long T,
                              long Tk, long D, float scale);

/** Gradients dQ, dK, dV (same shapes as Q, K, V) from dO, the forward's O and LSE. */
void causal_attention_backward(const float* Q, const float* K, const float* V, const float* O, const float* LSE,
                               const float* dO, float* dQ, float* dK, float* dV, long BH, long T, long Tk, long D,
                               float scale);

}  // namespace gl
