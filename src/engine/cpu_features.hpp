// The AVX-512 extensions partq's own kernels need, asked once per process. Each kernel checks the set it was
// compiled for (its target attribute) and falls back to portable code without it.
#pragma once

namespace partq::engine {

inline bool cpu_has_avx512f() {
  static const bool has = __builtin_cpu_supports("avx512f");
  return has;
}

inline bool cpu_has_avx512bw_vl() {
  static const bool has = __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl");
  return has;
}

// VBMI's byte permutes (vpermb, vpermt2b); every VBMI CPU also has BW.
inline bool cpu_has_vbmi() {
  static const bool has = __builtin_cpu_supports("avx512vbmi") && __builtin_cpu_supports("avx512bw");
  return has;
}

}  // namespace partq::engine
