// Per-channel symmetric int8 weight quantization (quant_params.hpp convention).
#include <algorithm>
#include <cmath>

#include "partq/error.hpp"
#include "partq/quant_weights.hpp"

namespace partq {
namespace {

// Splits a shape around `axis`: outer * channels * inner == numel.
struct ChannelLayout {
  int64_t outer = 1, channels = 1, inner = 1;
};

ChannelLayout layout(const Shape& shape, int64_t axis) {
  if (axis < 0 || axis >= static_cast<int64_t>(shape.size()))
    fail("per-channel quantization axis {} is out of range for a weight of shape {}", axis, shape_str(shape));
  ChannelLayout l;
  for (int64_t i = 0; i < static_cast<int64_t>(shape.size()); ++i) {
    if (i < axis) l.outer *= shape[i];
    if (i == axis) l.channels = shape[i];
    if (i > axis) l.inner *= shape[i];
  }
  return l;
}

void require_float32(const Tensor& t, const char* what) {
  if (t.dtype != DType::kFloat32) fail("{}: expected a float32 tensor, got {}", what, dtype_name(t.dtype));
}

}  // namespace

int8_t quantize_int8(float x, float scale) {
  const float q = std::nearbyint(x / scale);  // round half to even in the default rounding mode
  return static_cast<int8_t>(std::clamp(q, -128.0f, 127.0f));
}

std::vector<float> weight_channel_amax(const Tensor& weight, int64_t axis) {
  require_float32(weight, "weight quantization");
  const ChannelLayout l = layout(weight.shape, axis);
  const auto w = weight.as<float>();
  std::vector<float> amax(static_cast<size_t>(l.channels), 0.0f);
  for (int64_t o = 0; o < l.outer; ++o)
    for (int64_t c = 0; c < l.channels; ++c)
      for (int64_t i = 0; i < l.inner; ++i)
        amax[c] = std::max(amax[c], std::fabs(w[(o * l.channels + c) * l.inner + i]));
  return amax;
}

QuantParams weight_quant_params(const Tensor& weight, int64_t axis, int max_code) {
  if (max_code < 1 || max_code > 127) fail("weight quantization: max code {} is not in 1..127", max_code);
  QuantParams p{weight_channel_amax(weight, axis), {}, axis};
  for (float& s : p.scales)  // amax -> scale; an all-zero channel gets scale 1 (it stays 0), never scale 0
    s = s == 0.0f ? 1.0f : s / static_cast<float>(max_code);
  return p;
}

Tensor quantize_weight(const Tensor& weight, const QuantParams& params) {
  require_float32(weight, "weight quantization");
  const ChannelLayout l = layout(weight.shape, params.per_channel() ? params.axis : 0);
  const int64_t channels = params.per_channel() ? l.channels : 1;
  if (static_cast<int64_t>(params.scales.size()) != channels)
    fail("weight quantization: {} scales for {} channels", params.scales.size(), channels);
  Tensor q(DType::kInt8, weight.shape);
  const auto w = weight.as<float>();
  auto out = q.as<int8_t>();
  for (int64_t o = 0; o < l.outer; ++o)
    for (int64_t c = 0; c < l.channels; ++c) {
      const float scale = params.scales[params.per_channel() ? c : 0];
      for (int64_t i = 0; i < l.inner; ++i) {
        const int64_t k = (o * l.channels + c) * l.inner + i;
        out[k] = quantize_int8(w[k], scale);
      }
    }
  return q;
}

Tensor dequantize_weight(const Tensor& q, const QuantParams& params) {
  if (q.dtype != DType::kInt8 && q.dtype != DType::kInt32 && q.dtype != DType::kUInt8)
    fail("dequantization: expected an int8 / int32 tensor, got {}", dtype_name(q.dtype));
  const ChannelLayout l =
      layout(q.shape.empty() ? Shape{1} : q.shape, params.per_channel() ? params.axis : 0);
  const std::vector<int64_t> values = q.to_int64();
  const int64_t channels = params.per_channel() ? l.channels : 1;
  if (static_cast<int64_t>(params.scales.size()) != channels)
    fail("dequantization: {} scales for {} channels", params.scales.size(), channels);
  std::vector<float> out(values.size());
  for (int64_t o = 0; o < l.outer; ++o)
    for (int64_t c = 0; c < l.channels; ++c) {
      const float scale = params.scales[params.per_channel() ? c : 0];
      const int64_t zp = params.zero_points.empty() ? 0 : params.zero_points[params.per_channel() ? c : 0];
      for (int64_t i = 0; i < l.inner; ++i) {
        const int64_t k = (o * l.channels + c) * l.inner + i;
        out[k] = static_cast<float>(values[k] - zp) * scale;
      }
    }
  return Tensor::from_float(q.shape, out);
}

}  // namespace partq
