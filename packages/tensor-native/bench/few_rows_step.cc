// The weight products of one GPT-2-small decode step, 8 rows (gemm_few) against one row (gemv), on one thread:
// 12 layers' distinct weights + the tied LM head (~490 MB, so W streams from memory as in generation). Best of
// N steps by thread CPU time (a shared machine deschedules threads; CPU time keeps the minimum stable). Prints one
// JSON line per product and one for the step, with the ratio to the one-row products.
//   g++ -O3 -std=gnu++17 -fno-math-errno -fno-trapping-math -pthread -I packages/tensor-native/csrc \
//     packages/tensor-native/csrc/{isa,pool}.cc packages/tensor-native/bench/few_rows_step.cc -o /tmp/few_rows_step
//   /tmp/few_rows_step [steps=6] [rows=8]        (GPTLAB_ISA=avx2+fma|avx512|scalar picks the kernels)
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <random>
#include <vector>

#include "isa.h"

static double cpu_ms() {
  timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

int main(int argc, char** argv) {
  const int steps = argc > 1 ? atoi(argv[1]) : 6, rows = argc > 2 ? atoi(argv[2]) : 8;
  const gl::Isa& is = gl::isa();
  struct Product {
    const char* name;
    long K, N;
    bool transposed;  // W stored [N, K] (the tied LM head)
  };
  const Product products[] = {
      {"qkv", 768, 2304, false}, {"attn_proj", 768, 768, false}, {"mlp_fc", 768, 3072, false},
      {"mlp_proj", 3072, 768, false}, {"lm_head", 768, 50257, true}};
  const int layers = 12;
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> uni(-0.5f, 0.5f);
  std::vector<std::vector<float>> weights;  // [layer][product] then the head
  for (int l = 0; l < layers; l++)
    for (int p = 0; p < 4; p++) {
      weights.emplace_back(products[p].K * products[p].N);
      for (float& x : weights.back()) x = uni(rng);
    }
  weights.emplace_back(768L * 50257);
  for (float& x : weights.back()) x = uni(rng);
  std::vector<float> A(rows * 3072L), C(rows * 50257L);
  for (float& x : A) x = uni(rng);

  // best[m][p]: per-product CPU ms of the fastest step, m = 0 one row, 1 `rows` rows
  double best[2][6];
  for (auto& b : best) b[5] = 1e30;
  for (int s = 0; s < steps; s++)
    for (int m = 0; m < 2; m++) {
      double t[6] = {0, 0, 0, 0, 0, 0};
      for (size_t w = 0; w < weights.size(); w++) {
        const int p = w < (size_t)layers * 4 ? w % 4 : 4;
        const Product& pr = products[p];
        const long rs = pr.transposed ? 1 : pr.N, cs = pr.transposed ? pr.K : 1;
        const double t0 = cpu_ms();
        if (m == 0)
          is.gemv(A.data(), pr.K, weights[w].data(), rs, cs, C.data(), 0, pr.N, false);
        else
          is.gemm_few(A.data(), pr.K, rows, pr.K, weights[w].data(), rs, cs, C.data(), pr.N, 0, pr.N, false);
        t[p] += cpu_ms() - t0;
      }
      for (int p = 0; p < 5; p++) t[5] += t[p];
      if (t[5] < best[m][5]) std::copy(t, t + 6, best[m]);
    }
  for (int p = 0; p < 6; p++)
    printf("{\"bench\":\"few_rows_step\",\"isa\":\"%s\",\"product\":\"%s\",\"rows\":%d,\"ms\":%.2f,\"one_row_ms\":%.2f,"
           "\"ratio_vs_one_row\":%.2f,\"steps\":%d}\n",
           is.name, p < 5 ? products[p].name : "step", rows, best[1][p], best[0][p], best[1][p] / best[0][p], steps);
}
