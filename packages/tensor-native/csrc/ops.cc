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

constexpr float kSqrt2OverPi = 0.7978845608028654f;
constexpr float kCoeff = 0.044715f;

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
      float m = -INFINITY;
      for (long j = 0; j < valid; j++) m = std::max(m, x[j]);
      float s = 0.f;
      for (long j = 0; j < valid; j++) {
        const float e = std::exp(x[j] - m);
        y[j] = e;
        s += e;
      }
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
  for_rows(n, 1, [&](long i0, long i1) {
    for (long i = i0; i < i1; i++) {
      const float x = X[i];
      const float t = std::tanh(kSqrt2OverPi * (x + kCoeff * x * x * x));
      Y[i] = 0.5f * x * (1.f + t);
    }
  });
}

void gelu_backward(const float* X, const float* dY, float* dX, long n) {
  for_rows(n, 1, [&](long i0, long i1) {
    for (long i = i0; i < i1; i++) {
      const float x = X[i];
      const float t = std::tanh(kSqrt2OverPi * (x + kCoeff * x * x * x));
      const float d = 0.5f * (1.f + t) + 0.5f * x * (1.f - t * t) * kSqrt2OverPi * (1.f + 3.f * kCoeff * x * x);
      dX[i] = dY[i] * d;
    }
  });
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
      float m = -INFINITY;
      for (long j = 0; j < cols; j++) m = std::max(m, l[j]);
      double s = 0.0;
      for (long j = 0; j < cols; j++) {
        const float e = std::exp(l[j] - m);
        g[j] = e;
        s += e;
      }
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
