// Batched SGEMM driver: splits a product into units (matrices, row or column slices, or matrix-vector
// slices) over the thread pool and runs each with the selected ISA's kernels.
#include <algorithm>
#include <atomic>

#include "isa.h"

namespace gl {

namespace {

// One batched product, as sgemm() receives it.
struct Product {
  long batch, M, N, K;
  const float* A;
  long strideA;
  bool transA;
  const float* B;
  long strideB;
  bool transB;
  float* C;
  bool acc;
};

// Matrix b of the batch as element strides for the ISA kernels.
inline GemmArgs sub_args(const Product& p, long b) {
  GemmArgs g;
  g.A = p.A + b * p.strideA;
  g.B = p.B + b * p.strideB;
  g.C = p.C + b * p.M * p.N;
  g.rsa = p.transA ? 1 : p.K;
  g.csa = p.transA ? p.M : 1;
  g.rsb = p.transB ? 1 : p.N;
  g.csb = p.transB ? p.K : 1;
  g.ldc = p.N;
  g.M = p.M;
  g.N = p.N;
  g.K = p.K;
  g.acc = p.acc;
  return g;
}

// Work units: batch × parts, each part a slice of M (splitM) or of N.
struct GemmJob {
  const Isa* isa;
  Product p;
  long parts;
  bool splitM;
  long chunk;  // rows (splitM) or columns per part
  long units;
  std::atomic<long> next{0};
};

// Units are taken dynamically, so a descheduled thread delays only the unit it holds.
void gemm_part(void* ctx, int, int) {
  GemmJob& j = *static_cast<GemmJob*>(ctx);
  for (long u; (u = j.next.fetch_add(1)) < j.units;) {
    const long b = u / j.parts, part = u % j.parts;
    GemmArgs g = sub_args(j.p, b);
    if (j.splitM) {
      const long m0 = part * j.chunk, m1 = std::min(j.p.M, m0 + j.chunk);
      if (m1 <= m0) continue;
      g.A += m0 * g.rsa;
      g.C += m0 * g.ldc;
      g.M = m1 - m0;
    } else {
      const long n0 = part * j.chunk, n1 = std::min(j.p.N, n0 + j.chunk);
      if (n1 <= n0) continue;
      g.B += n0 * g.csb;
      g.C += n0;
      g.N = n1 - n0;
    }
    j.isa->gemm(g);
  }
}

// Matrix-vector products (M == 1 or N == 1): y = x·W per batch, split over batch × column slices.
struct GemvJob {
  const Isa* isa;
  long batch, K, N;  // y has N entries
  const float* X;
  long strideX;
  const float* W;
  long strideW, rs, cs;
  float* Y;
  long strideY;
  bool acc;
  long parts, chunk, units;
  std::atomic<long> next{0};
};

void gemv_part(void* ctx, int, int) {
  GemvJob& j = *static_cast<GemvJob*>(ctx);
  for (long u; (u = j.next.fetch_add(1)) < j.units;) {
    const long b = u / j.parts, p = u % j.parts;
    const long n0 = p * j.chunk, n1 = std::min(j.N, n0 + j.chunk);
    j.isa->gemv(j.X + b * j.strideX, j.K, j.W + b * j.strideW, j.rs, j.cs, j.Y + b * j.strideY, n0, n1, j.acc);
  }
}

// Few-row products: rows of A (row-contiguous, lda apart) in groups of ≤ 8, each group against one pass over a
// column slice of op(B) (gemm_few). Units: batch × row groups × column parts.
struct FewRowsJob {
  const Isa* isa;
  long M, N, K;  // rows per matrix, columns, inner size
  const float* A;
  long strideA, lda;
  const float* W;
  long strideW, rs, cs;
  float* C;
  long strideC, ldc;
  bool acc;
  long groups, parts, chunk, units;
  std::atomic<long> next{0};
};

void few_rows_part(void* ctx, int, int) {
  FewRowsJob& j = *static_cast<FewRowsJob*>(ctx);
  for (long u; (u = j.next.fetch_add(1)) < j.units;) {
    const long p = u % j.parts, g = (u / j.parts) % j.groups, b = u / (j.parts * j.groups);
    const long n0 = p * j.chunk, n1 = std::min(j.N, n0 + j.chunk);
    const long r0 = g * 8, rows = std::min(8L, j.M - r0);
    j.isa->gemm_few(j.A + b * j.strideA + r0 * j.lda, j.lda, rows, j.K, j.W + b * j.strideW, j.rs, j.cs,
                    j.C + b * j.strideC + r0 * j.ldc, j.ldc, n0, n1, j.acc);
  }
}

// Runs `batch` few-row products over the pool (M rows each, lda/ldc apart; matrices strideA/strideB/strideC
// apart), the column parts split as the matrix-vector path splits them.
void few_rows(const Isa* is, int T, long batch, long M, long N, long K, const float* A, long strideA, long lda,
              const float* B, long strideB, bool transB, float* C, long strideC, long ldc, bool acc) {
  FewRowsJob j;
  j.isa = is;
  j.M = M;
  j.N = N;
  j.K = K;
  j.A = A;
  j.strideA = strideA;
  j.lda = lda;
  j.W = B;
  j.strideW = strideB;
  j.rs = transB ? 1 : N;
  j.cs = transB ? K : 1;
  j.C = C;
  j.strideC = strideC;
  j.ldc = ldc;
  j.acc = acc;
  j.groups = (M + 7) / 8;
  long parts = 1;
  if (T > 1 && batch * j.groups < 4L * T) parts = std::max(1L, std::min<long>(4L * T, N / 256));
  j.parts = parts;
  j.chunk = ((N + parts - 1) / parts + 15) / 16 * 16;
  j.units = batch * j.groups * parts;
  parallel(T, few_rows_part, &j);
}

}  // namespace

void sgemm(long batch, long M, long N, long K, const float* A, long strideA, bool transA, const float* B,
           long strideB, bool transB, float* C, bool acc) {
  if (batch <= 0 || M <= 0 || N <= 0) return;
  const Isa* is = &isa();
  const double flops = 2.0 * batch * M * N * K;
  const int T = flops < 2e5 ? 1 : threads();
  // Few-row products run near the fma peak (~30 µs for 2 MFLOP on one core), so below that waking a worker
  // and meeting it again costs more than it saves — far more on a loaded machine, where a descheduled worker
  // holds the caller up (a batched decode step of a small model paid ~5× per product for it).
  const int Tfew = flops < 2e6 ? 1 : T;

  if (M == 1 && strideB == 0 && batch > 1 && N > 1) {
    // One row per matrix against a shared B (a batched decode step: [rows, 1, K] × [K, N]): the rows are one
    // few-row product, so B is streamed once per 8 rows instead of once per row. Each row's result is the
    // one-row product's to the bit (gemm_few sums as gemv does).
    few_rows(is, Tfew, 1, batch, N, K, A, 0, strideA, B, 0, transB, C, 0, N, acc);
    return;
  }

  if (M == 1 || N == 1) {
    GemvJob j;
    j.isa = is;
    j.batch = batch;
    j.K = K;
    j.acc = acc;
    if (M == 1) {
      // y[1×N] = a[1×K]·op(B): a is contiguous whether or not it is transposed.
      j.N = N;
      j.X = A;
      j.strideX = strideA;
      j.W = B;
      j.strideW = strideB;
      j.rs = transB ? 1 : N;
      j.cs = transB ? K : 1;
      j.Y = C;
      j.strideY = N;
    } else {
      // c[M×1] = op(A)·b: the transposed problem c^T = b^T·op(A)^T, with W(k, i) = op(A)(i, k).
      j.N = M;
      j.X = B;
      j.strideX = strideB;
      j.W = A;
      j.strideW = strideA;
      j.rs = transA ? M : 1;
      j.cs = transA ? 1 : K;
      j.Y = C;
      j.strideY = M;
    }
    long parts = 1;
    if (T > 1 && batch < 4L * T) parts = std::max(1L, std::min<long>(4L * T, j.N / 256));
    j.parts = parts;
    j.chunk = ((j.N + parts - 1) / parts + 15) / 16 * 16;
    j.units = batch * parts;
    parallel(T, gemv_part, &j);
    return;
  }

  if (M <= 8 && !transA) {
    few_rows(is, Tfew, batch, M, N, K, A, strideA, K, B, strideB, transB, C, M * N, N, acc);
    return;
  }

  const Product p{batch, M, N, K, A, strideA, transA, B, strideB, transB, C, acc};
  // Few large matrices: each one over all threads (shared packed B, dynamic row blocks).
  if (T > 1 && batch < 2L * T && M >= 2L * is->mr) {
    for (long b = 0; b < batch; b++) is->gemm_parallel(sub_args(p, b), T);
    return;
  }

  // Many matrices (attention heads): whole matrices as units.
  GemmJob j;
  j.isa = is;
  j.p = p;
  j.parts = 1;
  j.splitM = true;
  j.chunk = M;
  if (T > 1 && batch < 2L * T && N >= 4L * is->nr) {
    // Few short matrices (M small, N wide): split the columns (each unit packs only its own B columns).
    j.parts = std::min<long>(4L * T, N / (2L * is->nr));
    j.splitM = false;
    j.chunk = ((N + j.parts - 1) / j.parts + is->nr - 1) / is->nr * is->nr;
  }
  j.units = batch * j.parts;
  parallel(T, gemm_part, &j);
}

}  // namespace gl
