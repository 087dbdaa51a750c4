// Pieces of image quantization shared by the image quantizer (quantize.cpp) and the fused Focus quantizer
// (focus_quantize.cpp): f32 pixels to s8 levels, 16 at a time (AVX-512) or one by one, with the arithmetic of
// oneDNN's reorder (scale, round half to even, saturate).
#pragma once

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace partq::engine {

// One value: clamping before rounding keeps inf and huge values on their side.
inline int8_t pixel_level(float x, float inv_scale) {
  return static_cast<int8_t>(std::nearbyint(std::clamp(x * inv_scale, -128.f, 127.f)));
}

#pragma GCC diagnostic push
// GCC 12's AVX-512 intrinsics fill unused pass-through operands from a self-initialised variable that
// -Wmaybe-uninitialized reports once they are inlined.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
// 16 consecutive pixels of one image row whose pixels lie kStride floats apart (2: a Slice with step 2 over
// the columns, yolox's Focus). For kStride 2 the last float of the second load is never used, and is masked
// off: past the row's end it may lie past the buffer.
template <int kStride>
__attribute__((target("avx512f"))) inline __m512 load_pixels(const float* p) {
  if constexpr (kStride == 1) {
    return _mm512_loadu_ps(p);
  } else {
    static_assert(kStride == 2);
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    return _mm512_permutex2var_ps(_mm512_loadu_ps(p), even, _mm512_maskz_loadu_ps(0x7fff, p + 16));
  }
}

// Those 16 pixels scaled, rounded half to even and saturated to s8.
template <int kStride>
__attribute__((target("avx512f"))) inline __m128i pixel_levels(const float* p, __m512 inv_scale) {
  return _mm512_cvtsepi32_epi8(_mm512_cvtps_epi32(_mm512_mul_ps(load_pixels<kStride>(p), inv_scale)));
}

#pragma GCC diagnostic pop

}  // namespace partq::engine
