// The native decode step (decode.h). Every product is the ISA's matrix-vector kernel (gemv_block) split into the
// same 16-aligned column slices as sgemm.cc's matrix-vector path, and LayerNorm, GELU and softmax are the kernels
// the tfjs path registers, so each float is computed exactly as the tfjs decode step computes it; what goes away
// is tfjs's per-op dispatch, allocation and the K/V concatenation of every layer at every step.
#include "decode.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <new>
#include <stdexcept>

#include "isa.h"
#include "ops.h"

namespace gl {

std::vector<long> DecodeModel::sizes(long L, long C, long V, long P, bool postLN) {
  std::vector<long> s{V * C, P * C};
  for (long l = 0; l < L; l++) {
    const long per[] = {C, C, C * 3 * C, 3 * C, C * C, C, C, C, C * 4 * C, 4 * C, 4 * C * C, C};
    s.insert(s.end(), std::begin(per), std::end(per));
  }
  if (!postLN) s.insert(s.end(), {C, C});
  return s;
}

// The weight matrices in sizes() order: wte and each layer's c_attn, attn c_proj, c_fc, mlp c_proj.
static bool is_matrix(size_t i) {
  if (i == 0) return true;
  const size_t r = (i - 2) % 12;
  return i >= 2 && (r == 2 || r == 4 || r == 8 || r == 10);
}

template <typename T>
static std::unique_ptr<T, void (*)(void*)> aligned_block(long count) {
  void* p = std::aligned_alloc(64, ((size_t)count * sizeof(T) + 63) / 64 * 64 + 64);
  if (!p) throw std::bad_alloc();
  return std::unique_ptr<T, void (*)(void*)>(static_cast<T*>(p), std::free);
}

// bf16 and int8 modes: the [K, N] shape of weight matrix i (wte as the head's [C, V], read transposed).
static void matrix_shape(size_t i, long C, long V, long& K, long& N) {
  const size_t r = i == 0 ? 0 : (i - 2) % 12;
  K = r == 10 ? 4 * C : C;
  N = i == 0 ? V : r == 2 ? 3 * C : r == 8 ? 4 * C : C;
}

DecodeModel::DecodeModel(long L_, long H_, long C_, long V_, long P_, float eps_, bool postLN_,
                         const std::vector<const float*>& weights, Weights dtype)
    : L(L_), H(H_), C(C_), V(V_), P(P_), eps(eps_), postLN(postLN_), bf16(dtype == Weights::bfloat16),
      q8(dtype == Weights::int8) {
  const std::vector<long> n = sizes(L, C, V, P, postLN);
  if (weights.size() != n.size()) throw std::invalid_argument("decode model: wrong number of weight tensors");
  // Each tensor starts on a 64-byte boundary (16 floats / 32 bf16) so the streamed rows begin on cache lines.
  // In bf16 (int8) mode the matrices go to the 16-bit (int8) block only.
  std::vector<long> offset(n.size()), offset16(n.size(), -1), offset8(n.size(), -1);
  long total = 0, total16 = 0, total8 = 0;
  for (size_t i = 0; i < n.size(); i++) {
    long K, N;
    matrix_shape(i, C, V, K, N);
    if (q8 && is_matrix(i)) {
      offset8[i] = total8;
      total8 += (long)q8_bytes(K, N);  // a multiple of 64
    } else if (bf16 && is_matrix(i)) {
      offset16[i] = total16;
      // a layer's matrices as panels of 64 columns (bf16_pack_panels); wte row-major (embedding rows, the head)
      total16 += i == 0 ? (n[i] + 31) / 32 * 32 : K * ((N + 63) / 64 * 64);
    } else {
      offset[i] = total;
      total += (n[i] + 15) / 16 * 16;
    }
  }
  storage = aligned_block<float>(total);
  if (bf16) storage16 = aligned_block<uint16_t>(total16);
  if (q8) storage8 = aligned_block<char>(total8);
  std::vector<const float*> at(n.size(), nullptr);
  std::vector<const uint16_t*> at16(n.size(), nullptr);
  std::vector<Q8Matrix> at8(n.size());
  for (size_t i = 0; i < n.size(); i++) {
    if (offset8[i] >= 0) {
      long K, N;
      matrix_shape(i, C, V, K, N);
      const bool head = i == 0;  // wte [V, C]: W(k, v) = wte[v*C + k]
      at8[i] = q8_quantize(weights[i], head ? 1 : N, head ? K : 1, K, N, storage8.get() + offset8[i]);
    } else if (offset16[i] >= 0) {
      uint16_t* dst = storage16.get() + offset16[i];
      if (i == 0) {
        for (long j = 0; j < n[i]; j++) dst[j] = f32_to_bf16(weights[i][j]);
      } else {
        long K, N;
        matrix_shape(i, C, V, K, N);
        bf16_pack_panels(weights[i], K, N, dst);
      }
      at16[i] = dst;
    } else {
      float* dst = storage.get() + offset[i];
      std::memcpy(dst, weights[i], (size_t)n[i] * sizeof(float));
      at[i] = dst;
    }
  }
  wte = at[0];
  wte_h = at16[0];
  wte_q = at8[0];
  wpe = at[1];
  for (long l = 0; l < L; l++) {
    const float* const* w = at.data() + 2 + 12 * l;
    const uint16_t* const* h = at16.data() + 2 + 12 * l;
    const Q8Matrix* q = at8.data() + 2 + 12 * l;
    layers.push_back({w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7], w[8], w[9], w[10], w[11], h[2], h[4], h[8],
                      h[10], q[2], q[4], q[8], q[10]});
  }
  if (!postLN) {
    lnf_g = at[2 + 12 * L];
    lnf_b = at[3 + 12 * L];
  }
}

