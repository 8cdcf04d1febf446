// Native kernels of @gptlab/tensor-native: SGEMM/SGEMV with runtime ISA dispatch over a persistent thread pool.
#pragma once
#include <string>
#include <vector>

// One (sub)product: C[M×N] (row stride ldc) = (acc ? C : 0) + op(A)·op(B), where op(A)(i, k) = A[i*rsa + k*csa]
// and op(B)(k, j) = B[k*rsb + j*csb].
struct GemmArgs {
  const float* A;
  long rsa, csa;
  const float* B;
  long rsb, csb;
  float* C;
  long ldc;
  long M, N, K;
  bool acc;
};

namespace gl {

/** Vectorised elementwise/row kernels of the selected ISA. */
struct ElementwiseKernels {
  void (*gelu)(const float* x, float* y, long n);
  void (*gelu_backward)(const float* x, const float* dy, float* dx, long n);
  /** y = exp(x − m), returns Σ y. */
  float (*exp_shift_sum)(const float* x, float m, float* y, long n);
  float (*max)(const float* x, long n);
  /** out[a, b] = Σ_r x[a, r, b] for a in [a0, a1), b in [b0, b1). */
  void (*sum_middle)(const float* x, float* out, long a0, long a1, long R, long Bn, long b0, long b1);
};
const ElementwiseKernels& ew();

/** Name of the instruction set in use: "avx512", "avx2+fma" or "scalar". */
const char* isa_name();
/** Instruction sets this CPU and build can run, best first. */
std::vector<std::string> isas_available();
/** Selects an instruction set by name; false when it is not available. */
bool set_isa(const std::string& name);

int threads();
void set_threads(int n);

/**
 * Batched row-major products C[b] = (acc ? C[b] : 0) + op(A[b])·op(B[b]) for b < batch, where A[b] starts at
 * A + b*strideA (strideA 0 broadcasts one matrix) and is [M,K] ([K,M] when transA); B[b] is [K,N] ([N,K] when
 * transB); C is dense [batch, M, N].
 */
void sgemm(long batch, long M, long N, long K, const float* A, long strideA, bool transA, const float* B,
           long strideB, bool transB, float* C, bool acc);

/**
 * Runs fn(ctx, part, nparts) once for each part < nparts (nparts ≤ threads()) on the pool; a part may run on
 * any thread, and one thread may run several.
 */
void parallel(int nparts, void (*fn)(void*, int, int), void* ctx);
/** Like parallel(), but each part on its own thread, all at once (parts may wait for each other). */
void parallel_all_hands(int nparts, void (*fn)(void*, int, int), void* ctx);

}  // namespace gl
