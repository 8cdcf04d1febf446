// Weight-only int8 for the decode step (opt-in): each weight matrix is quantised per column and per group of
// kQ8Group k's (absmax / 127, round to nearest even), a quarter of float32's bytes streamed per token; the
// products widen the int8 in registers and accumulate in float32 (decode_q8.inc, one copy per ISA, picked like
// the other kernels: isa(), so GPTLAB_ISA / setIsa apply).
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "decode.h"
#include "decode_vec.h"
#include "isa.h"

namespace {
constexpr long kQ8Panel = gl::kQ8Panel;
}

namespace q8_scalar {
GL_DECODE_SCALAR_OPS
static inline V vload_i8(const int8_t* p) { return (float)*p; }
#include "decode_q8.inc"
}  // namespace q8_scalar

#ifdef GL_X86
#pragma GCC push_options
#pragma GCC target("avx2,fma")
namespace q8_avx2 {
GL_DECODE_VECTOR_OPS(__m256, 8, _mm256)
static inline V vload_i8(const int8_t* p) {
  return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p))));
}
#include "decode_q8.inc"
}  // namespace q8_avx2
#pragma GCC pop_options

#pragma GCC push_options
#pragma GCC target("avx512f,avx512vl,avx512dq,avx2,fma")
namespace q8_avx512 {
GL_DECODE_VECTOR_OPS(__m512, 16, _mm512)
static inline V vload_i8(const int8_t* p) {
  return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))));
}
#include "decode_q8.inc"
}  // namespace q8_avx512
#pragma GCC pop_options
#endif

namespace gl {

static long padded_columns(long N) { return (N + kQ8Panel - 1) / kQ8Panel * kQ8Panel; }
static long groups(long K) { return (K + kQ8Group - 1) / kQ8Group; }
static size_t round64(size_t n) { return (n + 63) / 64 * 64; }

size_t q8_bytes(long K, long N) {
  const long N64 = padded_columns(N);
  return round64((size_t)K * N64) + round64((size_t)groups(K) * N64 * sizeof(float));
}

namespace {
struct QuantizeTask {
  const float* W;
  long rs, cs;
  Q8Matrix m;
  int8_t* q;
  float* scale;
  std::atomic<long> next{0};
};

// Panels are independent (their own bytes and scale columns): handed out from a counter, so the result does not
// depend on the number of threads.
void quantize_panels(void* ctx, int, int) {
  QuantizeTask& t = *static_cast<QuantizeTask*>(ctx);
  const long K = t.m.K, N = t.m.N;
  for (long p; (p = t.next.fetch_add(1)) < t.m.N64 / kQ8Panel;)
    for (long g0 = 0, g = 0; g0 < K; g0 += kQ8Group, g++) {
      const long g1 = std::min(K, g0 + kQ8Group);
      for (long n = p * kQ8Panel; n < (p + 1) * kQ8Panel; n++) {
        int8_t* col = t.q + p * K * kQ8Panel + n % kQ8Panel;  // q(k, n) = col[k * kQ8Panel]
        const float* w = n < N ? t.W + n * t.cs : nullptr;     // W(k, n) = w[k * rs]
        float amax = 0.f;
        if (n < N)
          for (long k = g0; k < g1; k++) amax = std::max(amax, std::fabs(w[k * t.rs]));
        const float s = amax / 127.f;
        t.scale[g * t.m.N64 + n] = s;
        for (long k = g0; k < g1; k++) {
          // s == 0: an all-zero group (or a padding column, never read) stays 0
          const float r = s > 0.f ? std::nearbyint(w[k * t.rs] / s) : 0.f;
          col[k * kQ8Panel] = (int8_t)std::max(-127.f, std::min(127.f, r));
        }
      }
    }
}
}  // namespace

Q8Matrix q8_quantize(const float* W, long rs, long cs, long K, long N, void* dst) {
  Q8Matrix m;
  m.K = K;
  m.N = N;
  m.N64 = padded_columns(N);
  m.G = kQ8Group;
  int8_t* q = static_cast<int8_t*>(dst);
  float* scale = reinterpret_cast<float*>(static_cast<char*>(dst) + round64((size_t)K * m.N64));
  m.q = q;
  m.scale = scale;
  QuantizeTask t{W, rs, cs, m, q, scale};
  parallel(K * N < (1L << 16) ? 1 : threads(), quantize_panels, &t);
  return m;
}

void gemv_q8(const float* x, const Q8Matrix& W, float* y, long n0, long n1) {
  const char* name = isa().name;
#ifdef GL_X86
  if (std::strcmp(name, "avx512") == 0) return q8_avx512::gemv_q8(x, W, y, n0, n1);
  if (std::strcmp(name, "avx2+fma") == 0) return q8_avx2::gemv_q8(x, W, y, n0, n1);
#endif
  q8_scalar::gemv_q8(x, W, y, n0, n1);
}

void q8_column(const Q8Matrix& W, long n, float* out) {
  const int8_t* col = W.q + (n / kQ8Panel) * W.K * kQ8Panel + n % kQ8Panel;
  for (long k = 0; k < W.K; k++) out[k] = W.scale[(k / W.G) * W.N64 + n] * (float)col[k * kQ8Panel];
}

}  // namespace gl
