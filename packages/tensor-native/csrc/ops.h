// Fused row-wise kernels (memory-bound; rows split over the thread pool).
#pragma once
#include <cstdint>

namespace gl {
void bias_act(float* C, long rows, long cols, const float* bias, int act);
void softmax_rows(const float* X, float* Y, long rows, long cols, long causalT, long offset);
void softmax_backward(const float* Y, const float* dY, float* dX, long rows, long cols);
void layer_norm(const float* X, const float* gamma, const float* beta, float* Y, float* xhat, float* rstd, long rows,
                long cols, float eps);
void layer_norm_backward(const float* dY, const float* xhat, const float* rstd, const float* gamma, float* dX,
                         float* dGamma, float* dBeta, long rows, long cols);
void gelu(const float* X, float* Y, long n);
void gelu_backward(const float* X, const float* dY, float* dX, long n);
/** out[a, b] = Σ_r X[a, r, b] for X viewed as [A, R, Bn]. */
void sum_middle(const float* X, float* out, long A, long R, long Bn);
double cross_entropy(const float* logits, const int32_t* targets, long rows, long cols, int32_t ignore, float* grad);
}  // namespace gl
