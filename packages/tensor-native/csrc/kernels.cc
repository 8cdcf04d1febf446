// SGEMM/SGEMV: per-ISA kernels (compiled with target pragmas so one binary runs on any x86-64, picking
// AVX-512, AVX2+FMA or portable scalar code at run time), and the threaded driver.
#include "kernels.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>
#include <thread>

#if defined(__x86_64__) || defined(__i386__)
#define GL_X86 1
#include <immintrin.h>
#endif
#if defined(__linux__)
#include <sched.h>
#endif

// ---------------------------------------------------------------------------------------------------------
// Portable scalar kernels (the baseline compiler flags; GCC may still auto-vectorise with SSE2).
namespace isa_scalar {
typedef float V;
static constexpr int VL = 1, MR = 4, NR = 4;
static constexpr long KC = 256, MC = 64, NC = 1024;
static inline V vzero() { return 0.f; }
static inline V vset1(float x) { return x; }
static inline V vload(const float* p) { return *p; }
static inline void vstore(float* p, V v) { *p = v; }
static inline V vfma(V a, V b, V c) { return a * b + c; }
static inline V vadd(V a, V b) { return a + b; }
static inline float vhsum(V a) { return a; }
#include "gemm_impl.inc"
}  // namespace isa_scalar

#ifdef GL_X86
#pragma GCC push_options
#pragma GCC target("avx2,fma")
namespace isa_avx2 {
typedef __m256 V;
static constexpr int VL = 8, MR = 6, NR = 16;
static constexpr long KC = 256, MC = 120, NC = 2048;
static inline V vzero() { return _mm256_setzero_ps(); }
static inline V vset1(float x) { return _mm256_set1_ps(x); }
static inline V vload(const float* p) { return _mm256_loadu_ps(p); }
static inline void vstore(float* p, V v) { _mm256_storeu_ps(p, v); }
static inline V vfma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
static inline V vadd(V a, V b) { return _mm256_add_ps(a, b); }
static inline float vhsum(V a) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
  return _mm_cvtss_f32(s);
}
#include "gemm_impl.inc"
}  // namespace isa_avx2
#pragma GCC pop_options

#pragma GCC push_options
#pragma GCC target("avx512f,avx512vl,avx512dq,avx2,fma")
namespace isa_avx512 {
typedef __m512 V;
static constexpr int VL = 16, MR = 12, NR = 32;
static constexpr long KC = 256, MC = 144, NC = 2048;
static inline V vzero() { return _mm512_setzero_ps(); }
static inline V vset1(float x) { return _mm512_set1_ps(x); }
static inline V vload(const float* p) { return _mm512_loadu_ps(p); }
static inline void vstore(float* p, V v) { _mm512_storeu_ps(p, v); }
static inline V vfma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
static inline V vadd(V a, V b) { return _mm512_add_ps(a, b); }
static inline float vhsum(V a) { return _mm512_reduce_add_ps(a); }
#include "gemm_impl.inc"
}  // namespace isa_avx512
#pragma GCC pop_options
#endif

namespace gl {

struct Isa {
  const char* name;
  int mr, nr;
  void (*gemm)(const GemmArgs&);
  void (*gemm_parallel)(const GemmArgs&, int);
  void (*gemv)(const float*, long, const float*, long, long, float*, long, long, bool);
  bool (*supported)();
  ElementwiseKernels ew;
};

static bool always() { return true; }
#ifdef GL_X86
static bool has_avx2() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}
static bool has_avx512() {
  __builtin_cpu_init();
  return has_avx2() && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
         __builtin_cpu_supports("avx512dq");
}
#endif

static const Isa kIsas[] = {
#ifdef GL_X86
    {"avx512", isa_avx512::MR, isa_avx512::NR, isa_avx512::gemm_block, isa_avx512::gemm_parallel, isa_avx512::gemv_block, has_avx512,
     {isa_avx512::gelu_fwd, isa_avx512::gelu_bwd, isa_avx512::exp_shift_sum, isa_avx512::max_of, isa_avx512::sum_middle}},
    {"avx2+fma", isa_avx2::MR, isa_avx2::NR, isa_avx2::gemm_block, isa_avx2::gemm_parallel, isa_avx2::gemv_block, has_avx2,
     {isa_avx2::gelu_fwd, isa_avx2::gelu_bwd, isa_avx2::exp_shift_sum, isa_avx2::max_of, isa_avx2::sum_middle}},
#endif
    {"scalar", isa_scalar::MR, isa_scalar::NR, isa_scalar::gemm_block, isa_scalar::gemm_parallel, isa_scalar::gemv_block, always,
     {isa_scalar::gelu_fwd, isa_scalar::gelu_bwd, isa_scalar::exp_shift_sum, isa_scalar::max_of, isa_scalar::sum_middle}},
};

static const Isa* pick_default() {
  const char* forced = std::getenv("GPTLAB_ISA");
  for (const Isa& i : kIsas)
    if (i.supported() && (!forced || !*forced || std::string(forced) == i.name)) return &i;
  for (const Isa& i : kIsas)
    if (i.supported()) return &i;
  return &kIsas[sizeof(kIsas) / sizeof(kIsas[0]) - 1];
}

