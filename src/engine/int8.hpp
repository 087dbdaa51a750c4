// The quantization arithmetic the engine shares between its fake-quant simulation and its s8 kernels
// (partq/quant_params.hpp convention: symmetric, zero point 0, scale = amax / 127, round half to even).
#pragma once

#include <partq/ir.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

namespace partq::engine {

// q = clamp(round_half_even(x / scale), -128, 127). std::nearbyint rounds half to even in the default mode.
inline float quantize_to_level(float x, float scale) {
  return std::clamp(std::nearbyint(x / scale), -128.f, 127.f);
}
inline float fake_quant(float x, float scale) {
  return quantize_to_level(x, scale) * scale;
}

// Per-channel weight scales along `axis` (amax = max|w| of the channel; a channel of zeros gets scale 1,
// which quantizes it to zeros like any other scale would).
std::vector<float> per_channel_weight_scales(const Tensor& w, int64_t axis);
// `w` quantized -> dequantized per channel along `axis`.
Tensor fake_quant_weight_tensor(const Tensor& w, int64_t axis, const std::vector<float>& scales);
// `w` quantized per channel along `axis`, as s8 levels in the same (row-major) order.
std::vector<int8_t> quantize_weight_tensor(const Tensor& w, int64_t axis, const std::vector<float>& scales);

}  // namespace partq::engine
