// pytorch-quantization _compute_amax_mse for 8-bit signed narrow-range quantizers: the candidates are the bin
// centres c_i = (edges[i] + edges[i+1]) / 2 for i = start_bin, start_bin + stride, ... < num_bins; each
// candidate's error is sum_k counts[k] * (fakequant(c_k, c_i) - c_k)^2 (pytorch takes the mean over bins,
// the same argmin), where fakequant(x, amax) = clamp(rint(x * s), -127, 127) / s with s = 127 / amax in
// float32 (its CUDA kernel). The FIRST minimum wins (np.argmin).
#include <cmath>
#include <limits>
#include <vector>

#include <fmt/format.h>

#include "partq/calibration.hpp"
#include "partq/error.hpp"

namespace partq {

namespace {

constexpr float kMaxBound = 127.0f;
constexpr float kMinAmax = 1.0f / (1 << 24);  // pytorch-quantization quantizes to 0 below this amax

}  // namespace

CalibrationResult amax_mse(const Histogram& hist, int64_t start_bin, int64_t stride,
                           std::string_view tensor_name) {
  if (start_bin < 0 || stride < 1) {
    fail("mse calibration of tensor '{}': need start_bin >= 0 and stride >= 1 (got {} and {})", tensor_name,
         start_bin, stride);
  }
  const int64_t n = hist.num_bins();
  if (n == 0 || hist.total() == 0) {
    return {0.0f, CalibrationIssue::kNoData,
            fmt::format("tensor '{}': mse calibration of an empty histogram", tensor_name)};
  }
  if (n <= start_bin) {
    return {0.0f, CalibrationIssue::kTooFewBins,
            fmt::format("tensor '{}': the histogram has {} bins, not more than start_bin {}", tensor_name, n,
                        start_bin)};
  }
  // Empty bins add nothing to any candidate's error, so only the non-empty ones are visited.
  std::vector<float> centers(n);
  std::vector<float> filled_centers;
  std::vector<double> filled_counts;
  for (int64_t k = 0; k < n; ++k) {
    centers[k] = (hist.edge(k + 1) + hist.edge(k)) / 2.0f;
    if (hist.counts[k] == 0) continue;
    filled_centers.push_back(centers[k]);
    filled_counts.push_back(static_cast<double>(hist.counts[k]));
  }

  double best_error = std::numeric_limits<double>::infinity();
  float best_amax = 0.0f;
  for (int64_t i = start_bin; i < n; i += stride) {
    const float amax = centers[i];
    const float scale = kMaxBound / amax;
    double error = 0.0;
    for (size_t k = 0; k < filled_centers.size(); ++k) {
      const float c = filled_centers[k];
      float q = 0.0f;
      if (amax >= kMinAmax) {
        q = std::rint(c * scale);
        q = q > kMaxBound ? kMaxBound : (q < -kMaxBound ? -kMaxBound : q);
        q = q / scale;
      }
      const double diff = static_cast<double>(q) - static_cast<double>(c);
      error += filled_counts[k] * diff * diff;
    }
    if (error < best_error) {  // <: the first minimum wins
      best_error = error;
      best_amax = amax;
    }
  }
  if (best_amax == 0.0f) {
    return {0.0f, CalibrationIssue::kZeroAmax,
            fmt::format("tensor '{}': mse calibration chose amax 0", tensor_name)};
  }
  return {best_amax, CalibrationIssue::kNone, {}};
}

}  // namespace partq
