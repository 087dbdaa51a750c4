// Pieces of image quantization shared by the image quantizer (quantize.cpp) and the fused Focus quantizer
// (focus_quantize.cpp): f32 pixels to s8 codes, 16 at a time (AVX-512) or one by one, with the arithmetic of
// QuantizeLinear (scale, round half to even, add the zero point, saturate). SiLU's scalar code (silu.cpp)
// writes its codes with pixel_level too.
#pragma once

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace partq::engine {

// How f32 values become s8 codes: clamp(round_half_even(x * inv_scale) + zero_point, -128, 127). Computed as
// round(clamp(x * inv_scale, lo, hi)) + zero_point with the integer bounds lo = -128 - zero_point and
// hi = 127 - zero_point, the same codes; clamping first also keeps inf and huge values on their side, where
// cvtps2dq alone would give INT_MIN.
struct S8Coding {
  float inv_scale = 1.f;
  int zero_point = 0;  // of the s8 codes (an asymmetric uint8 tensor's zero point - 128)
  float lo() const { return -128.f - static_cast<float>(zero_point); }
  float hi() const { return 127.f - static_cast<float>(zero_point); }
};

// One value.
inline int8_t pixel_level(float x, const S8Coding& q) {
  return static_cast<int8_t>(std::nearbyint(std::clamp(x * q.inv_scale, q.lo(), q.hi())) + q.zero_point);
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

// An S8Coding in 16 lanes.
struct S8Coding16 {
  __m512 inv_scale, lo, hi;
  __m512i zero_point;
};
__attribute__((target("avx512f"))) inline S8Coding16 lanes16(const S8Coding& q) {
  return {_mm512_set1_ps(q.inv_scale), _mm512_set1_ps(q.lo()), _mm512_set1_ps(q.hi()),
          _mm512_set1_epi32(q.zero_point)};
}

// 16 values as s8 codes (cvtps2dq rounds half to even in the default mode).
__attribute__((target("avx512f"))) inline __m128i s8_codes(__m512 x, const S8Coding16& q) {
  const __m512 v = _mm512_min_ps(_mm512_max_ps(_mm512_mul_ps(x, q.inv_scale), q.lo), q.hi);
  return _mm512_cvtsepi32_epi8(_mm512_add_epi32(_mm512_cvtps_epi32(v), q.zero_point));
}

// Those 16 pixels as s8 codes.
template <int kStride>
__attribute__((target("avx512f"))) inline __m128i pixel_levels(const float* p, const S8Coding16& q) {
  return s8_codes(load_pixels<kStride>(p), q);
}

#pragma GCC diagnostic pop

}  // namespace partq::engine
