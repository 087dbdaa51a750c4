// The one quantization convention partq uses everywhere (observers, engine, Q/DQ writer and reader, report):
// real = scale * (q - zero_point), symmetric signed INT8 (zero point 0), scale = amax / 127,
// q = clamp(round_half_even(real / scale), -128, 127) — TensorRT explicit quantization and NVIDIA
// pytorch-quantization semantics.
//
// Opt-in asymmetric activations (ONNX Runtime and OpenVINO run them; TensorRT takes only zero point 0):
// uint8 levels 0..255 over [lo, hi], lo < 0 < hi, scale = (hi - lo) / 255, zero_point = round(-lo / scale)
// so that 0 stays exact, q = clamp(round_half_even(real / scale) + zero_point, 0, 255).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

namespace partq {

struct QuantParams {
  std::vector<float> scales;           // one per tensor, or one per channel along `axis`
  std::vector<int64_t> zero_points{};  // empty = symmetric int8 (zero point 0); else uint8 zero points
  int64_t axis = -1;                   // -1 = per tensor; else the channel axis (0 for Conv weights)

  bool per_channel() const { return axis >= 0; }
  bool asymmetric() const { return !zero_points.empty(); }
  static QuantParams per_tensor_from_amax(float amax) { return {{amax / 127.0f}}; }
  static QuantParams per_channel_from_amax(const std::vector<float>& amax, int64_t axis) {
    QuantParams p{{}, {}, axis};
    for (float a : amax)
      p.scales.push_back(a / 127.0f);
    return p;
  }
  // uint8 over [lo, hi] (lo <= 0 < hi); lo == 0 gives zero point 0 and all 256 levels to [0, hi].
  static QuantParams asymmetric_from_range(float lo, float hi) {
    const float scale = (hi - lo) / 255.0f;
    const auto zp = static_cast<int64_t>(std::clamp(std::nearbyint(-lo / scale), 0.f, 255.f));
    return {{scale}, {zp}};
  }
};

}  // namespace partq
