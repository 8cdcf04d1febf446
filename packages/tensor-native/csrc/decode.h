// One-token GPT decode step in a single native call: the weights snapshot (DecodeModel) and a per-sequence
// key/value cache (DecodeCache) live in native memory, so a step pays no per-op dispatch.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

namespace gl {

/** A dense GPT's weights, copied into one aligned block (Hugging Face GPT-2 layout: Conv1D weights [in, out]). */
struct DecodeModel {
  static constexpr uint32_t kTag = 0x67446d31;  // checked when a handle comes back from JS
  uint32_t tag = kTag;
  long L = 0, H = 0, C = 0, V = 0, P = 0;
  float eps = 1e-5f;
  bool postLN = false;
  /** The weight matrices (and wte) held as bfloat16 only: half the bytes streamed per token (opt-in). */
  bool bf16 = false;
  struct Layer {
    const float *ln1_g, *ln1_b, *attn_w, *attn_b, *proj_w, *proj_b, *ln2_g, *ln2_b, *fc_w, *fc_b, *out_w, *out_b;
    const uint16_t *attn_h, *proj_h, *fc_h, *out_h;  // bf16 mode: the matrices (the float pointers are null)
  };
  const float *wte = nullptr, *wpe = nullptr, *lnf_g = nullptr, *lnf_b = nullptr;
  const uint16_t* wte_h = nullptr;
  std::vector<Layer> layers;
  std::unique_ptr<float, void (*)(void*)> storage{nullptr, nullptr};
  std::unique_ptr<uint16_t, void (*)(void*)> storage16{nullptr, nullptr};

  /**
   * Number of floats of each tensor in `weights` order: wte [V,C], wpe [P,C], then per layer ln_1 g/b, c_attn w/b,
   * attn c_proj w/b, ln_2 g/b, c_fc w/b, mlp c_proj w/b, then ln_f g/b (pre-LN only).
   */
  static std::vector<long> sizes(long L, long C, long V, long P, bool postLN);
  /** Copies the tensors (sizes() order and lengths, checked by the caller) into one aligned block. */
  DecodeModel(long L, long H, long C, long V, long P, float eps, bool postLN, const std::vector<const float*>& weights,
              bool bf16 = false);
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
/** Round to nearest even. */
uint16_t f32_to_bf16(float f);

void decode_step(const DecodeModel& m, DecodeCache& cache, long token, float* logits);

}  // namespace gl
