// The float primitives the decode step's per-ISA weight kernels (decode_bf16.inc, decode_q8.inc) are written in:
// V, VL, vzero, vset1, vload, vstore, vfma, for plain floats (VL 1) or an intrinsics prefix P (_mm256, _mm512).
// Each kernel file adds its own widening load (vload_bf16, vload_i8) and includes its .inc per ISA namespace.
#pragma once

#define GL_DECODE_SCALAR_OPS                                   \
  typedef float V;                                             \
  static constexpr int VL = 1;                                 \
  static inline V vzero() { return 0.f; }                      \
  static inline V vset1(float x) { return x; }                 \
  static inline V vload(const float* p) { return *p; }         \
  static inline void vstore(float* p, V v) { *p = v; }         \
  static inline V vfma(V a, V b, V c) { return a * b + c; }

#define GL_DECODE_VECTOR_OPS(VT, lanes, P)                               \
  typedef VT V;                                                         \
  static constexpr int VL = lanes;                                      \
  static inline V vzero() { return P##_setzero_ps(); }                  \
  static inline V vset1(float x) { return P##_set1_ps(x); }             \
  static inline V vload(const float* p) { return P##_loadu_ps(p); }     \
  static inline void vstore(float* p, V v) { P##_storeu_ps(p, v); }     \
  static inline V vfma(V a, V b, V c) { return P##_fmadd_ps(a, b, c); }
