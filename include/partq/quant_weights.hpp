// Weight and value quantization with partq's one convention (quant_params.hpp): symmetric int8, zero point 0,
// scale = amax / 127, q = clamp(round_half_even(x / scale), -128, 127).
#pragma once

#include <cstdint>
#include <vector>

#include "partq/ir.hpp"
#include "partq/quant_params.hpp"

namespace partq {

// One value; round-half-even assumes the default floating-point rounding mode (FE_TONEAREST).
int8_t quantize_int8(float x, float scale);

// Per-channel amax (max |w| over everything but `axis`) of a float32 weight. Error if `axis` is out of range
// or the tensor is not float32.
std::vector<float> weight_channel_amax(const Tensor& weight, int64_t axis);

// Per-channel parameters of a weight: scale = amax / max_code per channel (127; 63 for reduced-range
// weights, whose codes then stay within +-63); an all-zero channel (amax 0) gets scale 1 instead of 0 so that
// no scale is ever 0 (its values quantize to 0 either way).
QuantParams weight_quant_params(const Tensor& weight, int64_t axis, int max_code = 127);

// The int8 tensor (same shape) of a float32 weight quantized with per-channel `params`.
Tensor quantize_weight(const Tensor& weight, const QuantParams& params);

// q * scale per channel: the float weight an int8 one stands for.
Tensor dequantize_weight(const Tensor& q, const QuantParams& params);

}  // namespace partq
