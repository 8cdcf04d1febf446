// Flash-style causal attention: tasks, threads and per-ISA dispatch. The per-task kernels are in
// attention_impl.inc, compiled once per instruction set like the SGEMM and elementwise kernels (isa.cc); the
// ISA in use is the one isa.cc picked (GPTLAB_ISA / setIsa apply here too).
#include "attention.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <vector>

#include "isa.h"

namespace gl_attention {

// Query rows per block (forward, dQ) and keys per block (dK, dV): a few 16–64 KB tiles stay in L1/L2.
static constexpr long BR = 64, BC = 64;

struct AttnShape {
  long T, Tk, D, DP, offset;
  float scale;
};

// One head's tensors (pointers already offset to the head); inputs const, outputs written.
struct AttnHead {
  const float *q, *k, *v, *dout, *lse, *delta;
  float *o, *lse_out, *dq, *dk, *dv;
};

// Floats of tile workspace one task needs (the largest of the kernels), every tile a multiple of 16 floats.
static long tile_workspace_floats(long DP) { return 7 * BR * DP + 2 * BR * BC + 2 * BR; }

}  // namespace gl_attention

// Each ISA namespace sees the shared types and constants and sets its vector width, then the kernels (exp_poly
// comes from elementwise_impl.inc: the same exponential as the native softmax).

namespace attn_scalar {
using namespace gl_attention;
static constexpr int VW = 4, NVMAX = 3;  // SSE2: 4 rows × 3 xmm accumulators
#include "elementwise_impl.inc"
#include "attention_impl.inc"
}  // namespace attn_scalar

#ifdef GL_X86
#pragma GCC push_options
#pragma GCC target("avx2,fma")
namespace attn_avx2 {
using namespace gl_attention;
static constexpr int VW = 8, NVMAX = 3;  // 4 rows × 3 ymm accumulators (of 16 registers)
#include "elementwise_impl.inc"
#include "attention_impl.inc"
}  // namespace attn_avx2
#pragma GCC pop_options

#pragma GCC push_options
#pragma GCC target("avx512f,avx512vl,avx512dq,avx2,fma")
namespace attn_avx512 {
using namespace gl_attention;
static constexpr int VW = 16, NVMAX = 4;  // 4 rows × 4 zmm accumulators
#include "elementwise_impl.inc"
#include "attention_impl.inc"
}  // namespace attn_avx512
#pragma GCC pop_options
#endif