void DecodeCache::reserve(long positions) {
  if ((long)k[0].size() >= positions * C) return;
  const size_t want = (size_t)std::max(positions, 2 * (long)(k[0].size() / std::max(1L, C))) * C;
  for (long l = 0; l < L; l++) {
    k[l].resize(want);
    v[l].resize(want);
  }
}

namespace {

// y[0..N) = x[0..K)·W (+ bias), W(k, j) = W[k*rs + j*cs], split over the pool as sgemm's matrix-vector path.
struct GemvTask {
  const Isa* is;
  const float* x;
  long K;
  const float* W;
  const uint16_t* Wh;  // bf16 weights instead of W
  const Q8Matrix* Wq;  // int8 weights instead of W (when Wq->q)
  long rs, cs;
  float* y;
  const float* bias;
  long N, chunk, parts;
  std::atomic<long> next{0};
};

void gemv_part(void* ctx, int, int) {
  GemvTask& t = *static_cast<GemvTask*>(ctx);
  for (long p; (p = t.next.fetch_add(1)) < t.parts;) {
    const long n0 = p * t.chunk, n1 = std::min(t.N, n0 + t.chunk);
    if (n1 <= n0) continue;
    if (t.Wq)
      gemv_q8(t.x, *t.Wq, t.y, n0, n1);
    else if (t.Wh && t.cs == 1)  // a layer's matrix, packed as panels
      gemv_bf16_panels(t.x, t.K, t.Wh, t.y, t.N, n0, n1);
    else if (t.Wh)
      gemv_bf16(t.x, t.K, t.Wh, t.rs, t.cs, t.y, n0, n1);
    else
      t.is->gemv(t.x, t.K, t.W, t.rs, t.cs, t.y, n0, n1, false);
    if (t.bias)
      for (long j = n0; j < n1; j++) t.y[j] += t.bias[j];
  }
}

void gemv(const float* x, long K, const float* W, const uint16_t* Wh, const Q8Matrix& Wq, long rs, long cs, float* y,
          long N, const float* bias) {
  const int T = 2.0 * N * K < 2e5 ? 1 : threads();
  const long parts = T > 1 ? std::max(1L, std::min<long>(4L * T, N / 256)) : 1;
  const long align = Wq.q || (Wh && cs == 1) ? 64 : 16;  // int8 and bf16 panel slices start on a panel
  const long chunk = ((N + parts - 1) / parts + align - 1) / align * align;
  GemvTask t{&isa(), x, K, W, Wh, Wq.q ? &Wq : nullptr, rs, cs, y, bias, N, chunk, parts};
  parallel(T, gemv_part, &t);
}

// Attention of one query over the cached positions [0, Tk), a unit per head (heads are independent).
struct AttnTask {
  const Isa* is;
  const float* q;  // [C], already scaled
  const float* K;  // [Tk][C]
  const float* V;
  float* scores;  // [H][Tk]
  float* probs;   // [H][Tk]
  float* out;     // [C]
  long H, D, C, Tk;
  std::atomic<long> next{0};
};

void attn_part(void* ctx, int, int) {
  AttnTask& t = *static_cast<AttnTask*>(ctx);
  const ElementwiseKernels& ew = t.is->ew;
  for (long h; (h = t.next.fetch_add(1)) < t.H;) {
    float* s = t.scores + h * t.Tk;
    float* p = t.probs + h * t.Tk;
    // s[j] = q_h · K[j, h]: the transposed matrix-vector path, as batchMatMul(q, k, false, true) runs it.
    t.is->gemv(t.q + h * t.D, t.D, t.K + h * t.D, 1, t.C, s, 0, t.Tk, false);
    // softmax as ops.cc's softmax_rows (the registered Softmax kernel): max, exp-shift-sum, scale.
    const float m = ew.max(s, t.Tk);
    const float sum = ew.exp_shift_sum(s, m, p, t.Tk);
    const float inv = 1.f / sum;
    for (long j = 0; j < t.Tk; j++) p[j] *= inv;
    // out_h = p · V[:, h]: the row-major matrix-vector path.
    t.is->gemv(p, t.Tk, t.V + h * t.D, t.C, 1, t.out + h * t.D, 0, t.D, false);
  }
}

struct Scratch {
  std::vector<float> x, h, xhat, qkv, att, y, fc, act, scores, probs;
  float rstd[1];
};

void layer_norm_row(const float* x, const float* g, const float* b, float* y, Scratch& s, long C, float eps) {
  layer_norm(x, g, b, y, s.xhat.data(), s.rstd, 1, C, eps);
}

void add_into(float* x, const float* y, long n) {
  for (long i = 0; i < n; i++) x[i] += y[i];
}

}  // namespace