static const Isa* g_isa = nullptr;
static const Isa& isa() {
  if (!g_isa) g_isa = pick_default();
  return *g_isa;
}

const char* isa_name() { return isa().name; }

const ElementwiseKernels& ew() { return isa().ew; }

std::vector<std::string> isas_available() {
  std::vector<std::string> out;
  for (const Isa& i : kIsas)
    if (i.supported()) out.emplace_back(i.name);
  return out;
}

bool set_isa(const std::string& name) {
  for (const Isa& i : kIsas)
    if (name == i.name && i.supported()) {
      g_isa = &i;
      return true;
    }
  return false;
}

// ---------------------------------------------------------------------------------------------------------
// Persistent thread pool: the calling thread runs part 0, worker w runs part w. Workers spin briefly after
// each job (kernels come in quick succession during a training step), then sleep on a condition variable.

static inline void cpu_relax() {
#ifdef GL_X86
  _mm_pause();
#else
  std::this_thread::yield();
#endif
}

static long spin_microseconds() {
  if (const char* e = std::getenv("GPTLAB_SPIN_US")) {
    const long v = std::atol(e);
    if (v >= 0) return std::min(v, 1000000L);
  }
  // Short: on a shared 2-core machine a spinning worker steals the core the caller or another process
  // needs (measured: 200 µs made back-to-back matrix-vector products 2.5× slower than 20 µs).
  return 20;
}

// Persistent thread pool. A job is split in `nparts` parts that any participant may claim (atomic counter):
// the calling thread runs part 0 and then claims more, workers join while the job is open. When the caller
// has run out of parts it closes the job and waits only for workers that joined, so a worker that the OS
// has descheduled (a shared machine) never holds a job up unless it already took a part. Jobs whose parts
// synchronise with barriers ("all hands") instead give every part its own thread. Workers spin for a while
// after each job (kernels come in quick succession), then sleep on a condition variable.
class Pool {
 public:
  explicit Pool(int n) : n_(std::max(1, n)) {
    // Workers start from generation 0: a job posted before a worker first runs is still seen as new.
    for (int w = 1; w < n_; w++) workers_.emplace_back([this] { loop(0); });
  }
  ~Pool() {
    {
      std::lock_guard<std::mutex> lk(m_);
      stop_.store(true);
      gen_.fetch_add(1);
    }
    cv_.notify_all();
    for (auto& t : workers_) t.join();
  }
  int size() const { return n_; }

  void run(int nparts, void (*fn)(void*, int, int), void* ctx, bool allHands) {
    nparts = std::max(1, std::min(nparts, n_));
    if (nparts == 1) {
      fn(ctx, 0, 1);
      return;
    }
    const uint64_t g = gen_.load() + 1;
    fn_ = fn;
    ctx_ = ctx;
    nparts_ = nparts;
    allHands_ = allHands;
    nextPart_.store(1);
    ticket_.store(((g & 0xffffffffULL) << 32) | kOpen);
    gen_.store(g);
    if (sleepers_.load() > 0) {
      std::lock_guard<std::mutex> lk(m_);
      cv_.notify_all();
    }
    fn(ctx, 0, nparts);
    if (!allHands)
      for (int p; (p = nextPart_.fetch_add(1)) < nparts;) fn(ctx, p, nparts);
    ticket_.fetch_and(~kOpen);
    long spins = 0;
    while ((ticket_.load(std::memory_order_acquire) & kActive) != 0) {
      if (++spins < 4000)
        cpu_relax();
      else
        std::this_thread::yield();
    }
  }

 private:
  static constexpr uint64_t kOpen = 1ULL << 31;
  static constexpr uint64_t kActive = kOpen - 1;

  void loop(uint64_t seen) {
    for (;;) {
      auto t0 = std::chrono::steady_clock::now();
      long spins = 0;
      while (gen_.load(std::memory_order_acquire) == seen) {
        cpu_relax();
        if ((++spins & 255) == 0 && std::chrono::steady_clock::now() - t0 > std::chrono::microseconds(spin_us_)) break;
      }
      if (gen_.load() == seen) {
        std::unique_lock<std::mutex> lk(m_);
        sleepers_.fetch_add(1);
        while (gen_.load() == seen) cv_.wait(lk);
        sleepers_.fetch_sub(1);
      }
      if (stop_.load()) return;
      seen = gen_.load();
      // Join job `seen` if it is still open.
      uint64_t t = ticket_.load(std::memory_order_acquire);
      bool joined = false;
      while ((t >> 32) == (seen & 0xffffffffULL) && (t & kOpen)) {
        if (ticket_.compare_exchange_weak(t, t + 1, std::memory_order_acq_rel)) {
          joined = true;
          break;
        }
      }
      if (!joined) continue;
      for (int p; (p = nextPart_.fetch_add(1)) < nparts_;) {
        fn_(ctx_, p, nparts_);
        if (allHands_) break;
      }
      ticket_.fetch_sub(1, std::memory_order_release);
    }
  }

