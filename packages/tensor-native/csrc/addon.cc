// N-API bindings. Arrays arrive as Float32Array views: for the tfjs wasm backend these are views into the
// WebAssembly heap, read and written in place (the JS thread is blocked while a kernel runs, so the heap
// cannot grow or move underneath).
#include <napi.h>

#include <cstdint>
#include <initializer_list>
#include <string>

#include "kernels.h"
#include "attention.h"
#include "ops.h"

void register_decode(Napi::Env env, Napi::Object exports);
void register_decode_rows(Napi::Env env, Napi::Object exports);
void register_train(Napi::Env env, Napi::Object exports);

namespace {

// A Float32Array argument, with its name for error messages.
struct F32 {
  float* data;
  size_t length;
  const char* name;
};

F32 f32(const Napi::Env& env, const Napi::Value& v, const char* name) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
    throw Napi::TypeError::New(env, std::string(name) + " must be a Float32Array");
  }
  auto a = v.As<Napi::Float32Array>();
  return {a.Data(), a.ElementLength(), name};
}

const int32_t* i32(const Napi::Env& env, const Napi::Value& v, const char* name, size_t& length) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) {
    throw Napi::TypeError::New(env, std::string(name) + " must be an Int32Array");
  }
  auto a = v.As<Napi::Int32Array>();
  length = a.ElementLength();
  return a.Data();
}

long num(const Napi::Env& env, const Napi::Value& v, const char* name) {
  if (!v.IsNumber()) throw Napi::TypeError::New(env, std::string(name) + " must be a number");
  const double d = v.As<Napi::Number>().DoubleValue();
  if (d < 0 || d != (double)(long)d) throw Napi::RangeError::New(env, std::string(name) + " must be a non-negative integer");
  return (long)d;
}

double fnum(const Napi::Env& env, const Napi::Value& v, const char* name) {
  if (!v.IsNumber()) throw Napi::TypeError::New(env, std::string(name) + " must be a number");
  return v.As<Napi::Number>().DoubleValue();
}

// Throws unless every array holds at least n elements, naming the first that does not.
void need(const Napi::Env& env, size_t n, std::initializer_list<const F32*> arrays) {
  for (const F32* a : arrays) {
    if (a->length < n) {
      throw Napi::RangeError::New(env, std::string(a->name) + " has " + std::to_string(a->length) + " elements, needs " +
                                           std::to_string(n));
    }
  }
}

Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("isa", gl::isa_name());
  auto list = gl::isas_available();
  Napi::Array arr = Napi::Array::New(env, list.size());
  for (size_t i = 0; i < list.size(); i++) arr.Set(i, list[i]);
  o.Set("isas", arr);
  o.Set("threads", gl::threads());
  return o;
}

Napi::Value SetIsa(const Napi::CallbackInfo& info) {
  if (!info[0].IsString()) throw Napi::TypeError::New(info.Env(), "setIsa(name): name must be a string");
  return Napi::Boolean::New(info.Env(), gl::set_isa(info[0].As<Napi::String>().Utf8Value()));
}

Napi::Value SetThreads(const Napi::CallbackInfo& info) {
  const long n = num(info.Env(), info[0], "threads");
  if (n < 1) throw Napi::RangeError::New(info.Env(), "threads must be ≥ 1");
  gl::set_threads((int)n);
  return Napi::Number::New(info.Env(), gl::threads());
}

// gemm(A, B, C, batch, M, N, K, transA, transB, strideA, strideB, accumulate)
Napi::Value Gemm(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 12) throw Napi::TypeError::New(env, "gemm: expected 12 arguments");
  F32 A = f32(env, info[0], "A"), B = f32(env, info[1], "B"), C = f32(env, info[2], "C");
  const long batch = num(env, info[3], "batch"), M = num(env, info[4], "M"), N = num(env, info[5], "N"),
             K = num(env, info[6], "K");
  const bool ta = info[7].ToBoolean(), tb = info[8].ToBoolean();
  const long sA = num(env, info[9], "strideA"), sB = num(env, info[10], "strideB");
  const bool acc = info[11].ToBoolean();
  if (batch > 0 && M > 0 && N > 0) {
    need(env, (size_t)((batch - 1) * sA + M * K), {&A});
    need(env, (size_t)((batch - 1) * sB + K * N), {&B});
    need(env, (size_t)(batch * M * N), {&C});
    gl::sgemm(batch, M, N, K, A.data, sA, ta, B.data, sB, tb, C.data, acc);
  }
  return env.Undefined();
}