namespace gl {
namespace {
using namespace gl_attention;

typedef void (*BlockKernel)(const AttnShape&, const AttnHead&, long, float*);

struct AttentionKernels {
  const char* isa;
  BlockKernel forward, backward_kv, backward_q, backward_head;
};

const AttentionKernels kKernels[] = {
#ifdef GL_X86
    {"avx512", attn_avx512::attn_forward_block, attn_avx512::attn_backward_kv_block, attn_avx512::attn_backward_q_block,
     attn_avx512::attn_backward_head},
    {"avx2+fma", attn_avx2::attn_forward_block, attn_avx2::attn_backward_kv_block, attn_avx2::attn_backward_q_block,
     attn_avx2::attn_backward_head},
#endif
    {"scalar", attn_scalar::attn_forward_block, attn_scalar::attn_backward_kv_block, attn_scalar::attn_backward_q_block,
     attn_scalar::attn_backward_head},
};

const AttentionKernels& kernels() {
  const char* name = isa().name;
  for (const AttentionKernels& k : kKernels)
    if (std::strcmp(k.isa, name) == 0) return k;
  return kKernels[sizeof(kKernels) / sizeof(kKernels[0]) - 1];
}

struct FreeDeleter {
  void operator()(float* p) const { std::free(p); }
};

// A 64-byte aligned scratch buffer of n floats (tiles are read and written as whole 64-byte vectors).
std::unique_ptr<float, FreeDeleter> aligned_floats(long n) {
  const size_t bytes = ((size_t)n * sizeof(float) + 63) / 64 * 64;
  float* p = static_cast<float*>(std::aligned_alloc(64, bytes));
  if (!p) throw std::bad_alloc();
  return std::unique_ptr<float, FreeDeleter>(p);
}

// BH·blocks tasks handed out from an atomic counter, costliest first (`descending` for query blocks: a causal
// block's cost grows with its index; ascending for key blocks), each part of the pool with its own workspace.
struct TaskRun {
  BlockKernel kernel;
  AttnShape shape;
  AttnHead base;
  long BH, blocks;
  bool descending;
  long qStride, kStride;  // elements per head of Q/O/dQ and of K/V/dK/dV
  long workspace;         // floats per part
  float** buffers;        // one workspace per part
  std::atomic<long> next{0};
};

AttnHead head_at(const TaskRun& r, long bh) {
  const AttnHead& b = r.base;
  const long qs = bh * r.qStride, ks = bh * r.kStride, ls = bh * r.shape.T;
  auto at = [](auto* p, long off) { return p ? p + off : p; };
  return {at(b.q, qs),  at(b.k, ks),       at(b.v, ks),   at(b.dout, qs), at(b.lse, ls), at(b.delta, ls),
          at(b.o, qs),  at(b.lse_out, ls), at(b.dq, qs),  at(b.dk, ks),   at(b.dv, ks)};
}

void run_tasks(TaskRun& run) {
  const long tasks = run.BH * run.blocks;
  const int parts = (int)std::min<long>(threads(), tasks);
  // Allocated here, on the calling thread, so an allocation failure reaches JavaScript as an exception.
  std::vector<std::unique_ptr<float, FreeDeleter>> owned;
  std::vector<float*> buffers;
  for (int p = 0; p < parts; p++) {
    owned.push_back(aligned_floats(run.workspace));
    buffers.push_back(owned.back().get());
  }
  run.buffers = buffers.data();
  auto body = [](void* p, int part, int) {
    TaskRun& r = *static_cast<TaskRun*>(p);
    const long total = r.BH * r.blocks;
    for (long t; (t = r.next.fetch_add(1)) < total;) {
      const long rank = t / r.BH, bh = t % r.BH;
      const long block = r.descending ? r.blocks - 1 - rank : rank;
      r.kernel(r.shape, head_at(r, bh), block, r.buffers[part]);
    }
  };
  if (parts <= 1)
    body(&run, 0, 1);
  else
    parallel(parts, body, &run);
}

AttnShape shape_of(long T, long Tk, long D, float scale) { return {T, Tk, D, (D + 15) / 16 * 16, Tk - T, scale}; }

// Runs `kernel` over BH × blocks tasks with the given head pointers.
void run_kernel(BlockKernel kernel, const AttnShape& shape, const AttnHead& base, long BH, long blocks, bool descending,
                long workspace) {
  TaskRun run{kernel, shape, base, BH, blocks, descending, shape.T * shape.D, shape.Tk * shape.D, workspace, nullptr};
  run_tasks(run);
}

}  // namespace

void causal_attention_forward(const float* Q, const float* K, const float* V, float* O, float* LSE, long BH, long T,
                              long Tk, long D, float scale) {
  if (BH <= 0 || T <= 0 || D <= 0) return;
  const AttnShape shape = shape_of(T, Tk, D, scale);
  // Query blocks last to first: the last sees the most keys.
  run_kernel(kernels().forward, shape, {Q, K, V, nullptr, nullptr, nullptr, O, LSE, nullptr, nullptr, nullptr}, BH,
             (T + BR - 1) / BR, true, tile_workspace_floats(shape.DP));
}

void causal_attention_backward(const float* Q, const float* K, const float* V, const float* O, const float* LSE,
                               const float* dO, float* dQ, float* dK, float* dV, long BH, long T, long Tk, long D,
                               float scale) {
  if (BH <= 0 || Tk <= 0 || D <= 0) return;
  if (T <= 0) {  // no query sees any key
    std::fill(dK, dK + BH * Tk * D, 0.f);
    std::fill(dV, dV + BH * Tk * D, 0.f);
    return;
  }
  // delta_i = Σ_d dO[i, d]·O[i, d] (= Σ_j P_ij·dP_ij): one number per query row, the softmax gradient's shift.
  std::unique_ptr<float[]> delta(new float[(size_t)(BH * T)]);
  for (long r = 0; r < BH * T; r++) {
    double s = 0.0;
    for (long d = 0; d < D; d++) s += (double)dO[r * D + d] * O[r * D + d];
    delta[r] = (float)s;
  }
  const AttnShape shape = shape_of(T, Tk, D, scale);
  const AttnHead base{Q, K, V, dO, LSE, delta.get(), nullptr, nullptr, dQ, dK, dV};
  const AttentionKernels& k = kernels();
  const long tiles = tile_workspace_floats(shape.DP);
  if (BH >= 2 * threads()) {
    // Enough heads to share out: one task per head, dQ accumulated as its key blocks go by.
    run_kernel(k.backward_head, shape, base, BH, 1, false, tiles + (T + BR - 1) / BR * BR * shape.DP);
  } else {
    // Few heads (long contexts): dK, dV by key block (the first is seen by the most queries), then dQ by query
    // block, the probabilities recomputed in each pass.
    run_kernel(k.backward_kv, shape, base, BH, (Tk + BC - 1) / BC, false, tiles);
    run_kernel(k.backward_q, shape, base, BH, (T + BR - 1) / BR, true, tiles);
  }
}

}  // namespace gl