void decode_gemv_q8(const float* x, const Q8Matrix& W, float* y) {
  gemv(x, W.K, nullptr, nullptr, W, 0, 0, y, W.N, nullptr);
}

void decode_step(const DecodeModel& m, DecodeCache& cache, long token, float* logits) {
  if (token < 0 || token >= m.V) throw std::out_of_range("decode step: token outside the vocabulary");
  const long pos = cache.len;
  if (pos >= m.P) throw std::out_of_range("decode step: the cache already holds nPositions positions");
  const long C = m.C, H = m.H, D = C / H;
  const long Tk = pos + 1;
  cache.reserve(Tk);
  static thread_local Scratch s;
  s.x.resize(C);
  s.h.resize(C);
  s.xhat.resize(C);
  s.qkv.resize(3 * C);
  s.att.resize(C);
  s.y.resize(C);
  s.fc.resize(4 * C);
  s.act.resize(4 * C);
  s.scores.resize(H * Tk);
  s.probs.resize(H * Tk);
  float* x = s.x.data();
  const float* pe = m.wpe + pos * C;
  if (m.wte_q.q) {
    q8_column(m.wte_q, token, x);
    for (long i = 0; i < C; i++) x[i] += pe[i];
  } else if (m.wte_h) {
    const uint16_t* te = m.wte_h + token * C;
    for (long i = 0; i < C; i++) {
      const uint32_t bits = (uint32_t)te[i] << 16;
      float e;
      std::memcpy(&e, &bits, sizeof(e));
      x[i] = e + pe[i];
    }
  } else {
    const float* te = m.wte + token * C;
    for (long i = 0; i < C; i++) x[i] = te[i] + pe[i];
  }
  // tfjs multiplies q by the float32 of the JS double 1/√D.
  const float scale = (float)(1.0 / std::sqrt((double)D));
  for (long l = 0; l < m.L; l++) {
    const DecodeModel::Layer& w = m.layers[l];
    // Attention input: ln_1(x) (pre-LN) or x itself (post-LN).
    const float* a = x;
    if (!m.postLN) {
      layer_norm_row(x, w.ln1_g, w.ln1_b, s.h.data(), s, C, m.eps);
      a = s.h.data();
    }
    gemv(a, C, w.attn_w, w.attn_h, w.attn_q, 3 * C, 1, s.qkv.data(), 3 * C, w.attn_b);
    float* q = s.qkv.data();
    for (long i = 0; i < C; i++) q[i] *= scale;
    std::memcpy(cache.k[l].data() + pos * C, q + C, C * sizeof(float));
    std::memcpy(cache.v[l].data() + pos * C, q + 2 * C, C * sizeof(float));
    AttnTask at{&isa(), q, cache.k[l].data(), cache.v[l].data(), s.scores.data(), s.probs.data(),
                s.att.data(), H, D, C, Tk};
    parallel(Tk * C < 65536 ? 1 : threads(), attn_part, &at);
    gemv(s.att.data(), C, w.proj_w, w.proj_h, w.proj_q, C, 1, s.y.data(), C, w.proj_b);
    add_into(x, s.y.data(), C);
    // MLP input: ln_2(x) (pre-LN), or x after x = ln_1(x + attn) (post-LN).
    if (m.postLN) {
      layer_norm_row(x, w.ln1_g, w.ln1_b, s.h.data(), s, C, m.eps);
      std::memcpy(x, s.h.data(), C * sizeof(float));
      a = x;
    } else {
      layer_norm_row(x, w.ln2_g, w.ln2_b, s.h.data(), s, C, m.eps);
      a = s.h.data();
    }
    gemv(a, C, w.fc_w, w.fc_h, w.fc_q, 4 * C, 1, s.fc.data(), 4 * C, w.fc_b);
    gelu(s.fc.data(), s.act.data(), 4 * C);
    gemv(s.act.data(), 4 * C, w.out_w, w.out_h, w.out_q, C, 1, s.y.data(), C, w.out_b);
    add_into(x, s.y.data(), C);
    if (m.postLN) {
      layer_norm_row(x, w.ln2_g, w.ln2_b, s.h.data(), s, C, m.eps);
      std::memcpy(x, s.h.data(), C * sizeof(float));
    }
  }
  const float* hidden = x;
  if (!m.postLN) {
    layer_norm_row(x, m.lnf_g, m.lnf_b, s.h.data(), s, C, m.eps);
    hidden = s.h.data();
  }
  // Tied head: logits[v] = hidden · wte[v], W(k, v) = wte[v*C + k] (the transposed matrix-vector path).
  gemv(hidden, C, m.wte, m.wte_h, m.wte_q, 1, C, logits, m.V, nullptr);
  cache.len = Tk;
}

}  // namespace gl
