// Per-ISA kernels, compiled with target pragmas so one binary runs on any x86-64, picking AVX-512, AVX2+FMA
// or portable scalar code at run time. Each namespace defines the vector primitives gemm_impl.inc is written
// in, then includes it and elementwise_impl.inc (plain loops the compiler vectorises for the region's ISA).
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>
#include <thread>

#include "isa.h"

// ---------------------------------------------------------------------------------------------------------
// Portable scalar kernels (the baseline compiler flags; GCC may still auto-vectorise with SSE2).
namespace isa_scalar {
typedef float V;
static constexpr int VL = 1, MR = 4, NR = 4;
static constexpr long KC = 256, MC = 64, NC = 1024;
static inline V vzero() { return 0.f; }
static inline V vset1(float x) { return x; }
static inline V vload(const float* p) { return *p; }
static inline void vstore(float* p, V v) { *p = v; }
static inline V vfma(V a, V b, V c) { return a * b + c; }
static inline V vadd(V a, V b) { return a + b; }
static inline float vhsum(V a) { return a; }
#include "gemm_impl.inc"
#include "elementwise_impl.inc"
}  // namespace isa_scalar

#ifdef GL_X86
#pragma GCC push_options
#pragma GCC target("avx2,fma")
namespace isa_avx2 {
typedef __m256 V;
static constexpr int VL = 8, MR = 6, NR = 16;
// KC 384: a B micro-panel (384×16, 24 KB) stays in a 32 KB L1 across the A micro-panels, the A block (120×384,
// 180 KB) in L2, and C is loaded and stored 1.5× less often than at 256 (+4–5% at 1024²–2048² on Zen 3).
static constexpr long KC = 384, MC = 120, NC = 2048;
static inline V vzero() { return _mm256_setzero_ps(); }
static inline V vset1(float x) { return _mm256_set1_ps(x); }
static inline V vload(const float* p) { return _mm256_loadu_ps(p); }
static inline void vstore(float* p, V v) { _mm256_storeu_ps(p, v); }
static inline V vfma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
static inline V vadd(V a, V b) { return _mm256_add_ps(a, b); }
static inline float vhsum(V a) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
  return _mm_cvtss_f32(s);
}
#include "gemm_impl.inc"
#include "elementwise_impl.inc"
}  // namespace isa_avx2
#pragma GCC pop_options

#pragma GCC push_options
#pragma GCC target("avx512f,avx512vl,avx512dq,avx2,fma")
namespace isa_avx512 {
typedef __m512 V;
static constexpr int VL = 16, MR = 12, NR = 32;
static constexpr long KC = 256, MC = 144, NC = 2048;
static inline V vzero() { return _mm512_setzero_ps(); }
static inline V vset1(float x) { return _mm512_set1_ps(x); }
static inline V vload(const float* p) { return _mm512_loadu_ps(p); }
static inline void vstore(float* p, V v) { _mm512_storeu_ps(p, v); }
static inline V vfma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
static inline V vadd(V a, V b) { return _mm512_add_ps(a, b); }
static inline float vhsum(V a) { return _mm512_reduce_add_ps(a); }
#include "gemm_impl.inc"
#include "elementwise_impl.inc"
}  // namespace isa_avx512
#pragma GCC pop_options
#endif

namespace gl {

static bool always() { return true; }
#ifdef GL_X86
static bool has_avx2() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}
static bool has_avx512() {
  __builtin_cpu_init();
  return has_avx2() && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
         __builtin_cpu_supports("avx512dq");
}
#endif

static const Isa kIsas[] = {
#ifdef GL_X86
    {"avx512", isa_avx512::MR, isa_avx512::NR, isa_avx512::gemm_block, isa_avx512::gemm_parallel, isa_avx512::gemv_block, isa_avx512::gemm_few_rows, has_avx512,
     {isa_avx512::gelu_fwd, isa_avx512::gelu_bwd, isa_avx512::exp_shift_sum, isa_avx512::max_of, isa_avx512::sum_middle}},
    {"avx2+fma", isa_avx2::MR, isa_avx2::NR, isa_avx2::gemm_block, isa_avx2::gemm_parallel, isa_avx2::gemv_block, isa_avx2::gemm_few_rows, has_avx2,
     {isa_avx2::gelu_fwd, isa_avx2::gelu_bwd, isa_avx2::exp_shift_sum, isa_avx2::max_of, isa_avx2::sum_middle}},
#endif
    {"scalar", isa_scalar::MR, isa_scalar::NR, isa_scalar::gemm_block, isa_scalar::gemm_parallel, isa_scalar::gemv_block, isa_scalar::gemm_few_rows, always,
     {isa_scalar::gelu_fwd, isa_scalar::gelu_bwd, isa_scalar::exp_shift_sum, isa_scalar::max_of, isa_scalar::sum_middle}},
};

static const Isa* pick_default() {
  const char* forced = std::getenv("GPTLAB_ISA");
  for (const Isa& i : kIsas)
    if (i.supported() && (!forced || !*forced || std::string(forced) == i.name)) return &i;
  for (const Isa& i : kIsas)
    if (i.supported()) return &i;
  return &kIsas[sizeof(kIsas) / sizeof(kIsas[0]) - 1];
}

static const Isa* g_isa = nullptr;
const Isa& isa() {
  if (!g_isa) g_isa = pick_default();
  return *g_isa;
}

const char* isa_name() { return isa().name; }

const ElementwiseKernels& ew() { return isa().ew; }

std::vector<std::string> isas_available() {
  std::vector<std::string> out;
  for (const Isa& i : kIsas)
    if (i.supported()) out.emplace_back(i.name);
  return out;
}

bool set_isa(const std::string& name) {
  for (const Isa& i : kIsas)
    if (name == i.name && i.supported()) {
      g_isa = &i;
      return true;
    }
  return false;
}

}  // namespace gl
