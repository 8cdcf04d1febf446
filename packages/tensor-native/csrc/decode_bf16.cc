// Per-ISA bfloat16 matrix-vector kernels of the decode step (decode_bf16.inc), picked to match the instruction
// set in use (isa(): GPTLAB_ISA / setIsa apply here too).
#include <cstdint>
#include <cstring>

#include "decode.h"
#include "decode_vec.h"
#include "isa.h"

namespace bf16_scalar {
GL_DECODE_SCALAR_OPS
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
#pragma GCC push_options
#pragma GCC target("avx2,fma")
namespace bf16_avx2 {
GL_DECODE_VECTOR_OPS(__m256, 8, _mm256)
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
GL_DECODE_VECTOR_OPS(__m512, 16, _mm512)
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

void gemv_bf16_panels(const float* x, long K, const uint16_t* P, float* y, long N, long n0, long n1) {
  const char* name = isa().name;
#ifdef GL_X86
  if (std::strcmp(name, "avx512") == 0) return bf16_avx512::gemv_bf16_panels(x, K, P, y, N, n0, n1);
  if (std::strcmp(name, "avx2+fma") == 0) return bf16_avx2::gemv_bf16_panels(x, K, P, y, N, n0, n1);
#endif
  bf16_scalar::gemv_bf16_panels(x, K, P, y, N, n0, n1);
}

void bf16_pack_panels(const float* W, long K, long N, uint16_t* dst) {
  const long N64 = (N + 63) / 64 * 64;
  for (long k = 0; k < K; k++)
    for (long n = 0; n < N64; n++) dst[(n / 64) * K * 64 + k * 64 + n % 64] = n < N ? f32_to_bf16(W[k * N + n]) : 0;
}

uint16_t f32_to_bf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof(u));
  u += 0x7fffu + ((u >> 16) & 1u);  // round to nearest, ties to even
  return (uint16_t)(u >> 16);
}

}  // namespace gl
