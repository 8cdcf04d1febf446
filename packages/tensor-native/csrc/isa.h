// Internal to the addon: run-time instruction-set dispatch (one table entry per ISA the binary was compiled
// for) and CPU helpers shared by the thread pool and the SGEMM driver.
#pragma once
#include "kernels.h"

#if defined(__x86_64__) || defined(__i386__)
#define GL_X86 1
#include <immintrin.h>
#endif

#include <thread>

namespace gl {

/** The kernels of one instruction set (see isa.cc), with its micro-tile sizes. */
struct Isa {
  const char* name;
  int mr, nr;
  void (*gemm)(const GemmArgs&);
  void (*gemm_parallel)(const GemmArgs&, int);
  void (*gemv)(const float*, long, const float*, long, long, float*, long, long, bool);
  /** C[M×(n0..n1)] for 2 ≤ M ≤ 8 rows: (A, lda, M, K, W, rs, cs, C, ldc, n0, n1, acc). */
  void (*gemm_few)(const float*, long, long, long, const float*, long, long, float*, long, long, long, bool);
  bool (*supported)();
  ElementwiseKernels ew;
};

/** The instruction set in use: GPTLAB_ISA when set and available, else the best this CPU runs. */
const Isa& isa();

/** One step of a spin-wait. */
inline void cpu_relax() {
#ifdef GL_X86
  _mm_pause();
#else
  std::this_thread::yield();
#endif
}

}  // namespace gl
