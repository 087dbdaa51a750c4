#include <utility>

#include "partq/calibration.hpp"

namespace partq {

Calibrator::Calibrator(CalibratorOptions options) : options_(std::move(options)) {}

std::unique_ptr<Calibrator> make_calibrator(CalibratorOptions options) {
  if (options.method == CalibrationMethod::kMax) return std::make_unique<MaxCalibrator>(std::move(options));
  return std::make_unique<HistogramCalibrator>(std::move(options));
}

std::unique_ptr<Calibrator> make_calibrator(std::string_view method, CalibratorOptions options) {
  options.method = parse_calibration_method(method);
  return make_calibrator(std::move(options));
}

}  // namespace partq
