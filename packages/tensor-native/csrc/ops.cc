// Fused row-wise kernels. Plain C++ with float math (accumulations in double where rows are long), split
// over the thread pool by rows; the compiler vectorises the simple loops.
#include "ops.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels.h"

namespace gl {
namespace {

// Runs body(r0, r1) over row ranges on the pool when the work is big enough to pay for the hand-off.
template <typename F>
void for_rows(long rows, long cols, F&& body) {
  struct Ctx {
    F* f;
    long rows;
  } ctx{&body, rows};
  const int T = (double)rows * cols < 32768 ? 1 : std::min<long>(threads(), rows);
  if (T <= 1) {
    body(0L, rows);
    return;
  }
  parallel(
      T,
      [](void* p, int part, int nparts) {
        Ctx& c = *static_cast<Ctx*>(p);
        const long r0 = c.rows * part / nparts, r1 = c.rows * (part + 1) / nparts;
        (*c.f)(r0, r1);
      },
      &ctx);
}


}  // namespace

void bias_act(float* C, long rows, long cols, const float* bias, int act) {
  for_rows(rows, cols, [&](long r0, long r1) {
    for (long r = r0; r < r1; r++) {
      float* c = C + r * cols;
      if (bias)
        for (long j = 0; j < cols; j++) c[j] += bias[j];
      if (act == 1)
        for (long j = 0; j < cols; j++) c[j] = c[j] > 0.f ? c[j] : 0.f;
    }
  });
}

void softmax_rows(const float* X, float* Y, long rows, long cols, long causalT, long offset) {
  for_rows(rows, cols, [&](long r0, long r1) {
    for (long r = r0; r < r1; r++) {
      const float* x = X + r * cols;
      float* y = Y + r * cols;
      long valid = cols;
      if (causalT > 0) valid = std::min(cols, (r % causalT) + offset + 1);
      const ElementwiseKernels& k = ew();
      const float m = valid > 0 ? k.max(x, valid) : 0.f;
      const float s = valid > 0 ? k.exp_shift_sum(x, m, y, valid) : 1.f;
      const float inv = valid > 0 ? 1.f / s : 0.f;
      for (long j = 0; j < valid; j++) y[j] *= inv;
      for (long j = valid; j < cols; j++) y[j] = 0.f;
    }
  });
}

void softmax_backward(const float* Y, const float* dY, float* dX, long rows, long cols) {
  for_rows(rows, cols, [&](long r0, long r1) {
    for (long r = r0; r < r1; r++) {
      const float* y = Y + r * cols;
      const float* dy = dY + r * cols;
      float* dx = dX + r * cols;
      float dot = 0.f;
      for (long j = 0; j < cols; j++) dot += y[j] * dy[j];
      for (long j = 0; j < cols; j++) dx[j] = y[j] * (dy[j] - dot);
    }
  });
}

void layer_norm(const float* X, const float* gamma, const float* beta, float* Y, float* xhat, float* rstd, long rows,
                long cols, float eps) {
  for_rows(rows, cols, [&](long r0, long r1) {
    for (long r = r0; r < r1; r++) {
      const float* x = X + r * cols;
      float sum = 0.f;
      for (long j = 0; j < cols; j++) sum += x[j];
      const float mean = sum / (float)cols;
      float var = 0.f;
      for (long j = 0; j < cols; j++) {
        const float d = x[j] - mean;
        var += d * d;
      }
      const float rs = 1.f / std::sqrt(var / (float)cols + eps);
      rstd[r] = rs;
      float* xh = xhat + r * cols;
      float* y = Y + r * cols;
      for (long j = 0; j < cols; j++) {
        const float h = (x[j] - mean) * rs;
        xh[j] = h;
        y[j] = h * gamma[j] + beta[j];
      }
    }
  });
}

void layer_norm_backward(const float* dY, const float* xhat, const float* rstd, const float* gamma, float* dX,
                         float* dGamma, float* dBeta, long rows, long cols) {
  // Per-part partial sums for dGamma/dBeta, combined in part order (deterministic).
  const int T = (double)rows * cols < 32768 ? 1 : (int)std::min<long>(threads(), rows);
  std::vector<float> partial((size_t)T * 2 * cols, 0.f);
  struct Ctx {
    const float *dY, *xhat, *rstd, *gamma;
    float* dX;
    float* partial;
    long rows, cols;
  } ctx{dY, xhat, rstd, gamma, dX, partial.data(), rows, cols};
  auto body = [](void* p, int part, int nparts) {
    Ctx& c = *static_cast<Ctx*>(p);
    const long r0 = c.rows * part / nparts, r1 = c.rows * (part + 1) / nparts;
    const long n = c.cols;
    float* pg = c.partial + (size_t)part * 2 * n;
    float* pb = pg + n;
    for (long r = r0; r < r1; r++) {
      const float* dy = c.dY + r * n;
      const float* xh = c.xhat + r * n;
      float* dx = c.dX + r * n;
      float mg = 0.f, mgx = 0.f;
      for (long j = 0; j < n; j++) {
        const float g = dy[j] * c.gamma[j];
        mg += g;
        mgx += g * xh[j];
        pg[j] += dy[j] * xh[j];
        pb[j] += dy[j];
      }
      mg /= (float)n;
      mgx /= (float)n;
      const float rs = c.rstd[r];
      for (long j = 0; j < n; j++) dx[j] = rs * (dy[j] * c.gamma[j] - mg - xh[j] * mgx);
    }
  };
  if (T <= 1)
    body(&ctx, 0, 1);
  else
    parallel(T, body, &ctx);
  for (long j = 0; j < cols; j++) {
    float g = 0.f, b = 0.f;
    for (int t = 0; t < T; t++) {
      g += partial[(size_t)t * 2 * cols + j];
      b += partial[(size_t)t * 2 * cols + cols + j];
    }
    dGamma[j] = g;
    dBeta[j] = b;
  }
}

void gelu(const float* X, float* Y, long n) {
  const ElementwiseKernels& k = ew();
  for_rows(n, 1, [&](long i0, long i1) { k.gelu(X + i0, Y + i0, i1 - i0); });
}

void gelu_backward(const float* X, const float* dY, float* dX, long n) {
  const ElementwiseKernels& k = ew();
  for_rows(n, 1, [&](long i0, long i1) { k.gelu_backward(X + i0, dY + i0, dX + i0, i1 - i0); });
}

void sum_middle(const float* X, float* out, long A, long R, long Bn) {
  const ElementwiseKernels& k = ew();
  if (A >= 2 || Bn < 64) {
    for_rows(A, R * Bn, [&](long a0, long a1) { k.sum_middle(X, out, a0, a1, R, Bn, 0, Bn); });
  } else {
    // One output row: split its columns.
    const long chunks = (Bn + 15) / 16;
    for_rows(chunks, R * 16, [&](long c0, long c1) { k.sum_middle(X, out, 0, 1, R, Bn, c0 * 16, std::min(Bn, c1 * 16)); });
  }
}

double cross_entropy(const float* logits, const int32_t* targets, long rows, long cols, int32_t ignore, float* grad) {
  long count = 0;
  for (long r = 0; r < rows; r++) count += targets[r] != ignore;
  const float w = 1.f / (float)std::max(1L, count);
  std::vector<double> rowLoss((size_t)rows, 0.0);
  for_rows(rows, cols, [&](long r0, long r1) {
    for (long r = r0; r < r1; r++) {
      const float* l = logits + r * cols;
      float* g = grad + r * cols;
      const int32_t t = targets[r];
      if (t == ignore) {
        for (long j = 0; j < cols; j++) g[j] = 0.f;
        continue;
      }
      const ElementwiseKernels& k = ew();
      const float m = k.max(l, cols);
      const double s = k.exp_shift_sum(l, m, g, cols);
      const float lse = m + (float)std::log(s);
      rowLoss[r] = (double)lse - (double)l[t];
      const float inv = (float)(1.0 / s) * w;
      for (long j = 0; j < cols; j++) g[j] *= inv;
      g[t] -= w;
    }
  });
  double loss = 0.0;
  for (long r = 0; r < rows; r++) loss += rowLoss[r];
  return loss * (double)w;
}

}  // namespace gl
