#include <algorithm>
#include <utility>

#include <fmt/format.h>

#include "batch_scan.hpp"
#include "partq/calibration.hpp"

namespace partq {

MaxCalibrator::MaxCalibrator(CalibratorOptions options) : Calibrator(std::move(options)) {
  options_.method = CalibrationMethod::kMax;
}

void MaxCalibrator::collect(std::span<const float> values) {
  const auto scan = calibration_detail::scan_batch(values, options_.threads);
  calibration_detail::require_finite(scan, values, options_.tensor_name);
  amax_ = std::max(amax_, scan.abs_max);
  num_values_ += values.size();
}

CalibrationResult MaxCalibrator::compute_amax() const {
  if (num_values_ == 0) {
    return {0.0f, CalibrationIssue::kNoData,
            fmt::format("tensor '{}': the max calibrator saw no data", options_.tensor_name)};
  }
  if (amax_ == 0.0f) {
    return {0.0f, CalibrationIssue::kAllZeros,
            fmt::format("tensor '{}': all {} values seen by the max calibrator are 0", options_.tensor_name,
                        num_values_)};
  }
  return {amax_, CalibrationIssue::kNone, {}};
}

void MaxCalibrator::reset() {
  amax_ = 0.0f;
  num_values_ = 0;
}

}  // namespace partq
