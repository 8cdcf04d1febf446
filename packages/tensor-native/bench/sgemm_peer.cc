// Square SGEMM of this package's driver (gl::sgemm, what the addon's `sgemm` and tf.matMul call) against
// OpenBLAS's cblas_sgemm in the same process, plus the machine's fma peak (a register-only fma loop), so every
// figure has a ceiling and each ratio is same-run. Ours and the peer alternate, rep by rep; best of N (a shared
// machine only ever slows a run down, so the minimum is the least disturbed one) and the median are reported.
// OpenBLAS is dlopen'ed (libopenblas.so.0: Debian's libopenblas0-pthread); without it the lines say
// "peer unavailable" and ours are still measured. One JSON line per measurement.
//   g++ -O3 -std=gnu++17 -fno-math-errno -fno-trapping-math -pthread -I packages/tensor-native/csrc \
//     packages/tensor-native/csrc/{isa,pool,sgemm}.cc packages/tensor-native/bench/sgemm_peer.cc -ldl \
//     -o /tmp/sgemm_peer
//   /tmp/sgemm_peer [--sizes 1024,2048] [--threads 1,2] [--reps 15] [--seconds 0.5]
#include <dlfcn.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "isa.h"

namespace {

double now_s() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

// This thread's CPU time: with one thread both libraries run on the caller, and CPU time leaves out the time a
// loaded machine deschedules it (it still counts what other processes do to the caches).
double thread_cpu_s() {
  timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

// CPU time other processes used over an interval, in cores (as @gptlab/bench-utils' othersCores does).
struct OthersMeter {
  long long busy0 = 0, total0 = 0;
  double self0 = 0, t0 = 0;
  static void stat(long long& busy, long long& total) {
    std::ifstream f("/proc/stat");
    std::string cpu;
    f >> cpu;
    long long v, i = 0;
    busy = total = 0;
    long long idle = 0;
    while (i < 10 && f >> v) {
      total += v;
      if (i == 3 || i == 4) idle += v;
      i++;
    }
    busy = total - idle;
  }
  static double self_cpu() {
    rusage r;
    getrusage(RUSAGE_SELF, &r);
    return r.ru_utime.tv_sec + r.ru_utime.tv_usec / 1e6 + r.ru_stime.tv_sec + r.ru_stime.tv_usec / 1e6;
  }
  void start() {
    stat(busy0, total0);
    self0 = self_cpu();
    t0 = now_s();
  }
  double cores() const {
    long long busy, total;
    stat(busy, total);
    const double wall = now_s() - t0;
    if (total <= total0 || wall <= 0) return 0;
    const double ncpu = (double)std::thread::hardware_concurrency();
    const double all = (double)(busy - busy0) / (double)(total - total0) * ncpu;
    return std::max(0.0, all - (self_cpu() - self0) / wall);
  }
};

// Register-only fma loop: 12 independent 8-lane chains (enough to cover 2 pipes × 4 cycles latency), no memory.
__attribute__((target("avx2,fma"), noinline)) double fma_loop(long iters) {
  __m256 acc[12];
  for (int i = 0; i < 12; i++) acc[i] = _mm256_set1_ps(0.001f * i);
  const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
  for (long it = 0; it < iters; it++)
#pragma GCC unroll 12
    for (int i = 0; i < 12; i++) acc[i] = _mm256_fmadd_ps(acc[i], a, b);
  __m256 s = acc[0];
  for (int i = 1; i < 12; i++) s = _mm256_add_ps(s, acc[i]);
  float out[8];
  _mm256_storeu_ps(out, s);
  return out[0];
}

// GFLOP/s of `threads` threads running fma_loop at once, best of `reps`: by each thread's CPU time (the
// hardware's ceiling, whatever else the machine runs) and by wall time (what this run could get).
struct Peak {
  double cpu = 0, wall = 0;
};
Peak fma_peak(int threads, int reps) {
  const long iters = 20'000'000;  // 12 × 8 × 2 × 2e7 = 3.84 GFLOP per thread (~40 ms at peak)
  const double flop = threads * 12.0 * 8 * 2 * iters;
  Peak best;
  std::atomic<double> sink{0};
  for (int r = 0; r < reps; r++) {
    std::atomic<int> ready{0};
    std::atomic<bool> go{false};
    std::vector<std::thread> ts;
    std::vector<double> secs(threads);
    for (int t = 0; t < threads; t++)
      ts.emplace_back([&, t] {
        ready++;
        while (!go.load()) std::this_thread::yield();
        const double t0 = thread_cpu_s();
        sink = sink + fma_loop(iters);
        secs[t] = thread_cpu_s() - t0;
      });
    while (ready.load() < threads) std::this_thread::yield();
    const double w0 = now_s();
    go = true;
    for (auto& t : ts) t.join();
    const double wall = now_s() - w0;
    best.cpu = std::max(best.cpu, flop / *std::max_element(secs.begin(), secs.end()) / 1e9);
    best.wall = std::max(best.wall, flop / wall / 1e9);
  }
  return best;
}

typedef void (*cblas_sgemm_t)(int, int, int, int, int, int, float, const float*, int, const float*, int, float, float*,
                              int);
typedef void (*set_threads_t)(int);
struct OpenBlas {
  cblas_sgemm_t sgemm = nullptr;
  set_threads_t set_threads = nullptr;
  std::string why;
  OpenBlas() {
    void* h = dlopen("libopenblas.so.0", RTLD_NOW | RTLD_LOCAL);
    if (!h) {
      std::string err = dlerror();
      std::replace(err.begin(), err.end(), '"', '\'');  // printed inside a JSON string
      std::replace(err.begin(), err.end(), '\\', '/');
      why = "peer unavailable: " + err + " (apt-get install libopenblas0-pthread)";
      return;
    }
    sgemm = (cblas_sgemm_t)dlsym(h, "cblas_sgemm");
    set_threads = (set_threads_t)dlsym(h, "openblas_set_num_threads");
    if (!sgemm || !set_threads) {
      sgemm = nullptr;
      why = "peer unavailable: libopenblas.so.0 lacks cblas_sgemm/openblas_set_num_threads";
    }
  }
};

std::vector<long> parse_list(const char* s) {
  std::vector<long> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ','))
    if (!item.empty()) out.push_back(std::atol(item.c_str()));
  return out;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<long> sizes{1024, 2048}, threads{1, 2};
  int reps = 15;
  double seconds = 0.5;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string f = argv[i];
    if (f == "--sizes")
      sizes = parse_list(argv[i + 1]);
    else if (f == "--threads")
      threads = parse_list(argv[i + 1]);
    else if (f == "--reps")
      reps = std::atoi(argv[i + 1]);
    else if (f == "--seconds")
      seconds = std::atof(argv[i + 1]);
    else {
      std::fprintf(stderr, "unknown flag %s (--sizes, --threads, --reps, --seconds)\n", argv[i]);
      return 2;
    }
  }
  OpenBlas blas;
  OthersMeter all;
  all.start();
  std::printf("{\"bench\":\"sgemm_machine\",\"isa\":\"%s\",\"cores\":%u,\"peer\":\"%s\"}\n", gl::isa_name(),
              std::thread::hardware_concurrency(), blas.sgemm ? "openblas (libopenblas.so.0)" : blas.why.c_str());
  std::fflush(stdout);
  double peak[3] = {0, 0, 0};  // by CPU time
  for (long t : threads) {
    if (t < 1 || t > 2) continue;
    OthersMeter m;
    m.start();
    const Peak p = fma_peak((int)t, 7);
    peak[t] = p.cpu;
    std::printf("{\"bench\":\"fma_peak\",\"threads\":%ld,\"gflops\":%.1f,\"gflops_wall\":%.1f,\"others_cores\":%.2f}\n",
                t, p.cpu, p.wall, m.cores());
    std::fflush(stdout);
  }
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> uni(-1.f, 1.f);
  for (long n : sizes) {
    std::vector<float> A(n * n), B(n * n), C(n * n), P(n * n);
    for (float& x : A) x = uni(rng);
    for (float& x : B) x = uni(rng);
    const double flop = 2.0 * n * n * n;
    for (long t : threads) {
      gl::set_threads((int)t);
      if (blas.sgemm) blas.set_threads((int)t);
      auto ours = [&] { gl::sgemm(1, n, n, n, A.data(), 0, false, B.data(), 0, false, C.data(), false); };
      const int ni = (int)n;
      // CblasRowMajor (101), CblasNoTrans (111) for both: the same row-major C = A·B.
      auto peer = [&] { blas.sgemm(101, 111, 111, ni, ni, ni, 1.f, A.data(), ni, B.data(), ni, 0.f, P.data(), ni); };
      ours();
      if (blas.sgemm) peer();
      std::vector<double> to, tp;
      OthersMeter m;
      m.start();
      const double t0 = now_s();
      double (*clock)() = t == 1 ? thread_cpu_s : now_s;
      while ((int)to.size() < reps || now_s() - t0 < seconds) {
        double s = clock();
        ours();
        to.push_back(clock() - s);
        if (blas.sgemm) {
          s = clock();
          peer();
          tp.push_back(clock() - s);
        }
        if (to.size() >= 1000) break;
      }
      const double others = m.cores();
      double maxdiff = 0, maxref = 0;
      if (blas.sgemm)
        for (long i = 0; i < n * n; i++) {
          maxdiff = std::max(maxdiff, (double)std::fabs(C[i] - P[i]));
          maxref = std::max(maxref, (double)std::fabs(P[i]));
        }
      const double ob = flop / *std::min_element(to.begin(), to.end()) / 1e9, om = flop / median(to) / 1e9;
      std::printf("{\"bench\":\"sgemm\",\"n\":%ld,\"threads\":%ld,\"timing\":\"%s\",\"reps\":%zu,"
                  "\"ours_gflops_best\":%.1f,\"ours_gflops_median\":%.1f",
                  n, t, t == 1 ? "thread_cpu" : "wall", to.size(), ob, om);
      if (blas.sgemm) {
        const double pb = flop / *std::min_element(tp.begin(), tp.end()) / 1e9, pm = flop / median(tp) / 1e9;
        std::printf(",\"openblas_gflops_best\":%.1f,\"openblas_gflops_median\":%.1f,\"ratio_best\":%.3f,"
                    "\"ratio_median\":%.3f,\"max_abs_diff\":%.2e,\"max_abs_ref\":%.2e",
                    pb, pm, ob / pb, om / pm, maxdiff, maxref);
      } else {
        std::printf(",\"peer\":\"%s\"", blas.why.c_str());
      }
      if (t <= 2 && peak[t] > 0) std::printf(",\"fma_peak_gflops\":%.1f,\"ours_of_peak\":%.3f", peak[t], ob / peak[t]);
      std::printf(",\"others_cores\":%.2f}\n", others);
      std::fflush(stdout);
    }
  }
  std::printf("{\"bench\":\"sgemm_done\",\"others_cores\":%.2f}\n", all.cores());
  return 0;
}
