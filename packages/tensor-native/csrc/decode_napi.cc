// N-API bindings of the native decode step (decode.h): handles for a weights snapshot and per-sequence caches,
// freed by the garbage collector or at once with decodeFree. src/decode.ts types them.
#include <napi.h>

#include <algorithm>
#include <cstdlib>
#include <exception>
#include <memory>
#include <string>
#include <vector>

#include "decode.h"
#include "decode_handle.h"

namespace {

// What a JS handle points to (decode_handle.h, shared with decode_rows_napi.cc).
template <typename T>
using Holder = gl::DecodeHandle<T>;

template <typename T>
Napi::Value wrap(Napi::Env env, std::unique_ptr<T> obj) {
  auto* h = new Holder<T>{T::kTag, std::move(obj)};
  return Napi::External<Holder<T>>::New(env, h, [](Napi::Env, Holder<T>* p) { delete p; });
}

template <typename T>
Holder<T>& holder(const Napi::Env& env, const Napi::Value& v, const char* what) {
  if (!v.IsExternal()) throw Napi::TypeError::New(env, std::string(what) + " must be a native decode handle");
  auto* h = v.As<Napi::External<Holder<T>>>().Data();
  if (!h || h->tag != T::kTag) throw Napi::TypeError::New(env, std::string(what) + " is a different kind of handle");
  return *h;
}

template <typename T>
T& unwrap(const Napi::Env& env, const Napi::Value& v, const char* what) {
  Holder<T>& h = holder<T>(env, v, what);
  if (!h.obj) throw Napi::Error::New(env, std::string(what) + " was freed");
  return *h.obj;
}

long count(const Napi::Env& env, const Napi::Value& v, const char* name) {
  if (!v.IsNumber()) throw Napi::TypeError::New(env, std::string(name) + " must be a number");
  const double d = v.As<Napi::Number>().DoubleValue();
  if (d < 0 || d != (double)(long)d)
    throw Napi::RangeError::New(env, std::string(name) + " must be a non-negative integer");
  return (long)d;
}

Napi::Float32Array floats(const Napi::Env& env, const Napi::Value& v, const std::string& name, size_t need) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
    throw Napi::TypeError::New(env, name + " must be a Float32Array");
  auto a = v.As<Napi::Float32Array>();
  if (a.ElementLength() != need)
    throw Napi::RangeError::New(
        env, name + " has " + std::to_string(a.ElementLength()) + " elements, expected " + std::to_string(need));
  return a;
}

// decodeModel(nLayer, nHead, nEmbd, vocab, nPositions, eps, postLN, weights: Float32Array[], dtype?) → handle; dtype
// 'bfloat16' (or true): the weight matrices and wte rounded to bfloat16, half the bytes streamed; 'int8': quantised
// per column and group of k (decode_q8.cc), about a quarter; 'float32' / absent / false: exact.
Napi::Value DecodeModelNew(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const long L = count(env, info[0], "nLayer"), H = count(env, info[1], "nHead"), C = count(env, info[2], "nEmbd"),
             V = count(env, info[3], "vocabSize"), P = count(env, info[4], "nPositions");
  if (L < 1 || H < 1 || C < 1 || V < 1 || P < 1 || C % H != 0)
    throw Napi::RangeError::New(env, "decodeModel: sizes must be positive and nHead must divide nEmbd");
  if (!info[5].IsNumber()) throw Napi::TypeError::New(env, "eps must be a number");
  const float eps = (float)info[5].As<Napi::Number>().DoubleValue();
  const bool postLN = info[6].ToBoolean();
  using Weights = gl::DecodeModel::Weights;
  Weights dtype = Weights::float32;
  if (info.Length() > 8 && info[8].IsString()) {
    const std::string d = info[8].As<Napi::String>().Utf8Value();
    if (d == "bfloat16")
      dtype = Weights::bfloat16;
    else if (d == "int8")
      dtype = Weights::int8;
    else if (d != "float32")
      throw Napi::TypeError::New(env, "decodeModel: dtype must be 'float32', 'bfloat16' or 'int8', got '" + d + "'");
  } else if (info.Length() > 8 && info[8].ToBoolean()) {
    dtype = Weights::bfloat16;
  }
  if (!info[7].IsArray()) throw Napi::TypeError::New(env, "weights must be an array of Float32Array");
  auto arr = info[7].As<Napi::Array>();
  const std::vector<long> sizes = gl::DecodeModel::sizes(L, C, V, P, postLN);
  if (arr.Length() != sizes.size())
    throw Napi::RangeError::New(
        env, "weights has " + std::to_string(arr.Length()) + " tensors, expected " + std::to_string(sizes.size()));
  std::vector<const float*> ptrs;
  for (uint32_t i = 0; i < arr.Length(); i++)
    ptrs.push_back(floats(env, arr.Get(i), "weights[" + std::to_string(i) + "]", sizes[i]).Data());
  try {
    return wrap(env, std::make_unique<gl::DecodeModel>(L, H, C, V, P, eps, postLN, ptrs, dtype));
  } catch (const std::exception& e) {  // out of memory: a JS error, not an abort
    throw Napi::Error::New(env, std::string("decodeModel: ") + e.what());
  }
}

