// TensorRT calibration cache: "TRT-<version>-<calibrator>" then "<tensor>: <scale bits as hex>" per tensor.
#include <bit>
#include <cmath>
#include <cstdint>

#include <fmt/format.h>

#include "partq/error.hpp"
#include "partq/quant_calib_file.hpp"
#include "partq/util/atomic_file.hpp"

namespace partq {

std::string trt_scale_hex(float scale) {
  // TensorRT prints the float's bit pattern as one 32-bit number, most significant digit first.
  return fmt::format("{:08x}", std::bit_cast<uint32_t>(scale));
}

std::string trt_calibration_cache(const std::map<std::string, float>& amax, const TrtCacheOptions& options) {
  const char* calibrator =
      options.calibrator == TrtCalibrator::kEntropy2 ? "EntropyCalibration2" : "MinMaxCalibration";
  std::string out = fmt::format("TRT-{}-{}\n", options.trt_version, calibrator);
  for (const auto& [name, a] : amax) {
    if (!std::isfinite(a) || a <= 0)
      fail("TensorRT cache: tensor '{}' has amax {}, not a positive number", name, a);
    out += fmt::format("{}: {}\n", name, trt_scale_hex(a / 127.0f));
  }
  return out;
}

void write_trt_calibration_cache(const std::string& path, const std::map<std::string, float>& amax,
                                 const TrtCacheOptions& options) {
  write_file_atomic(path, trt_calibration_cache(amax, options));
}

}  // namespace partq
