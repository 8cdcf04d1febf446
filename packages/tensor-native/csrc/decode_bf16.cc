// Per-ISA bfloat16 matrix-vector kernels of the decode step (decode_bf16.inc), picked to match the instruction
// set in use (isa(): GPTLAB_ISA / setIsa apply here too).
#include <cstdint>
#include <cstring>

#include "decode.h"
#include "isa.h"

namespace bf16_scalar {
typedef float V;
static constexpr int VL = 1;
static inline V vzero() { return 0.f; }
static inline V vset1(float x) { return x; }
static inline V vload(const float* p) { return *p; }
static inline void vstore(float* p, V v) { *p = v; }
static inline V vfma(V a, V b, V c) { return a * b + c; }
static inline float vhsum(V a) { return a; }
static inline V vload_bf16(const uint16_t* p) {
  const uint32_t bits = (uint32_t)*p << 16;
  float f;
  std::memcpy(&f, &bits, sizeof(f));
  return f;
}
#include "decode_bf16.inc"
}  // namespace bf16_scalar

#ifdef GL_X86
// The float vector primitives decode_bf16.inc needs, for the intrinsics prefix P (_mm256, _mm512).
#define GL_BF16_VECTOR_OPS(VT, lanes, P)                                      \
  typedef VT V;                                                              \
  static constexpr int VL = lanes;                                           \
  static inline V vzero() { return P##_setzero_ps(); }                       \
  static inline V vset1(float x) { return P##_set1_ps(x); }                  \
  static inline V vload(const float* p) { return P##_loadu_ps(p); }          \
  static inline void vstore(float* p, V v) { P##_storeu_ps(p, v); }          \
  static inline V vfma(V a, V b, V c) { return P##_fmadd_ps(a, b, c); }

#pragma GCC push_options
#pragma GCC target("avx2,fma")
namespace bf16_avx2 {
GL_BF16_VECTOR_OPS(__m256, 8, _mm256)
static inline float vhsum(V a) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
  return _mm_cvtss_f32(s);
}
static inline V vload_bf16(const uint16_t* p) {
  const __m256i w = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  return _mm256_castsi256_ps(_mm256_slli_epi32(w, 16));
}
#include "decode_bf16.inc"
}  // namespace bf16_avx2
#pragma GCC pop_options

#pragma GCC push_options
#pragma GCC target("avx512f,avx512vl,avx512dq,avx2,fma")
namespace bf16_avx512 {
GL_BF16_VECTOR_OPS(__m512, 16, _mm512)
static inline float vhsum(V a) { return _mm512_reduce_add_ps(a); }
static inline V vload_bf16(const uint16_t* p) {
  const __m512i w = _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
  return _mm512_castsi512_ps(_mm512_slli_epi32(w, 16));
}
#include "decode_bf16.inc"
}  // namespace bf16_avx512
#pragma GCC pop_options
#endif

namespace gl {

void gemv_bf16(const float* x, long K, const uint16_t* W, long rs, long cs, float* y, long n0, long n1) {
  const char* name = isa().name;
#ifdef GL_X86
  if (std::strcmp(name, "avx512") == 0) return bf16_avx512::gemv_bf16(x, K, W, rs, cs, y, n0, n1);
  if (std::strcmp(name, "avx2+fma") == 0) return bf16_avx2::gemv_bf16(x, K, W, rs, cs, y, n0, n1);
#endif
  bf16_scalar::gemv_bf16(x, K, W, rs, cs, y, n0, n1);
}

uint16_t f32_to_bf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof(u));
  u += 0x7fffu + ((u >> 16) & 1u);  // round to nearest, ties to even
  return (uint16_t)(u >> 16);
}

}  // namespace gl
