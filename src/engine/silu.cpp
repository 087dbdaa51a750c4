#include "silu.hpp"

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <iterator>

#include "cpu_features.hpp"
#include "image_quantize.hpp"

namespace partq::engine {

namespace {

float silu(float x) {
  return x / (1.f + std::exp(-x));
}

#define PARTQ_AVX512 __attribute__((target("avx512f")))

// GCC 12's AVX-512 intrinsics fill their unused pass-through operand from _mm512_undefined_ps(), a
// self-initialised variable that -Wmaybe-uninitialized reports once they are inlined here.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

// 2^f for |f| <= 1/2: the degree-6 Taylor polynomial in f*ln2 (relative error below 2e-8, under float's own
// rounding), its coefficients highest first for Horner's rule.
constexpr float kLn2 = 0.69314718055994531f;
constexpr float kExp2Poly[] = {kLn2 * kLn2 * kLn2 * kLn2 * kLn2 * kLn2 / 720.f,
                               kLn2* kLn2* kLn2* kLn2* kLn2 / 120.f,
                               kLn2* kLn2* kLn2* kLn2 / 24.f,
                               kLn2* kLn2* kLn2 / 6.f,
                               kLn2* kLn2 / 2.f,
                               kLn2,
                               1.f};

// 2^t: t = n + f with n an integer and |f| <= 1/2; 2^f by kExp2Poly, scaled by 2^n with vscalefps.
PARTQ_AVX512 inline __m512 exp2_avx512(__m512 t) {
  const __m512 n = _mm512_roundscale_ps(t, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  const __m512 f = _mm512_sub_ps(t, n);
  __m512 p = _mm512_set1_ps(kExp2Poly[0]);
  for (size_t i = 1; i < std::size(kExp2Poly); ++i)
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(kExp2Poly[i]));
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

// The same computation on 8 lanes for CPUs with AVX2 and FMA but no AVX-512 (AVX-VNNI CPUs run s8 convs too).
#define PARTQ_AVX2 __attribute__((target("avx2,fma")))

// 2^t as exp2_avx512, with 2^n made in the exponent field: the caller keeps t within [-126, 126], where
// 2^n is a normal float and p * 2^n is exact, as vscalefps gives it.
PARTQ_AVX2 inline __m256 exp2_avx2(__m256 t) {
  const __m256 n = _mm256_round_ps(t, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  const __m256 f = _mm256_sub_ps(t, n);
  __m256 p = _mm256_set1_ps(kExp2Poly[0]);
  for (size_t i = 1; i < std::size(kExp2Poly); ++i)
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(kExp2Poly[i]));
  const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

// silu(x) * k as silu_avx512. Below -126 the exponent is raised to -126: 1 + 2^t is then 1 in float either
// way.
PARTQ_AVX2 inline __m256 silu_avx2(__m256 x, __m256 k) {
  const __m256 t = _mm256_max_ps(
      _mm256_min_ps(_mm256_mul_ps(x, _mm256_set1_ps(-1.44269504088896341f)), _mm256_set1_ps(126.f)),
      _mm256_set1_ps(-126.f));
  const __m256 d = _mm256_add_ps(exp2_avx2(t), _mm256_set1_ps(1.f));
  return _mm256_div_ps(_mm256_mul_ps(x, k), d);
}

// 8 results stored as f32, or as s8 codes (cvtps rounds half to even, the zero point is added, the packs
// saturate to [-128, 127]); the tail forms store the first `n` lanes.
PARTQ_AVX2 inline void store8(float* dst, __m256 y, __m256i) {
  _mm256_storeu_ps(dst, y);
}
PARTQ_AVX2 inline void store8(int8_t* dst, __m256 y, __m256i z) {
  const __m256i q = _mm256_add_epi32(_mm256_cvtps_epi32(y), z);
  const __m128i w = _mm_packs_epi32(_mm256_castsi256_si128(q), _mm256_extracti128_si256(q, 1));
  _mm_storel_epi64(reinterpret_cast<__m128i*>(dst), _mm_packs_epi16(w, w));
}
template <typename Out>
PARTQ_AVX2 inline void store8_tail(Out* dst, __m256 y, __m256i z, int64_t n) {
  alignas(32) Out lanes[8];
  store8(lanes, y, z);
  std::memcpy(dst, lanes, static_cast<size_t>(n) * sizeof(Out));
}

template <typename Out>
PARTQ_AVX2 void silu_rows_avx2(const float* in, Out* out, int64_t pixels, int64_t channels,
                               int64_t out_stride, float k, int zero_point) {
  const __m256 kv = _mm256_set1_ps(k);
  const __m256i zv = _mm256_set1_epi32(zero_point);
  const int64_t vec = channels / 8 * 8, tail = channels - vec;
  const __m256i tail_mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(tail)),
                                               _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  for (int64_t p = 0; p < pixels; ++p) {
    const float* src = in + p * channels;
    Out* dst = out + p * out_stride;
    for (int64_t c = 0; c < vec; c += 8)
      store8(dst + c, silu_avx2(_mm256_loadu_ps(src + c), kv), zv);
    if (tail) store8_tail(dst + vec, silu_avx2(_mm256_maskload_ps(src + vec, tail_mask), kv), zv, tail);
  }
}

// Which code runs: AVX-512, else AVX2, else scalar (or what a test asks for, cpu_path_overrides).
enum class SiluCode { kAvx512, kAvx2, kScalar };
SiluCode silu_code() {
  const CpuPathOverrides& o = cpu_path_overrides();
  if (o.scalar_kernels) return SiluCode::kScalar;
  if (cpu_has_avx512f() && !o.avx2_kernels) return SiluCode::kAvx512;
  if (cpu_has_avx2_fma()) return SiluCode::kAvx2;
  return SiluCode::kScalar;
}

}  // namespace

bool fast_silu_kernels() {
  return silu_code() != SiluCode::kScalar;
}

void silu_to_s8(const float* in, int8_t* out, int64_t pixels, int64_t channels, int64_t out_stride,
                float scale, int zero_point) {
  switch (silu_code()) {
    case SiluCode::kAvx512:
      return silu_rows_avx512(in, out, pixels, channels, out_stride, 1.f / scale, zero_point);
    case SiluCode::kAvx2:
      return silu_rows_avx2(in, out, pixels, channels, out_stride, 1.f / scale, zero_point);
    case SiluCode::kScalar:
      break;
  }
  const S8Coding coding{.inv_scale = 1.f / scale, .zero_point = zero_point};  // as the vector code: y * (1/s)
  for (int64_t p = 0; p < pixels; ++p)
    for (int64_t c = 0; c < channels; ++c)
      out[p * out_stride + c] = pixel_level(silu(in[p * channels + c]), coding);
}

void silu_to_f32(const float* in, float* out, int64_t pixels, int64_t channels, int64_t out_stride) {
  switch (silu_code()) {
    case SiluCode::kAvx512:
      return silu_rows_avx512(in, out, pixels, channels, out_stride, 1.f, 0);
    case SiluCode::kAvx2:
      return silu_rows_avx2(in, out, pixels, channels, out_stride, 1.f, 0);
    case SiluCode::kScalar:
      break;
  }
  for (int64_t p = 0; p < pixels; ++p)
    for (int64_t c = 0; c < channels; ++c)
      out[p * out_stride + c] = silu(in[p * channels + c]);
}

}  // namespace partq::engine