// biasAct(C, rows, cols, bias|null, act): C[r, :] += bias; then act (0 linear, 1 relu) in place.
Napi::Value BiasAct(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  F32 C = f32(env, info[0], "C");
  const long rows = num(env, info[1], "rows"), cols = num(env, info[2], "cols");
  need(env, (size_t)(rows * cols), {&C});
  const float* bias = nullptr;
  if (!info[3].IsNull() && !info[3].IsUndefined()) {
    F32 b = f32(env, info[3], "bias");
    need(env, (size_t)cols, {&b});
    bias = b.data;
  }
  const long act = num(env, info[4], "activation");
  gl::bias_act(C.data, rows, cols, bias, (int)act);
  return env.Undefined();
}

// softmax(X, Y, rows, cols, causalT, causalOffset): row softmax; when causalT > 0, row r (query q = r % causalT)
// keeps columns j ≤ q + offset and gives the rest probability 0.
Napi::Value Softmax(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  F32 X = f32(env, info[0], "X"), Y = f32(env, info[1], "Y");
  const long rows = num(env, info[2], "rows"), cols = num(env, info[3], "cols");
  const long causalT = num(env, info[4], "causalT"), offset = num(env, info[5], "causalOffset");
  need(env, (size_t)(rows * cols), {&X, &Y});
  gl::softmax_rows(X.data, Y.data, rows, cols, causalT, offset);
  return env.Undefined();
}

// softmaxBackward(Y, dY, dX, rows, cols): dX = Y ⊙ (dY − Σ dY·Y).
Napi::Value SoftmaxBackward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  F32 Y = f32(env, info[0], "Y"), dY = f32(env, info[1], "dY"), dX = f32(env, info[2], "dX");
  const long rows = num(env, info[3], "rows"), cols = num(env, info[4], "cols");
  need(env, (size_t)(rows * cols), {&Y, &dY, &dX});
  gl::softmax_backward(Y.data, dY.data, dX.data, rows, cols);
  return env.Undefined();
}

// layerNorm(X, gamma, beta, Y, xhat, rstd, rows, cols, eps)
Napi::Value LayerNorm(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  F32 X = f32(env, info[0], "X"), G = f32(env, info[1], "gamma"), Bt = f32(env, info[2], "beta"),
      Y = f32(env, info[3], "Y"), XH = f32(env, info[4], "xhat"), R = f32(env, info[5], "rstd");
  const long rows = num(env, info[6], "rows"), cols = num(env, info[7], "cols");
  const double eps = fnum(env, info[8], "eps");
  need(env, (size_t)(rows * cols), {&X, &Y, &XH});
  need(env, (size_t)rows, {&R});
  need(env, (size_t)cols, {&G, &Bt});
  gl::layer_norm(X.data, G.data, Bt.data, Y.data, XH.data, R.data, rows, cols, (float)eps);
  return env.Undefined();
}

// layerNormBackward(dY, xhat, rstd, gamma, dX, dGamma, dBeta, rows, cols)
Napi::Value LayerNormBackward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  F32 dY = f32(env, info[0], "dY"), XH = f32(env, info[1], "xhat"), R = f32(env, info[2], "rstd"),
      G = f32(env, info[3], "gamma"), dX = f32(env, info[4], "dX"), dG = f32(env, info[5], "dGamma"),
      dB = f32(env, info[6], "dBeta");
  const long rows = num(env, info[7], "rows"), cols = num(env, info[8], "cols");
  need(env, (size_t)(rows * cols), {&dY, &XH, &dX});
  need(env, (size_t)rows, {&R});
  need(env, (size_t)cols, {&G, &dG, &dB});
  gl::layer_norm_backward(dY.data, XH.data, R.data, G.data, dX.data, dG.data, dB.data, rows, cols);
  return env.Undefined();
}

// gelu(X, Y, n) and geluBackward(X, dY, dX, n): tanh approximation.
Napi::Value Gelu(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  F32 X = f32(env, info[0], "X"), Y = f32(env, info[1], "Y");
  const long n = num(env, info[2], "n");
  need(env, (size_t)n, {&X, &Y});
  gl::gelu(X.data, Y.data, n);
  return env.Undefined();
}

Napi::Value GeluBackward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  F32 X = f32(env, info[0], "X"), dY = f32(env, info[1], "dY"), dX = f32(env, info[2], "dX");
  const long n = num(env, info[3], "n");
  need(env, (size_t)n, {&X, &dY, &dX});
  gl::gelu_backward(X.data, dY.data, dX.data, n);
  return env.Undefined();
}

