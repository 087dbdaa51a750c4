#include "batch_scan.hpp"

#include <bit>
#include <cmath>
#include <cstdint>

#include "partq/error.hpp"

namespace partq::calibration_detail {

BatchScan scan_batch(std::span<const float> values) {
  // With the sign bit cleared, IEEE floats order like unsigned integers, and every NaN / Inf compares above
  // the largest finite value (0x7f7fffff). An integer max reduction therefore gives max |x| and the
  // non-finite check in one loop that the compiler vectorises (a float max would not be, without
  // -ffast-math).
  uint32_t max_bits = 0;
  const float* data = values.data();
  const size_t n = values.size();
  for (size_t i = 0; i < n; ++i) {
    uint32_t bits = std::bit_cast<uint32_t>(data[i]) & 0x7fffffffu;
    max_bits = bits > max_bits ? bits : max_bits;
  }
  BatchScan scan;
  scan.all_finite = max_bits < 0x7f800000u;
  if (scan.all_finite) scan.abs_max = std::bit_cast<float>(max_bits);
  return scan;
}

void require_finite(const BatchScan& scan, std::span<const float> values, std::string_view tensor_name) {
  if (scan.all_finite) return;
  for (size_t i = 0; i < values.size(); ++i) {
    if (!std::isfinite(values[i])) {
      fail(
          "calibration of tensor '{}': the batch holds {} at flat index {} of {}; a calibrator accepts only "
          "finite values",
          tensor_name, std::isnan(values[i]) ? "NaN" : "Inf", i, values.size());
    }
  }
}

}  // namespace partq::calibration_detail