  int n_;
  long spin_us_ = spin_microseconds();
  std::vector<std::thread> workers_;
  std::atomic<uint64_t> gen_{0};
  std::atomic<uint64_t> ticket_{0};
  std::atomic<int> nextPart_{0};
  std::atomic<int> sleepers_{0};
  std::atomic<bool> stop_{false};
  std::mutex m_;
  std::condition_variable cv_;
  void (*fn_)(void*, int, int) = nullptr;
  void* ctx_ = nullptr;
  int nparts_ = 1;
  bool allHands_ = false;
};

static int default_threads() {
  if (const char* e = std::getenv("GPTLAB_THREADS")) {
    int n = std::atoi(e);
    if (n > 0) return std::min(n, 256);
  }
#if defined(__linux__)
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) return std::max(1, CPU_COUNT(&set));
#endif
  return std::max(1u, std::thread::hardware_concurrency());
}

static Pool* g_pool = nullptr;
static Pool& pool() {
  if (!g_pool) g_pool = new Pool(default_threads());
  return *g_pool;
}

int threads() { return pool().size(); }

void set_threads(int n) {
  n = std::max(1, std::min(n, 256));
  if (g_pool && g_pool->size() == n) return;
  delete g_pool;
  g_pool = new Pool(n);
}

void parallel(int nparts, void (*fn)(void*, int, int), void* ctx) { pool().run(nparts, fn, ctx, false); }

void parallel_all_hands(int nparts, void (*fn)(void*, int, int), void* ctx) { pool().run(nparts, fn, ctx, true); }

// ---------------------------------------------------------------------------------------------------------
// Threaded batched driver.

namespace {

struct GemmJob {
  const Isa* isa;
  long batch, M, N, K;
  const float* A;
  long strideA;
  bool transA;
  const float* B;
  long strideB;
  bool transB;
  float* C;
  bool acc;
  // Work units: batch × parts, each part a slice of M (splitM) or of N.
  long parts;
  bool splitM;
  long chunk;  // rows (splitM) or columns per part
  long units;
  std::atomic<long> next{0};
};

inline GemmArgs sub_args(const GemmJob& j, long b) {
  GemmArgs g;
  g.A = j.A + b * j.strideA;
  g.B = j.B + b * j.strideB;
  g.C = j.C + b * j.M * j.N;
  g.rsa = j.transA ? 1 : j.K;
  g.csa = j.transA ? j.M : 1;
  g.rsb = j.transB ? 1 : j.N;
  g.csb = j.transB ? j.K : 1;
  g.ldc = j.N;
  g.M = j.M;
  g.N = j.N;
  g.K = j.K;
  g.acc = j.acc;
  return g;
}

// Units are taken dynamically, so a descheduled thread delays only the unit it holds.
void gemm_part(void* ctx, int, int) {
  GemmJob& j = *static_cast<GemmJob*>(ctx);
  for (long u; (u = j.next.fetch_add(1)) < j.units;) {
    const long b = u / j.parts, p = u % j.parts;
    GemmArgs g = sub_args(j, b);
    if (j.splitM) {
      const long m0 = p * j.chunk, m1 = std::min(j.M, m0 + j.chunk);
      if (m1 <= m0) continue;
      g.A += m0 * g.rsa;
      g.C += m0 * g.ldc;
      g.M = m1 - m0;
    } else {
      const long n0 = p * j.chunk, n1 = std::min(j.N, n0 + j.chunk);
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

long gcd(long a, long b) { return b == 0 ? a : gcd(b, a % b); }

}  // namespace

void sgemm(long batch, long M, long N, long K, const float* A, long strideA, bool transA, const float* B,
           long strideB, bool transB, float* C, bool acc) {
  if (batch <= 0 || M <= 0 || N <= 0) return;
  const Isa* is = &isa();
  const double flops = 2.0 * batch * M * N * K;
  const int T = flops < 2e5 ? 1 : threads();

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

  // Few large matrices: each one over all threads (shared packed B, dynamic row blocks).
  if (T > 1 && batch < 2L * T && M >= 2L * is->mr) {
    GemmJob one;
    one.M = M;
    one.N = N;
    one.K = K;
    one.A = A;
    one.B = B;
    one.C = C;
    one.transA = transA;
    one.transB = transB;
    one.strideA = strideA;
    one.strideB = strideB;
    one.acc = acc;
    for (long b = 0; b < batch; b++) is->gemm_parallel(sub_args(one, b), T);
    return;
  }

  // Many matrices (attention heads): whole matrices as units.
  GemmJob j;
  j.isa = is;
  j.batch = batch;
  j.M = M;
  j.N = N;
  j.K = K;
  j.A = A;
  j.strideA = strideA;
  j.transA = transA;
  j.B = B;
  j.strideB = strideB;
  j.transB = transB;
  j.C = C;
  j.acc = acc;
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