// crossEntropy(logits, targets Int32Array, rows, cols, ignoreIndex, probsOut) → mean loss over counted rows;
// probsOut receives the gradient of the mean loss w.r.t. the logits (softmax − onehot)/count.
Napi::Value CrossEntropy(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  F32 L = f32(env, info[0], "logits");
  size_t nt = 0;
  const int32_t* T = i32(env, info[1], "targets", nt);
  const long rows = num(env, info[2], "rows"), cols = num(env, info[3], "cols");
  const long ignore = (long)fnum(env, info[4], "ignoreIndex");
  F32 G = f32(env, info[5], "grad");
  need(env, (size_t)(rows * cols), {&L, &G});
  if (nt < (size_t)rows) throw Napi::RangeError::New(env, "targets has fewer entries than rows");
  for (long r = 0; r < rows; r++) {
    if (T[r] != ignore && (T[r] < 0 || T[r] >= cols)) {
      throw Napi::RangeError::New(env, "crossEntropy: target " + std::to_string(T[r]) + " at row " + std::to_string(r) +
                                           " is outside [0, " + std::to_string(cols) + ")");
    }
  }
  const double loss = gl::cross_entropy(L.data, T, rows, cols, (int32_t)ignore, G.data);
  return Napi::Number::New(env, loss);
}

// sumMiddle(X, out, A, R, B): out[a, b] = Σ_r X[a, r, b].
Napi::Value SumMiddle(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  F32 X = f32(env, info[0], "X"), O = f32(env, info[1], "out");
  const long A = num(env, info[2], "A"), R = num(env, info[3], "R"), Bn = num(env, info[4], "B");
  need(env, (size_t)(A * R * Bn), {&X});
  need(env, (size_t)(A * Bn), {&O});
  gl::sum_middle(X.data, O.data, A, R, Bn);
  return env.Undefined();
}

// attentionForward(Q, K, V, O, LSE, BH, T, Tk, D, scale): flash-style causal attention (attention.h).
Napi::Value AttentionForward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  F32 Q = f32(env, info[0], "Q"), K = f32(env, info[1], "K"), V = f32(env, info[2], "V"), O = f32(env, info[3], "O"),
      L = f32(env, info[4], "LSE");
  const long BH = num(env, info[5], "BH"), T = num(env, info[6], "T"), Tk = num(env, info[7], "Tk"),
             D = num(env, info[8], "D");
  if (Tk < T) throw Napi::RangeError::New(env, "attentionForward: Tk must be ≥ T (queries are the last T keys)");
  need(env, (size_t)(BH * T * D), {&Q, &O});
  need(env, (size_t)(BH * Tk * D), {&K, &V});
  need(env, (size_t)(BH * T), {&L});
  gl::causal_attention_forward(Q.data, K.data, V.data, O.data, L.data, BH, T, Tk, D, (float)fnum(env, info[9], "scale"));
  return env.Undefined();
}

// attentionBackward(Q, K, V, O, LSE, dO, dQ, dK, dV, BH, T, Tk, D, scale)
Napi::Value AttentionBackward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  F32 Q = f32(env, info[0], "Q"), K = f32(env, info[1], "K"), V = f32(env, info[2], "V"), O = f32(env, info[3], "O"),
      L = f32(env, info[4], "LSE"), dO = f32(env, info[5], "dO"), dQ = f32(env, info[6], "dQ"),
      dK = f32(env, info[7], "dK"), dV = f32(env, info[8], "dV");
  const long BH = num(env, info[9], "BH"), T = num(env, info[10], "T"), Tk = num(env, info[11], "Tk"),
             D = num(env, info[12], "D");
  if (Tk < T) throw Napi::RangeError::New(env, "attentionBackward: Tk must be ≥ T (queries are the last T keys)");
  need(env, (size_t)(BH * T * D), {&Q, &O, &dO, &dQ});
  need(env, (size_t)(BH * Tk * D), {&K, &V, &dK, &dV});
  need(env, (size_t)(BH * T), {&L});
  gl::causal_attention_backward(Q.data, K.data, V.data, O.data, L.data, dO.data, dQ.data, dK.data, dV.data, BH, T, Tk,
                                D, (float)fnum(env, info[13], "scale"));
  return env.Undefined();
}

// The addon's functions by their JS names (src/addon.ts types them).
struct Export {
  const char* name;
  Napi::Value (*fn)(const Napi::CallbackInfo&);
};
const Export kExports[] = {
    {"info", Info},
    {"setIsa", SetIsa},
    {"setThreads", SetThreads},
    {"gemm", Gemm},
    {"biasAct", BiasAct},
    {"softmax", Softmax},
    {"softmaxBackward", SoftmaxBackward},
    {"layerNorm", LayerNorm},
    {"layerNormBackward", LayerNormBackward},
    {"gelu", Gelu},
    {"geluBackward", GeluBackward},
    {"sumMiddle", SumMiddle},
    {"crossEntropy", CrossEntropy},
    {"attentionForward", AttentionForward},
    {"attentionBackward", AttentionBackward},
};

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  for (const Export& e : kExports) exports.Set(e.name, Napi::Function::New(env, e.fn, e.name));
  register_decode(env, exports);  // decode_napi.cc: the native decode step
  register_decode_rows(env, exports);  // decode_rows_napi.cc: the decode step of R rows
  register_train(env, exports);   // train_ops.cc: the fused AdamW update
  return exports;
}

}  // namespace

NODE_API_MODULE(gptlab_native, Init)
