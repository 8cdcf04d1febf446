// One-token GPT decode step in a single native call: the weights snapshot (DecodeModel) and a per-sequence
// key/value cache (DecodeCache) live in native memory, so a step pays no per-op dispatch.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace gl {

/** int8 weights (decode_q8.cc): panels of kQ8Panel columns, one scale per column per kQ8Group k's. */
constexpr long kQ8Panel = 64, kQ8Group = 64;

/**
 * A weight matrix W(k, n), k < K, n < N, held as int8: W(k, n) ≈ scale[(k / G)·N64 + n] · q(k, n) with the scale
 * the group's absmax / 127. q is [N64 / kQ8Panel][K][kQ8Panel] (a panel's k-th row is one 64-byte line); columns
 * N … N64 are zero padding.
 */
struct Q8Matrix {
  long K = 0, N = 0, N64 = 0, G = 0;
  const int8_t* q = nullptr;
  const float* scale = nullptr;
};
/** Bytes q8_quantize writes for a K × N matrix (64-byte aligned parts). */
size_t q8_bytes(long K, long N);
/** Quantises W(k, n) = W[k*rs + n*cs] into `dst` (64-byte aligned, q8_bytes long). */
Q8Matrix q8_quantize(const float* W, long rs, long cs, long K, long N, void* dst);
/** y[n] = Σ_k x[k]·W(k, n) for n in [n0, n1), n0 a multiple of kQ8Panel. */
void gemv_q8(const float* x, const Q8Matrix& W, float* y, long n0, long n1);
/** out[k] = the dequantised W(k, n), k < K (the embedding row of a quantised tied wte). */
void q8_column(const Q8Matrix& W, long n, float* out);
/** y[0, N) = x·W, split over the pool into panel-aligned column slices as the decode step does (decode.cc). */
void decode_gemv_q8(const float* x, const Q8Matrix& W, float* y);

/** A dense GPT's weights, copied into one aligned block (Hugging Face GPT-2 layout: Conv1D weights [in, out]). */
struct DecodeModel {
  static constexpr uint32_t kTag = 0x67446d31;  // checked when a handle comes back from JS
  uint32_t tag = kTag;
  long L = 0, H = 0, C = 0, V = 0, P = 0;
  float eps = 1e-5f;
  bool postLN = false;
  /** The weight matrices (and wte) held as bfloat16 only: half the bytes streamed per token (opt-in). */
  bool bf16 = false;
  /** ... or as int8 (Q8Matrix) only: about a quarter of the bytes (opt-in). */
  bool q8 = false;
  struct Layer {
    const float *ln1_g, *ln1_b, *attn_w, *attn_b, *proj_w, *proj_b, *ln2_g, *ln2_b, *fc_w, *fc_b, *out_w, *out_b;
    const uint16_t *attn_h, *proj_h, *fc_h, *out_h;  // bf16 mode: the matrices as 64-column panels (floats null)
    Q8Matrix attn_q{}, proj_q{}, fc_q{}, out_q{};      // int8 mode: the matrices (the other pointers are null)
  };
  const float *wte = nullptr, *wpe = nullptr, *lnf_g = nullptr, *lnf_b = nullptr;
  const uint16_t* wte_h = nullptr;
  Q8Matrix wte_q;  // int8 mode: wte as the head's [C, V] matrix (W(k, v) = wte[v][k])
  std::vector<Layer> layers;
  std::unique_ptr<float, void (*)(void*)> storage{nullptr, nullptr};
  std::unique_ptr<uint16_t, void (*)(void*)> storage16{nullptr, nullptr};
  std::unique_ptr<char, void (*)(void*)> storage8{nullptr, nullptr};

  /**
   * Number of floats of each tensor in `weights` order: wte [V,C], wpe [P,C], then per layer ln_1 g/b, c_attn w/b,
   * attn c_proj w/b, ln_2 g/b, c_fc w/b, mlp c_proj w/b, then ln_f g/b (pre-LN only).
   */
  static std::vector<long> sizes(long L, long C, long V, long P, bool postLN);
  enum class Weights { float32, bfloat16, int8 };
  /** Copies the tensors (sizes() order and lengths, checked by the caller) into one aligned block. */
  DecodeModel(long L, long H, long C, long V, long P, float eps, bool postLN, const std::vector<const float*>& weights,
              Weights dtype = Weights::float32);
};

/** Keys and values of one sequence: per layer [len][C] (head h at columns h·D … h·D + D), grown on demand. */
struct DecodeCache {
  static constexpr uint32_t kTag = 0x67446331;
  uint32_t tag = kTag;
  long L, C, len = 0;
  std::vector<std::vector<float>> k, v;
  DecodeCache(long L, long C) : L(L), C(C), k(L), v(L) {}
  void reserve(long positions);
};

/**
 * Appends `token` at position cache.len (< m.P) and writes the next-token logits [V]: embedding, the blocks
 * (LayerNorm, fused QKV, causal attention over the cache, projection, MLP with tanh GELU, residuals; pre-LN or
 * post-LN), ln_f (pre-LN) and the tied head. Each product runs the matrix-vector kernel the tfjs path runs (same
 * summation order), so the logits equal the tfjs decode step's.
 */
/** y[j] = Σ_k x[k]·W(k, j), j in [n0, n1), over bfloat16 weights (cs == 1 or rs == 1); decode_bf16.cc. */
void gemv_bf16(const float* x, long K, const uint16_t* W, long rs, long cs, float* y, long n0, long n1);
/** Over a row-major [K, N] bfloat16 matrix packed by bf16_pack_panels (n0 a multiple of 64); decode_bf16.cc. */
void gemv_bf16_panels(const float* x, long K, const uint16_t* P, float* y, long N, long n0, long n1);
/** Rounds row-major W [K, N] to bfloat16 as panels of 64 columns, [N64 / 64][K][64] (padding columns 0). */
void bf16_pack_panels(const float* W, long K, long N, uint16_t* dst);
/** Round to nearest even. */
uint16_t f32_to_bf16(float f);

void decode_step(const DecodeModel& m, DecodeCache& cache, long token, float* logits);

}  // namespace gl
