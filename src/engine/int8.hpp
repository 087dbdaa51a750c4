// The quantization arithmetic the engine shares between its fake-quant simulation and its s8 kernels
// (partq/quant_params.hpp convention: symmetric, zero point 0, scale = amax / 127, round half to even).
#pragma once

#include <partq/ir.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

namespace partq::engine {

// q = clamp(round_half_even(x / scale) + zero_point, -128, 127). std::nearbyint rounds half to even in the
// default mode. `zero_point` is on the s8 code scale: 0 for symmetric int8, the uint8 zero point - 128 for an
// asymmetric activation (whose uint8 levels the engine keeps as s8 codes q - 128).
inline float quantize_to_level(float x, float scale, int zero_point = 0) {
  return std::clamp(std::nearbyint(x / scale) + static_cast<float>(zero_point), -128.f, 127.f);
}
inline float fake_quant(float x, float scale, int zero_point = 0) {
  return (quantize_to_level(x, scale, zero_point) - static_cast<float>(zero_point)) * scale;
}
// The s8 code zero point of a uint8 zero point.
inline int s8_zero_point(int uint8_zero_point) {
  return uint8_zero_point - 128;
}

// Per-channel weight scales along `axis` (amax = max|w| of the channel; a channel of zeros gets scale 1,
// which quantizes it to zeros like any other scale would).
// `max_code` is the code the largest |w| maps to (127; 63 for reduced-range weights).
std::vector<float> per_channel_weight_scales(const Tensor& w, int64_t axis, int max_code = 127);
// `w` quantized -> dequantized per channel along `axis`.
Tensor fake_quant_weight_tensor(const Tensor& w, int64_t axis, const std::vector<float>& scales);
// `w` quantized per channel along `axis`, as s8 levels in the same (row-major) order.
std::vector<int8_t> quantize_weight_tensor(const Tensor& w, int64_t axis, const std::vector<float>& scales);
// The largest |code| of `w` quantized with `scales` along `axis`.
int max_weight_code(const Tensor& w, int64_t axis, const std::vector<float>& scales);

// Without VNNI, oneDNN's s8 convolutions halve the int8 weights (cpu_features.hpp). Codes within +-63 are
// passed doubled at half the scale, so the halving gives them back exactly; on a VNNI CPU the doubled codes
// compute the same numbers (the factor 2 is exact in the int32 sums and in the scales).
constexpr int kHalvingExactCode = 63;

}  // namespace partq::engine
