// Training-step kernels outside the model's forward/backward: the fused AdamW update of one parameter.
//
// The update reproduces the trainer's JS AdamW (apps/trainer/src/train/adamw.ts) to the bit: float64 arithmetic
// in the same order, the moments rounded to float32 when stored and read back rounded. This file is compiled
// without FMA (no -mfma/target attributes) and without -ffast-math, so no contraction or reassociation can
// change a rounding; IEEE double sqrt and division are exact-rounded like JS's Math.sqrt and `/`.
#include <napi.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "kernels.h"

namespace gl {

struct AdamWCoefficients {
  double beta1, beta2, eps;
  /** 1 − lr·λ (1 when the parameter does not decay). */
  double keep;
  /** lr / (1 − β1ᵗ). */
  double step_size;
  /** 1 / (1 − β2ᵗ). */
  double inv_bc2;
  /** Gradient multiplier (global-norm clipping). */
  double grad_scale;
};

// out = p updated with g (out may alias p); m and v updated in place.
static void adamw_range(const float* p, const float* g, float* m, float* v, float* out, long i0, long i1,
                        const AdamWCoefficients& c) {
  const double c1 = 1 - c.beta1, c2 = 1 - c.beta2;
  for (long i = i0; i < i1; i++) {
    const double gi = (double)g[i] * c.grad_scale;
    m[i] = (float)(c.beta1 * (double)m[i] + c1 * gi);
    v[i] = (float)(c.beta2 * (double)v[i] + c2 * gi * gi);
    out[i] = (float)((double)p[i] * c.keep - (c.step_size * (double)m[i]) / (std::sqrt((double)v[i] * c.inv_bc2) + c.eps));
  }
}

void adamw_update(const float* p, const float* g, float* m, float* v, float* out, long n, const AdamWCoefficients& c) {
  struct Ctx {
    const float *p, *g;
    float *m, *v, *out;
    long n;
    const AdamWCoefficients* c;
  } ctx{p, g, m, v, out, n, &c};
  // Memory-bound: split only when each thread gets enough to pay for the hand-off.
  const int parts = n < (1L << 16) ? 1 : threads();
  if (parts <= 1) {
    adamw_range(p, g, m, v, out, 0, n, c);
    return;
  }
  parallel(
      parts,
      [](void* raw, int part, int nparts) {
        Ctx& x = *static_cast<Ctx*>(raw);
        // Part boundaries on multiples of 16 floats (whole cache lines for aligned arrays).
        const long chunk = ((x.n + nparts - 1) / nparts + 15) / 16 * 16;
        const long i0 = std::min(x.n, chunk * part), i1 = std::min(x.n, i0 + chunk);
        adamw_range(x.p, x.g, x.m, x.v, x.out, i0, i1, *x.c);
      },
      &ctx);
}

}  // namespace gl

namespace {

float* f32(const Napi::Env& env, const Napi::Value& v, const char* name, size_t n) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
    throw Napi::TypeError::New(env, std::string("adamwUpdate: ") + name + " must be a Float32Array");
  }
  auto a = v.As<Napi::Float32Array>();
  if (a.ElementLength() < n) {
    throw Napi::RangeError::New(env, std::string("adamwUpdate: ") + name + " has " + std::to_string(a.ElementLength()) +
                                         " elements, needs " + std::to_string(n));
  }
  return a.Data();
}

double number(const Napi::Env& env, const Napi::Value& v, const char* name) {
  if (!v.IsNumber()) throw Napi::TypeError::New(env, std::string("adamwUpdate: ") + name + " must be a number");
  return v.As<Napi::Number>().DoubleValue();
}

// adamwUpdate(p, g, m, v, out, n, beta1, beta2, eps, keep, stepSize, invBc2, gradScale)
Napi::Value AdamWUpdate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 13) throw Napi::TypeError::New(env, "adamwUpdate: expected 13 arguments");
  const double nd = number(env, info[5], "n");
  if (nd < 0 || nd != (double)(long)nd) throw Napi::RangeError::New(env, "adamwUpdate: n must be a non-negative integer");
  const long n = (long)nd;
  const float* p = f32(env, info[0], "p", n);
  const float* g = f32(env, info[1], "g", n);
  float* m = f32(env, info[2], "m", n);
  float* v = f32(env, info[3], "v", n);
  float* out = f32(env, info[4], "out", n);
  const gl::AdamWCoefficients c{number(env, info[6], "beta1"),    number(env, info[7], "beta2"),
                                number(env, info[8], "eps"),      number(env, info[9], "keep"),
                                number(env, info[10], "stepSize"), number(env, info[11], "invBc2"),
                                number(env, info[12], "gradScale")};
  gl::adamw_update(p, g, m, v, out, n, c);
  return env.Undefined();
}

}  // namespace

void register_train(Napi::Env env, Napi::Object exports) {
  exports.Set("adamwUpdate", Napi::Function::New(env, AdamWUpdate, "adamwUpdate"));
}
