#include "focus_quantize.hpp"

#include "cpu_features.hpp"
#include "image_quantize.hpp"
#include "ops/common.hpp"

namespace partq::engine {
namespace {

// Output byte g = 64t + b is channel c of slice k of pixel j: g = 12j + 3k + c. Slice k's vector holds
// channel c's pixel j at byte 16c + j; odd slices are the permutes' second source (index + 64).
struct FocusPermutes {
  alignas(64) int8_t order[3][64];
  __mmask64 upper[3] = {0, 0, 0};  // the bytes taken from slices 2/3
  FocusPermutes() {
    for (int t = 0; t < 3; ++t)
      for (int b = 0; b < 64; ++b) {
        const int g = 64 * t + b, j = g / 12, k = g % 12 / 3, c = g % 3;
        order[t][b] = static_cast<int8_t>((k % 2) * 64 + 16 * c + j);
        if (k >= 2) upper[t] |= __mmask64{1} << b;
      }
  }
};

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"  // see image_quantize.hpp
// One output row, 16 pixels at a time: per slice, its three channels' 16 levels in the lanes of one vector;
// then each 64-byte window of the 192 output bytes is two two-source byte permutes (slices 0/1 and 2/3) and
// a blend, stored whole. Returns the pixels done; the caller finishes the rest.
__attribute__((target("avx512f,avx512bw,avx512vbmi"))) int64_t focus_row_vbmi(const float* const rows[4],
                                                                              int64_t plane, int8_t* out,
                                                                              int64_t W, const S8Coding& q) {
  static const FocusPermutes perm;
  const auto& order = perm.order;
  const auto& upper = perm.upper;
  const S8Coding16 sc = lanes16(q);
  int64_t w = 0;
  for (; w + 16 <= W; w += 16) {
    __m512i v[4];
    for (int k = 0; k < 4; ++k) {
      const float* p = rows[k] + 2 * w;
      v[k] = _mm512_castsi128_si512(pixel_levels<2>(p, sc));
      v[k] = _mm512_inserti32x4(v[k], pixel_levels<2>(p + plane, sc), 1);
      v[k] = _mm512_inserti32x4(v[k], pixel_levels<2>(p + 2 * plane, sc), 2);
    }
    for (int t = 0; t < 3; ++t) {
      const __m512i idx = _mm512_load_si512(order[t]);
      const __m512i lo = _mm512_permutex2var_epi8(v[0], idx, v[1]),
                    hi = _mm512_permutex2var_epi8(v[2], idx, v[3]);
      _mm512_storeu_si512(out + 12 * w + 64 * t, _mm512_mask_blend_epi8(upper[t], lo, hi));
    }
  }
  return w;
}
#pragma GCC diagnostic pop

}  // namespace

bool can_quantize_focus() {
  return cpu_has_vbmi() || cpu_path_overrides().portable_kernels;
}

std::unique_ptr<Step> quantize_focus_step(const S8Coding& q, const std::array<int64_t, 4>& offsets,
                                          const Strides& strides) {
  const bool vbmi = cpu_has_vbmi();
  auto step = std::make_unique<KernelStep>([=](ExecContext& ctx, const KernelStep& s) {
    const Shape& shape = ctx.value(s.outputs[0]).shape;
    const int64_t H = shape[2], W = shape[3];
    const float* x = ctx.data<float>(s.inputs[0]);
    int8_t* y = ctx.data<int8_t>(s.outputs[0]);
    parallel_for(shape[0] * H, [=](int64_t nh) {
      const int64_t n = nh / H, h = nh % H;
      const float* rows[4];
      for (int k = 0; k < 4; ++k)
        rows[k] = x + offsets[k] + n * strides[0] + h * strides[2];
      int8_t* out = y + nh * W * 12;
      for (int64_t w = vbmi ? focus_row_vbmi(rows, strides[1], out, W, q) : 0; w < W; ++w)
        for (int k = 0; k < 4; ++k)
          for (int c = 0; c < 3; ++c)
            out[12 * w + 3 * k + c] = pixel_level(rows[k][c * strides[1] + 2 * w], q);
    });
  });
  step->impl = "partq:quantize_focus";
  return step;
}

}  // namespace partq::engine
