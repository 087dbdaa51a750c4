// One fast pass over a batch: max |x| and whether any value is NaN / Inf.
#pragma once

#include <cstddef>
#include <span>
#include <string_view>

namespace partq::calibration_detail {

struct BatchScan {
  float abs_max = 0.0f;  // valid only when all_finite
  bool all_finite = true;
};

BatchScan scan_batch(std::span<const float> values);

// Throws partq::Error naming the tensor and the first non-finite value's index when the batch is not finite.
void require_finite(const BatchScan& scan, std::span<const float> values, std::string_view tensor_name);

}  // namespace partq::calibration_detail
