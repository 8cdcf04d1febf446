// The decode step of R rows (decode_rows.h). Every weight product goes through sgemm() as R one-row matrices
// against one shared weight ([R, 1, K] × [K, N]): sgemm hands that to the few-row kernels, which stream the weight
// once per 8 rows and sum each element in the matrix-vector kernel's order (one row: the matrix-vector path
// itself). Attention runs per (row, head) over that row's own cache with the very calls decode_step makes, and
// LayerNorm / GELU are the same row kernels, so row r's logits equal decode_step's on caches[r] alone, bit for bit.
// What a batched step saves over R single steps is the weight stream (read once, not R times) and R − 1 calls.
#include "decode_rows.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "isa.h"
#include "kernels.h"
#include "ops.h"

namespace gl {

namespace {

// Attention of every row's new query over that row's cached positions; units are (row, head) pairs.
struct RowsAttnTask {
  const Isa* is;
  const float* qkv;  // [R][3C], q already scaled
  DecodeCache* const* caches;
  long layer;
  const long* keys;    // [R] keys of each row (its position + 1)
  const long* offset;  // [R] where the row's H × keys scores start
  float* scores;
  float* probs;
  float* out;  // [R][C]
  long R, H, D, C;
  std::atomic<long> next{0};
};

void rows_attn_part(void* ctx, int, int) {
  RowsAttnTask& t = *static_cast<RowsAttnTask*>(ctx);
  const ElementwiseKernels& ew = t.is->ew;
  for (long u; (u = t.next.fetch_add(1)) < t.R * t.H;) {
    const long r = u / t.H, h = u % t.H, Tk = t.keys[r];
    const float* K = t.caches[r]->k[t.layer].data();
    const float* V = t.caches[r]->v[t.layer].data();
    float* s = t.scores + t.offset[r] + h * Tk;
    float* p = t.probs + t.offset[r] + h * Tk;
    // decode_step's attention of one head, call for call (so the same bits): scores by the transposed
    // matrix-vector product, softmax as the registered kernel, output by the row-major one.
    t.is->gemv(t.qkv + r * 3 * t.C + h * t.D, t.D, K + h * t.D, 1, t.C, s, 0, Tk, false);
    const float m = ew.max(s, Tk);
    const float inv = 1.f / ew.exp_shift_sum(s, m, p, Tk);
    for (long j = 0; j < Tk; j++) p[j] *= inv;
    t.is->gemv(p, Tk, V + h * t.D, t.C, 1, t.out + r * t.C + h * t.D, 0, t.D, false);
  }
}

// Y[r] = X[r]·W (+ bias) for R rows of K (rows K apart), W [K, N] row-major, or [N, K] when `transposed`.
void rows_product(const float* X, long R, long K, const float* W, bool transposed, long N, const float* bias, float* Y) {
  sgemm(R, 1, N, K, X, K, false, W, 0, transposed, Y, false);
  if (bias)
    for (long r = 0; r < R; r++)
      for (long j = 0; j < N; j++) Y[r * N + j] += bias[j];
}

void add_rows(float* x, const float* y, long n) {
  for (long i = 0; i < n; i++) x[i] += y[i];
}

struct RowsScratch {
  std::vector<float> x, h, xhat, rstd, qkv, att, y, fc, act, scores, probs;
  std::vector<long> keys, offset;
};

}  // namespace

void decode_rows_step(const DecodeModel& m, DecodeCache* const* caches, long R, const long* tokens, float* logits) {
  // The rows step is float32 only: a bfloat16 or int8 snapshot holds its matrices in another block (their float
  // pointers null), and the few-row kernels read float32 weights.
  if (m.bf16 || m.q8 || !m.wte || !m.layers[0].attn_w || !m.layers[0].fc_w)
    throw std::invalid_argument("decode rows: float32 weight snapshots only (this one holds bfloat16 or int8 matrices)");
  const long C = m.C, H = m.H, D = C / H, V = m.V;
  static thread_local RowsScratch s;
  s.keys.resize(R);
  s.offset.resize(R);
  long total = 0;
  for (long r = 0; r < R; r++) {
    DecodeCache& c = *caches[r];
    if (c.L != m.L || c.C != m.C) throw std::invalid_argument("decode rows: a cache belongs to a model of another shape");
    if (tokens[r] < 0 || tokens[r] >= V) throw std::out_of_range("decode rows: token outside the vocabulary");
    if (c.len >= m.P) throw std::out_of_range("decode rows: a cache already holds nPositions positions");
    for (long q = 0; q < r; q++)
      if (caches[q] == caches[r]) throw std::invalid_argument("decode rows: the same cache twice");
    s.keys[r] = c.len + 1;
    s.offset[r] = total;
    total += H * s.keys[r];
  }
  for (long r = 0; r < R; r++) caches[r]->reserve(s.keys[r]);
  for (auto* v : {&s.x, &s.h, &s.xhat, &s.att, &s.y}) v->resize(R * C);
  s.rstd.resize(R);
  s.qkv.resize(R * 3 * C);
  s.fc.resize(R * 4 * C);
  s.act.resize(R * 4 * C);
  s.scores.resize(total);
  s.probs.resize(total);
  float* x = s.x.data();
  for (long r = 0; r < R; r++) {
    const float* te = m.wte + tokens[r] * C;
    const float* pe = m.wpe + caches[r]->len * C;
    for (long i = 0; i < C; i++) x[r * C + i] = te[i] + pe[i];
  }
  const float scale = (float)(1.0 / std::sqrt((double)D));  // as decode_step: tfjs's float32 of 1/√D
  auto norm = [&](const float* in, const float* g, const float* b, float* out) {
    layer_norm(in, g, b, out, s.xhat.data(), s.rstd.data(), R, C, m.eps);
  };
  for (long l = 0; l < m.L; l++) {
    const DecodeModel::Layer& w = m.layers[l];
    const float* a = x;
    if (!m.postLN) {
      norm(x, w.ln1_g, w.ln1_b, s.h.data());
      a = s.h.data();
    }
    rows_product(a, R, C, w.attn_w, false, 3 * C, w.attn_b, s.qkv.data());
    for (long r = 0; r < R; r++) {
      float* q = s.qkv.data() + r * 3 * C;
      for (long i = 0; i < C; i++) q[i] *= scale;
      DecodeCache& c = *caches[r];
      std::memcpy(c.k[l].data() + c.len * C, q + C, C * sizeof(float));
      std::memcpy(c.v[l].data() + c.len * C, q + 2 * C, C * sizeof(float));
    }
    RowsAttnTask at{&isa(), s.qkv.data(), caches, l, s.keys.data(), s.offset.data(), s.scores.data(),
                    s.probs.data(), s.att.data(), R, H, D, C};
    parallel(total * D < 65536 ? 1 : threads(), rows_attn_part, &at);
    rows_product(s.att.data(), R, C, w.proj_w, false, C, w.proj_b, s.y.data());
    add_rows(x, s.y.data(), R * C);
    if (m.postLN) {
      norm(x, w.ln1_g, w.ln1_b, s.h.data());
      std::memcpy(x, s.h.data(), R * C * sizeof(float));
      a = x;
    } else {
      norm(x, w.ln2_g, w.ln2_b, s.h.data());
      a = s.h.data();
    }
    rows_product(a, R, C, w.fc_w, false, 4 * C, w.fc_b, s.fc.data());
    // Row by row, as decode_step calls it (one row's 4C elements per call).
    for (long r = 0; r < R; r++) gelu(s.fc.data() + r * 4 * C, s.act.data() + r * 4 * C, 4 * C);
    rows_product(s.act.data(), R, 4 * C, w.out_w, false, C, w.out_b, s.y.data());
    add_rows(x, s.y.data(), R * C);
    if (m.postLN) {
      norm(x, w.ln2_g, w.ln2_b, s.h.data());
      std::memcpy(x, s.h.data(), R * C * sizeof(float));
    }
  }
  const float* hidden = x;
  if (!m.postLN) {
    norm(x, m.lnf_g, m.lnf_b, s.h.data());
    hidden = s.h.data();
  }
  // Tied head: wte [V, C] is the transposed weight.
  rows_product(hidden, R, C, m.wte, true, V, nullptr, logits);
  for (long r = 0; r < R; r++) caches[r]->len += 1;
}

void decode_cache_copy(DecodeCache& dst, const DecodeCache& src) {
  if (dst.L != src.L || dst.C != src.C) throw std::invalid_argument("decode cache copy: caches of different shapes");
  if (&dst == &src) return;
  dst.reserve(std::max(src.len, 1L));
  for (long l = 0; l < src.L; l++) {
    std::copy(src.k[l].begin(), src.k[l].begin() + src.len * src.C, dst.k[l].begin());
    std::copy(src.v[l].begin(), src.v[l].begin() + src.len * src.C, dst.v[l].begin());
  }
  dst.len = src.len;
}

}  // namespace gl