// decodeCache(model) → handle of an empty cache for that model's shape
Napi::Value DecodeCacheNew(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const gl::DecodeModel& m = unwrap<gl::DecodeModel>(env, info[0], "model");
  return wrap(env, std::make_unique<gl::DecodeCache>(m.L, m.C));
}

// decodeStep(model, cache, token, logits[V])
Napi::Value DecodeStep(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const gl::DecodeModel& m = unwrap<gl::DecodeModel>(env, info[0], "model");
  gl::DecodeCache& c = unwrap<gl::DecodeCache>(env, info[1], "cache");
  if (c.L != m.L || c.C != m.C)
    throw Napi::Error::New(env, "decodeStep: the cache belongs to a model of another shape");
  const long token = count(env, info[2], "token");
  if (token >= m.V)
    throw Napi::RangeError::New(env, "decodeStep: token " + std::to_string(token) + " is outside the vocabulary [0, " +
                                         std::to_string(m.V) + ")");
  if (c.len >= m.P)
    throw Napi::RangeError::New(
        env, "decodeStep: the cache already holds nPositions = " + std::to_string(m.P) + " positions");
  auto logits = floats(env, info[3], "logits", (size_t)m.V);
  try {
    gl::decode_step(m, c, token, logits.Data());
  } catch (const std::exception& e) {
    throw Napi::Error::New(env, std::string("decodeStep: ") + e.what());
  }
  return env.Undefined();
}

// decodeCacheLoad(cache, nHead, keys: Float32Array[], values: Float32Array[], length): each layer's [H][length][D]
// (tfjs's [1, H, T, D]) becomes the cache's [length][C]; the cache then holds exactly `length` positions.
Napi::Value DecodeCacheLoad(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  gl::DecodeCache& c = unwrap<gl::DecodeCache>(env, info[0], "cache");
  const long H = count(env, info[1], "nHead"), T = count(env, info[4], "length");
  if (H < 1 || c.C % H != 0) throw Napi::RangeError::New(env, "decodeCacheLoad: nHead must divide the width");
  if (!info[2].IsArray() || !info[3].IsArray() || info[2].As<Napi::Array>().Length() != (uint32_t)c.L ||
      info[3].As<Napi::Array>().Length() != (uint32_t)c.L)
    throw Napi::TypeError::New(env, "decodeCacheLoad: keys and values must be arrays of one Float32Array per layer");
  const long D = c.C / H;
  c.reserve(std::max(T, 1L));
  for (long l = 0; l < c.L; l++) {
    const std::string at = "[" + std::to_string(l) + "]";
    const float* k = floats(env, info[2].As<Napi::Array>().Get((uint32_t)l), "keys" + at, (size_t)(H * T * D)).Data();
    const float* v = floats(env, info[3].As<Napi::Array>().Get((uint32_t)l), "values" + at, (size_t)(H * T * D)).Data();
    for (long h = 0; h < H; h++)
      for (long t = 0; t < T; t++) {
        std::copy(k + (h * T + t) * D, k + (h * T + t + 1) * D, c.k[l].data() + t * c.C + h * D);
        std::copy(v + (h * T + t) * D, v + (h * T + t + 1) * D, c.v[l].data() + t * c.C + h * D);
      }
  }
  c.len = T;
  return env.Undefined();
}

// decodeCacheRead(cache, nHead, layer, keys, values): the layer's cached positions as [H][len][D] each.
Napi::Value DecodeCacheRead(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const gl::DecodeCache& c = unwrap<gl::DecodeCache>(env, info[0], "cache");
  const long H = count(env, info[1], "nHead"), l = count(env, info[2], "layer");
  if (H < 1 || c.C % H != 0) throw Napi::RangeError::New(env, "decodeCacheRead: nHead must divide the width");
  if (l >= c.L)
    throw Napi::RangeError::New(
        env, "decodeCacheRead: layer " + std::to_string(l) + " is outside [0, " + std::to_string(c.L) + ")");
  const long D = c.C / H, T = c.len;
  float* k = floats(env, info[3], "keys", (size_t)(c.C * T)).Data();
  float* v = floats(env, info[4], "values", (size_t)(c.C * T)).Data();
  for (long h = 0; h < H; h++)
    for (long t = 0; t < T; t++) {
      std::copy(c.k[l].data() + t * c.C + h * D, c.k[l].data() + t * c.C + (h + 1) * D, k + (h * T + t) * D);
      std::copy(c.v[l].data() + t * c.C + h * D, c.v[l].data() + t * c.C + (h + 1) * D, v + (h * T + t) * D);
    }
  return env.Undefined();
}

