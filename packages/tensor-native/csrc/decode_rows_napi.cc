// N-API bindings of the R-row decode step (decode_rows.h) and of the per-row caches' batched moves: load rows from
// tfjs's left-padded [B, H, W, D] keys/values, read them back in that layout, copy one row's cache into another
// (beam forks). src/decode-rows.ts types them. Handles (decode_handle.h) are shared with decode_napi.cc.
#include <napi.h>

#include <cstring>
#include <exception>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "decode_handle.h"
#include "decode_rows.h"

namespace {

using gl::DecodeCache;
using gl::DecodeHandle;

// The object behind a handle of kind T (decode_handle.h), or a JS error naming `what`.
template <typename T>
T& unwrap(const Napi::Env& env, const Napi::Value& v, const std::string& what) {
  auto* h = v.IsExternal() ? static_cast<DecodeHandle<T>*>(v.As<Napi::External<void>>().Data()) : nullptr;
  if (!h || h->tag != T::kTag) throw Napi::TypeError::New(env, what + " must be a native decode handle of the right kind");
  if (!h->obj) throw Napi::Error::New(env, what + " was freed");
  return *h->obj;
}

// A whole number in [0, limit], or a JS error naming it.
long whole(const Napi::Env& env, const Napi::Value& v, const std::string& name, long limit = 1L << 40) {
  const double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : -1.0;
  if (!(d >= 0 && d <= (double)limit && d == (double)(long)d))
    throw Napi::RangeError::New(env, name + " must be an integer in [0, " + std::to_string(limit) + "]");
  return (long)d;
}

// The data of a Float32Array of exactly `need` elements, or a JS error naming it.
float* floats(const Napi::Env& env, const Napi::Value& v, const std::string& name, long need) {
  const bool ok = v.IsTypedArray() && v.As<Napi::TypedArray>().TypedArrayType() == napi_float32_array &&
                  (long)v.As<Napi::Float32Array>().ElementLength() == need;
  if (!ok) throw Napi::TypeError::New(env, name + " must be a Float32Array of " + std::to_string(need) + " elements");
  return v.As<Napi::Float32Array>().Data();
}

std::vector<DecodeCache*> caches(const Napi::Env& env, const Napi::Value& v) {
  if (!v.IsArray()) throw Napi::TypeError::New(env, "caches must be an array of native decode cache handles");
  auto arr = v.As<Napi::Array>();
  std::vector<DecodeCache*> out;
  for (uint32_t i = 0; i < arr.Length(); i++)
    out.push_back(&unwrap<DecodeCache>(env, arr.Get(i), "caches[" + std::to_string(i) + "]"));
  return out;
}

// decodeRowsCache(nLayer, nEmbd) → handle of an empty cache (no snapshot needed: rows join before the first step)
Napi::Value RowsCacheNew(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const long L = whole(env, info[0], "nLayer"), C = whole(env, info[1], "nEmbd");
  if (L < 1 || C < 1) throw Napi::RangeError::New(env, "decodeRowsCache: nLayer and nEmbd must be positive");
  auto* h = new DecodeHandle<DecodeCache>{DecodeCache::kTag, std::make_unique<DecodeCache>(L, C)};
  return Napi::External<DecodeHandle<DecodeCache>>::New(env, h, [](Napi::Env, DecodeHandle<DecodeCache>* p) { delete p; });
}

// decodeRowsStep(model, caches[R], tokens: Int32Array[R], logits: Float32Array[R·V])
Napi::Value RowsStep(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const gl::DecodeModel& m = unwrap<gl::DecodeModel>(env, info[0], "model");
  std::vector<DecodeCache*> cs = caches(env, info[1]);
  const long R = (long)cs.size();
  if (R == 0) throw Napi::RangeError::New(env, "decodeRowsStep: no rows");
  if (!info[2].IsTypedArray() || info[2].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array ||
      info[2].As<Napi::Int32Array>().ElementLength() != (size_t)R)
    throw Napi::TypeError::New(env, "decodeRowsStep: tokens must be an Int32Array of one token per row");
  auto tok = info[2].As<Napi::Int32Array>();
  std::vector<long> tokens(tok.Data(), tok.Data() + R);
  for (long r = 0; r < R; r++) {
    if (tokens[r] < 0 || tokens[r] >= m.V)
      throw Napi::RangeError::New(env, "decodeRowsStep: token " + std::to_string(tokens[r]) + " of row " +
                                           std::to_string(r) + " is outside the vocabulary [0, " + std::to_string(m.V) + ")");
    if (cs[r]->len >= m.P)
      throw Napi::RangeError::New(env, "decodeRowsStep: row " + std::to_string(r) + " already holds nPositions = " +
                                           std::to_string(m.P) + " positions");
  }
  float* logits = floats(env, info[3], "logits", R * m.V);
  try {
    gl::decode_rows_step(m, cs.data(), R, tokens.data(), logits);
  } catch (const std::exception& e) {
    throw Napi::Error::New(env, std::string("decodeRowsStep: ") + e.what());
  }
  return env.Undefined();
}

// decodeRowsLoad(caches[B], nHead, keys[L], values[L], width, lengths[B]): layer l's keys are tfjs's left-padded
// [B, H, width, D]; cache b becomes its row's last lengths[b] slots (its own positions), replacing what it held.
Napi::Value RowsLoad(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::vector<DecodeCache*> cs = caches(env, info[0]);
  const long B = (long)cs.size(), H = whole(env, info[1], "nHead"), W = whole(env, info[4], "width");
  if (B == 0) return env.Undefined();
  const long L = cs[0]->L, C = cs[0]->C;
  if (H < 1 || C % H != 0) throw Napi::RangeError::New(env, "decodeRowsLoad: nHead must divide the width of a row");
  if (!info[2].IsArray() || !info[3].IsArray() || info[2].As<Napi::Array>().Length() != (uint32_t)L ||
      info[3].As<Napi::Array>().Length() != (uint32_t)L || !info[5].IsArray() ||
      info[5].As<Napi::Array>().Length() != (uint32_t)B)
    throw Napi::TypeError::New(env, "decodeRowsLoad: keys and values need one Float32Array per layer, lengths one per row");
  std::vector<long> lens;
  for (long b = 0; b < B; b++) {
    const long n = whole(env, info[5].As<Napi::Array>().Get((uint32_t)b), "lengths[" + std::to_string(b) + "]");
    if (n > W) throw Napi::RangeError::New(env, "decodeRowsLoad: a row is longer than the width");
    if (cs[b]->L != L || cs[b]->C != C) throw Napi::Error::New(env, "decodeRowsLoad: caches of different shapes");
    lens.push_back(n);
  }
  const long D = C / H;
  for (long b = 0; b < B; b++) cs[b]->reserve(std::max(lens[b], 1L));
  for (long l = 0; l < L; l++) {
    const std::string at = "[" + std::to_string(l) + "]";
    const float* k = floats(env, info[2].As<Napi::Array>().Get((uint32_t)l), "keys" + at, B * H * W * D);
    const float* v = floats(env, info[3].As<Napi::Array>().Get((uint32_t)l), "values" + at, B * H * W * D);
    for (long b = 0; b < B; b++)
      for (long h = 0; h < H; h++)
        for (long t = 0; t < lens[b]; t++) {
          const long from = ((b * H + h) * W + W - lens[b] + t) * D, to = t * C + h * D;
          std::memcpy(cs[b]->k[l].data() + to, k + from, D * sizeof(float));
          std::memcpy(cs[b]->v[l].data() + to, v + from, D * sizeof(float));
        }
  }
  for (long b = 0; b < B; b++) cs[b]->len = lens[b];
  return env.Undefined();
}

// decodeRowsRead(caches[B], nHead, layer, width, keys, values): layer `layer` of every row as tfjs's left-padded
// [B, H, width, D] (each row's positions in its last len slots, zeros before).
Napi::Value RowsRead(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::vector<DecodeCache*> cs = caches(env, info[0]);
  const long B = (long)cs.size(), H = whole(env, info[1], "nHead"), l = whole(env, info[2], "layer"),
             W = whole(env, info[3], "width");
  if (B == 0) return env.Undefined();
  const long C = cs[0]->C;
  if (H < 1 || C % H != 0) throw Napi::RangeError::New(env, "decodeRowsRead: nHead must divide the width of a row");
  const long D = C / H;
  float* k = floats(env, info[4], "keys", B * H * W * D);
  float* v = floats(env, info[5], "values", B * H * W * D);
  std::memset(k, 0, B * H * W * D * sizeof(float));
  std::memset(v, 0, B * H * W * D * sizeof(float));
  for (long b = 0; b < B; b++) {
    const DecodeCache& c = *cs[b];
    if (c.C != C || l >= c.L || c.len > W) throw Napi::RangeError::New(env, "decodeRowsRead: layer or width out of range");
    for (long h = 0; h < H; h++)
      for (long t = 0; t < c.len; t++) {
        const long to = ((b * H + h) * W + W - c.len + t) * D, from = t * C + h * D;
        std::memcpy(k + to, c.k[l].data() + from, D * sizeof(float));
        std::memcpy(v + to, c.v[l].data() + from, D * sizeof(float));
      }
  }
  return env.Undefined();
}

// decodeRowsCopy(dst, src): dst holds a copy of src's positions afterwards
Napi::Value RowsCopy(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  DecodeCache& dst = unwrap<DecodeCache>(env, info[0], "dst");
  const DecodeCache& src = unwrap<DecodeCache>(env, info[1], "src");
  try {
    gl::decode_cache_copy(dst, src);
  } catch (const std::exception& e) {
    throw Napi::Error::New(env, std::string("decodeRowsCopy: ") + e.what());
  }
  return env.Undefined();
}

}  // namespace

void register_decode_rows(Napi::Env env, Napi::Object exports) {
  const std::pair<const char*, Napi::Value (*)(const Napi::CallbackInfo&)> fns[] = {
      {"decodeRowsCache", RowsCacheNew}, {"decodeRowsStep", RowsStep}, {"decodeRowsLoad", RowsLoad},
      {"decodeRowsRead", RowsRead},      {"decodeRowsCopy", RowsCopy},
  };
  for (const auto& [name, fn] : fns) exports.Set(name, Napi::Function::New(env, fn, name));
}
