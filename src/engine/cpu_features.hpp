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

// AVX2 with FMA: the vector code partq's SiLU falls back to without AVX-512.
inline bool cpu_has_avx2_fma() {
  static const bool has = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return has;
}

// VBMI's byte permutes (vpermb, vpermt2b); every VBMI CPU also has BW.
inline bool cpu_has_vbmi() {
  static const bool has = __builtin_cpu_supports("avx512vbmi") && __builtin_cpu_supports("avx512bw");
  return has;
}

// VNNI (AVX512-VNNI or AVX-VNNI): 8-bit dot products into 32 bits. Without it, oneDNN's s8 convolutions use
// 16-bit pair sums that can overflow, and avoid that by halving the int8 weights (rounding each one) -- not
// the arithmetic of the Q/DQ graph (measured on an AVX2 EPYC: 11% of a requantized conv output one level off,
// and a conv of the quantized image 0.5 off at -64).
inline bool cpu_has_vnni() {
  static const bool has = __builtin_cpu_supports("avx512vnni") || __builtin_cpu_supports("avxvnni");
  return has;
}

// For tests only; partq never sets these. They take the code paths of a VNNI / AVX-512 CPU on one without,
// so that the structure of those paths is tested everywhere. `s8_convolutions`: s8 convolutions despite their
// halved weights (they then agree with the same s8 kernels run another way, not with the Q/DQ graph).
// `portable_kernels`: partq's own kernels that are used only where the CPU has their vector code (banded
// Conv+SiLU: AVX-512 or AVX2; the fused Focus quantizer, the element-wise quantizer: AVX-512) run on their
// portable code.
// `onednn_source_zero_points`: s8 convs pass an asymmetric input's zero point to oneDNN instead of folding it
// (ops/source_zero_point.hpp), the other way to compute the same conv. `avx2_kernels` / `scalar_kernels`:
// partq's SiLU takes its AVX2 code on an AVX-512 CPU / its scalar code on any CPU. Set before Engine::create.
struct CpuPathOverrides {
  bool s8_convolutions = false;
  bool portable_kernels = false;
  bool onednn_source_zero_points = false;
  bool avx2_kernels = false;
  bool scalar_kernels = false;
};
inline CpuPathOverrides& cpu_path_overrides() {
  static CpuPathOverrides overrides;
  return overrides;
}

}  // namespace partq::engine
