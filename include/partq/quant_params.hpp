// The one quantization convention partq uses everywhere (observers, engine, Q/DQ writer and reader, report):
// real = scale * (q - zero_point), symmetric signed INT8 (zero point 0), scale = amax / 127,
// q = clamp(round_half_even(real / scale), -128, 127) — TensorRT explicit quantization and NVIDIA
// pytorch-quantization semantics.
#pragma once

#include <cstdint>
#include <vector>

namespace partq {

struct QuantParams {
  std::vector<float> scales;           // one per tensor, or one per channel along `axis`
  std::vector<int64_t> zero_points{};  // empty = all 0 (partq only produces 0)
  int64_t axis = -1;                   // -1 = per tensor; else the channel axis (0 for Conv weights)

  bool per_channel() const { return axis >= 0; }
  static QuantParams per_tensor_from_amax(float amax) { return {{amax / 127.0f}}; }
  static QuantParams per_channel_from_amax(const std::vector<float>& amax, int64_t axis) {
    QuantParams p{{}, {}, axis};
    for (float a : amax)
      p.scales.push_back(a / 127.0f);
    return p;
  }
};

}  // namespace partq
