#include "silu.hpp"

#include <immintrin.h>

#include <algorithm>
#include <cmath>

#include "cpu_features.hpp"

namespace partq::engine {

namespace {

float silu(float x) {
  return x / (1.f + std::exp(-x));
}

int8_t to_code(float y, int zero_point) {
  return static_cast<int8_t>(std::clamp(std::nearbyint(y) + static_cast<float>(zero_point), -128.f, 127.f));
}

#define PARTQ_AVX512 __attribute__((target("avx512f")))

// GCC 12's AVX-512 intrinsics fill their unused pass-through operand from _mm512_undefined_ps(), a
// self-initialised variable that -Wmaybe-uninitialized reports once they are inlined here.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

// 2^t: t = n + f with n an integer and |f| <= 1/2; 2^f from its degree-6 Taylor polynomial in f*ln2
// (relative error below 2e-8, under float's own rounding), scaled by 2^n with vscalefps.
PARTQ_AVX512 inline __m512 exp2_avx512(__m512 t) {
  const __m512 n = _mm512_roundscale_ps(t, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  const __m512 f = _mm512_sub_ps(t, n);
  constexpr float l = 0.69314718055994531f;
  __m512 p = _mm512_set1_ps(l * l * l * l * l * l / 720.f);
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(l * l * l * l * l / 120.f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(l * l * l * l / 24.f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(l * l * l / 6.f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(l * l / 2.f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(l));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.f));
  return _mm512_scalef_ps(p, n);
}

// silu(x) * k = x * k / (1 + 2^(-x log2 e)); the exponent is capped so the denominator stays finite (the
// result is then ~0, as it should be).
PARTQ_AVX512 inline __m512 silu_avx512(__m512 x, __m512 k) {
  const __m512 t =
      _mm512_min_ps(_mm512_mul_ps(x, _mm512_set1_ps(-1.44269504088896341f)), _mm512_set1_ps(126.f));
  const __m512 d = _mm512_add_ps(exp2_avx512(t), _mm512_set1_ps(1.f));
  return _mm512_div_ps(_mm512_mul_ps(x, k), d);
}

// 16 results stored as f32, or as s8 codes: cvtps rounds half to even (the default MXCSR mode), the zero
// point `z` is added to the rounded level and cvtsepi32 saturates to [-128, 127]. The masked forms store
// only the lanes of `mask`.
PARTQ_AVX512 inline void store16(float* dst, __m512 y, __m512i) {
  _mm512_storeu_ps(dst, y);
}
PARTQ_AVX512 inline void store16(float* dst, __m512 y, __m512i, __mmask16 mask) {
  _mm512_mask_storeu_ps(dst, mask, y);
}
PARTQ_AVX512 inline void store16(int8_t* dst, __m512 y, __m512i z) {
  _mm_storeu_si128(reinterpret_cast<__m128i*>(dst),
                   _mm512_cvtsepi32_epi8(_mm512_add_epi32(_mm512_cvtps_epi32(y), z)));
}
PARTQ_AVX512 inline void store16(int8_t* dst, __m512 y, __m512i z, __mmask16 mask) {
  _mm512_mask_cvtsepi32_storeu_epi8(dst, mask, _mm512_add_epi32(_mm512_cvtps_epi32(y), z));
}

// out[p * out_stride + c] = silu(in[p * channels + c]) * k, stored as Out (s8: plus the zero point).
template <typename Out>
PARTQ_AVX512 void silu_rows_avx512(const float* in, Out* out, int64_t pixels, int64_t channels,
                                   int64_t out_stride, float k, int zero_point) {
  const __m512 kv = _mm512_set1_ps(k);
  const __m512i zv = _mm512_set1_epi32(zero_point);
  const int64_t vec = channels / 16 * 16;
  const __mmask16 tail = static_cast<__mmask16>((1u << (channels - vec)) - 1);
  for (int64_t p = 0; p < pixels; ++p) {
    const float* src = in + p * channels;
    Out* dst = out + p * out_stride;
    for (int64_t c = 0; c < vec; c += 16)
      store16(dst + c, silu_avx512(_mm512_loadu_ps(src + c), kv), zv);
    if (tail) store16(dst + vec, silu_avx512(_mm512_maskz_loadu_ps(tail, src + vec), kv), zv, tail);
  }
}

#pragma GCC diagnostic pop

}  // namespace

bool fast_silu_kernels() {
  return cpu_has_avx512f();
}

void silu_to_s8(const float* in, int8_t* out, int64_t pixels, int64_t channels, int64_t out_stride,
                float scale, int zero_point) {
  if (fast_silu_kernels())
    return silu_rows_avx512(in, out, pixels, channels, out_stride, 1.f / scale, zero_point);
  for (int64_t p = 0; p < pixels; ++p)
    for (int64_t c = 0; c < channels; ++c)
      out[p * out_stride + c] = to_code(silu(in[p * channels + c]) / scale, zero_point);
}

void silu_to_f32(const float* in, float* out, int64_t pixels, int64_t channels, int64_t out_stride) {
  if (fast_silu_kernels()) return silu_rows_avx512(in, out, pixels, channels, out_stride, 1.f, 0);
  for (int64_t p = 0; p < pixels; ++p)
    for (int64_t c = 0; c < channels; ++c)
      out[p * out_stride + c] = silu(in[p * channels + c]);
}

}  // namespace partq::engine