// decodeCacheLength(cache) → positions held; decodeCacheTruncate(cache, n): keep the first n (n ≤ length).
Napi::Value DecodeCacheLength(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), (double)unwrap<gl::DecodeCache>(info.Env(), info[0], "cache").len);
}

Napi::Value DecodeCacheTruncate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  gl::DecodeCache& c = unwrap<gl::DecodeCache>(env, info[0], "cache");
  const long n = count(env, info[1], "length");
  if (n > c.len)
    throw Napi::RangeError::New(
        env, "decodeCacheTruncate: length " + std::to_string(n) + " exceeds the cached " + std::to_string(c.len));
  c.len = n;
  return env.Undefined();
}

// decodeQ8Product(w, K, N, transposed, x) → { y, dequantized }: quantises W (w as [K, N], or [N, K] when transposed,
// as the tied head) the way an int8 snapshot does and returns x·W through the decode step's int8 kernel and split
// (pool, column slices), with the dequantised W as [K, N] — what the tests hold the kernel to.
Napi::Value DecodeQ8Product(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const long K = count(env, info[1], "K"), N = count(env, info[2], "N");
  if (K < 1 || N < 1) throw Napi::RangeError::New(env, "decodeQ8Product: K and N must be positive");
  const bool transposed = info[3].ToBoolean();
  const float* w = floats(env, info[0], "w", (size_t)(K * N)).Data();
  const float* x = floats(env, info[4], "x", (size_t)K).Data();
  std::unique_ptr<char, void (*)(void*)> block(static_cast<char*>(std::aligned_alloc(64, gl::q8_bytes(K, N))),
                                               std::free);
  if (!block) throw Napi::Error::New(env, "decodeQ8Product: out of memory");
  const gl::Q8Matrix q = gl::q8_quantize(w, transposed ? 1 : N, transposed ? K : 1, K, N, block.get());
  auto y = Napi::Float32Array::New(env, (size_t)N);
  gl::decode_gemv_q8(x, q, y.Data());
  auto dq = Napi::Float32Array::New(env, (size_t)(K * N));
  std::vector<float> col((size_t)K);
  for (long n = 0; n < N; n++) {
    gl::q8_column(q, n, col.data());
    for (long k = 0; k < K; k++) dq[(size_t)(k * N + n)] = col[(size_t)k];
  }
  auto out = Napi::Object::New(env);
  out.Set("y", y);
  out.Set("dequantized", dq);
  return out;
}

// decodeFree(handle): releases a model or cache now (later use throws "… was freed"); the GC would otherwise.
Napi::Value DecodeFree(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsExternal()) throw Napi::TypeError::New(env, "decodeFree: expected a native decode handle");
  void* p = info[0].As<Napi::External<void>>().Data();
  const uint32_t tag = p ? *static_cast<uint32_t*>(p) : 0;
  if (tag == gl::DecodeModel::kTag)
    static_cast<Holder<gl::DecodeModel>*>(p)->obj.reset();
  else if (tag == gl::DecodeCache::kTag)
    static_cast<Holder<gl::DecodeCache>*>(p)->obj.reset();
  else
    throw Napi::TypeError::New(env, "decodeFree: not a native decode handle");
  return env.Undefined();
}

}  // namespace

void register_decode(Napi::Env env, Napi::Object exports) {
  exports.Set("decodeModel", Napi::Function::New(env, DecodeModelNew, "decodeModel"));
  exports.Set("decodeCache", Napi::Function::New(env, DecodeCacheNew, "decodeCache"));
  exports.Set("decodeStep", Napi::Function::New(env, DecodeStep, "decodeStep"));
  exports.Set("decodeCacheLoad", Napi::Function::New(env, DecodeCacheLoad, "decodeCacheLoad"));
  exports.Set("decodeCacheRead", Napi::Function::New(env, DecodeCacheRead, "decodeCacheRead"));
  exports.Set("decodeCacheLength", Napi::Function::New(env, DecodeCacheLength, "decodeCacheLength"));
  exports.Set("decodeCacheTruncate", Napi::Function::New(env, DecodeCacheTruncate, "decodeCacheTruncate"));
  exports.Set("decodeFree", Napi::Function::New(env, DecodeFree, "decodeFree"));
  exports.Set("decodeQ8Product", Napi::Function::New(env, DecodeQ8Product, "decodeQ8Product"));
}
