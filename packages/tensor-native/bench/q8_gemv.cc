// Kernel throughput of the decode step's weight products, float32 vs bfloat16 vs int8 (csrc/decode_q8.cc), against
// a plain sum over the same bytes (what the memory gives one pass): the 12 layers' distinct GPT-2-small matrices +
// the tied head, streamed from memory, split into column slices over the pool as decode.cc does. Best of N passes.
//   g++ -O3 -std=gnu++17 -fno-math-errno -fno-trapping-math -DGL_X86 -mavx2 -mfma -pthread \
//     -I packages/tensor-native/csrc packages/tensor-native/csrc/{isa,pool,decode_bf16,decode_q8}.cc \
//     packages/tensor-native/bench/q8_gemv.cc -o /tmp/q8_gemv && /tmp/q8_gemv 8
// Prints one JSON line per (kind, threads): ms per step, GB/s of weight bytes streamed, ratio to float32.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <vector>

#include "decode.h"
#include "isa.h"

namespace {

struct Mat {
  long K, N;
  bool transposed;  // the tied head: W [N, K]
  std::vector<float> f;
  std::vector<uint16_t> h, hp;  // bf16 row-major, and as panels (row-major matrices only)
  void* q8 = nullptr;
  gl::Q8Matrix q;
};

enum Kind { F32, BF16, Q8, SUM, BF16P };

struct Task {
  Kind kind;
  const Mat* m;
  const float* x;
  float* y;
  long chunk, parts;
  std::atomic<long> next{0};
  std::atomic<double> sink{0};
};

void part(void* ctx, int, int) {
  Task& t = *static_cast<Task*>(ctx);
  const Mat& m = *t.m;
  const long rs = m.transposed ? 1 : m.N, cs = m.transposed ? m.K : 1;
  for (long p; (p = t.next.fetch_add(1)) < t.parts;) {
    const long n0 = p * t.chunk, n1 = std::min(m.N, n0 + t.chunk);
    if (n1 <= n0) continue;
    if (t.kind == F32) gl::isa().gemv(t.x, m.K, m.f.data(), rs, cs, t.y, n0, n1, false);
    if (t.kind == BF16) gl::gemv_bf16(t.x, m.K, m.h.data(), rs, cs, t.y, n0, n1);
    if (t.kind == BF16P) {
      if (m.transposed)
        gl::gemv_bf16(t.x, m.K, m.h.data(), rs, cs, t.y, n0, n1);
      else
        gl::gemv_bf16_panels(t.x, m.K, m.hp.data(), t.y, m.N, n0, n1);
    }
    if (t.kind == Q8) gl::gemv_q8(t.x, m.q, t.y, n0, n1);
    if (t.kind == SUM) {  // the same float32 bytes, summed: the memory's rate for this slice
      const float* w = m.f.data() + n0 * m.K;
      const long n = (n1 - n0) * m.K;
      float s[8] = {0};
      for (long i = 0; i + 8 <= n; i += 8)
        for (int u = 0; u < 8; u++) s[u] += w[i + u];
      t.y[n0] = s[0] + s[1] + s[2] + s[3] + s[4] + s[5] + s[6] + s[7];
    }
  }
}

double step(std::vector<Mat>& mats, Kind kind, const float* x, float* y) {
  const auto t0 = std::chrono::steady_clock::now();
  for (const Mat& m : mats) {
    const int T = gl::threads();
    const long parts = T > 1 ? std::max(1L, std::min<long>(4L * T, m.N / 256)) : 1;
    const long align = kind == Q8 || kind == BF16P ? gl::kQ8Panel : 16;
    Task t{kind, &m, x, y, ((m.N + parts - 1) / parts + align - 1) / align * align, parts};
    gl::parallel(T, part, &t);
  }
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
  const int reps = argc > 1 ? std::atoi(argv[1]) : 8;
  const long C = 768, V = 50257, L = 12;
  std::mt19937 rng(1);
  std::normal_distribution<float> nd(0.f, 0.02f);
  std::vector<Mat> mats;
  for (long l = 0; l < L; l++)
    for (auto [K, N] : {std::pair<long, long>{C, 3 * C}, {C, C}, {C, 4 * C}, {4 * C, C}}) mats.push_back({K, N, false});
  mats.push_back({C, V, true});
  double f32_bytes = 0, bf16_bytes = 0, q8_bytes = 0;
  for (Mat& m : mats) {
    m.f.resize(m.K * m.N);
    for (float& v : m.f) v = nd(rng);
    m.h.resize(m.f.size());
    for (size_t i = 0; i < m.f.size(); i++) m.h[i] = gl::f32_to_bf16(m.f[i]);
    if (!m.transposed) {
      m.hp.resize(m.K * ((m.N + 63) / 64 * 64));
      gl::bf16_pack_panels(m.f.data(), m.K, m.N, m.hp.data());
    }
    const size_t b = gl::q8_bytes(m.K, m.N);
    m.q8 = std::aligned_alloc(64, b);
    m.q = gl::q8_quantize(m.f.data(), m.transposed ? 1 : m.N, m.transposed ? m.K : 1, m.K, m.N, m.q8);
    f32_bytes += 4.0 * m.f.size();
    bf16_bytes += 2.0 * m.f.size();
    q8_bytes += b;
  }
  std::vector<float> x(4 * C), y(V + 64);
  for (float& v : x) v = nd(rng) * 50;
  const char* names[] = {"float32", "bfloat16", "int8", "sum_f32_bytes", "bfloat16_panels"};
  const double bytes[] = {f32_bytes, bf16_bytes, q8_bytes, f32_bytes, bf16_bytes};
  for (int T : {1, 2}) {
    gl::set_threads(T);
    double best[5];
    for (int k = 0; k < 5; k++) best[k] = 1e9;
    for (int r = 0; r < reps; r++)  // alternate kinds so a busy moment hits them all
      for (int k = 0; k < 5; k++) best[k] = std::min(best[k], step(mats, (Kind)k, x.data(), y.data()));
    for (int k = 0; k < 5; k++)
      std::printf(
          "{\"bench\":\"q8_gemv_step\",\"isa\":\"%s\",\"threads\":%d,\"kind\":\"%s\",\"ms\":%.2f,\"gb_per_s\":%.1f,"
          "\"speedup_vs_f32\":%.2f}\n",
          gl::isa().name, T, names[k], best[k] * 1e3, bytes[k] / best[k] / 1e9, best[0] / best[k]);
  }
  return 0;
}
