// What a JS handle of the native decode step points to (decode_napi.cc makes models and caches, decode_rows_napi.cc
// makes caches and reads both): a tag checked when the handle comes back from JS, then the object — or nothing once
// decodeFree released it early (the handle itself lives until the garbage collector finalises it).
#pragma once
#include <cstdint>
#include <memory>

namespace gl {

template <typename T>
struct DecodeHandle {
  uint32_t tag = T::kTag;
  std::unique_ptr<T> obj;
};

}  // namespace gl
