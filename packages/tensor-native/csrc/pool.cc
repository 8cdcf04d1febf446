// The persistent thread pool every multi-threaded kernel runs on.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#if defined(__linux__)
#include <sched.h>
#endif

#include "isa.h"

namespace gl {

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
void mark_pool_worker();

class Pool {
 public:
  explicit Pool(int n) : n_(std::max(1, n)) {
    // Workers start from generation 0: a job posted before a worker first runs is still seen as new.
    for (int w = 1; w < n_; w++)
      workers_.emplace_back([this] {
        mark_pool_worker();
        loop(0);
      });
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

// One pool per calling thread, never one per process. Pool::run has a single caller by design (it publishes
// the job in plain fields), and a process may hold several JS threads that call kernels: the data-parallel
// trainer's worker_threads each load this addon. With one process-wide pool two callers overwrote each other's
// job and then both waited forever for parts nobody would take (the "workers + native" hang). Each JS thread
// now owns its pool (sized by its own GPTLAB_THREADS through setThreads, see src/addon.ts); the pool's own
// threads run parts only, and a kernel that asks for parallelism from inside a part runs it serially.
static thread_local std::unique_ptr<Pool> t_pool;
static thread_local bool t_in_pool_worker = false;

static Pool& pool() {
  if (!t_pool) t_pool.reset(new Pool(default_threads()));
  return *t_pool;
}

void mark_pool_worker() { t_in_pool_worker = true; }

int threads() { return t_in_pool_worker ? 1 : pool().size(); }

void set_threads(int n) {
  n = std::max(1, std::min(n, 256));
  if (t_pool && t_pool->size() == n) return;
  t_pool.reset();  // joins the old pool's threads first
  t_pool.reset(new Pool(n));
}

static void run_here(int nparts, void (*fn)(void*, int, int), void* ctx) {
  for (int p = 0; p < nparts; p++) fn(ctx, p, nparts);
}

void parallel(int nparts, void (*fn)(void*, int, int), void* ctx) {
  if (t_in_pool_worker) return run_here(nparts, fn, ctx);
  pool().run(nparts, fn, ctx, false);
}

// From inside a part there is no second thread to meet at a barrier: callers plan with threads() (1 there).
void parallel_all_hands(int nparts, void (*fn)(void*, int, int), void* ctx) {
  if (t_in_pool_worker) return fn(ctx, 0, 1);
  pool().run(nparts, fn, ctx, true);
}

}  // namespace gl
