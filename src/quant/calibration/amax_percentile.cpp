// pytorch-quantization _compute_amax_percentile: cdf = cumsum(counts / total) (sequential float64 sums),
// idx = searchsorted(cdf, percentile / 100) (the first bin whose cdf reaches it), amax = edges[idx] —
// the LOWER edge of that bin.
#include <fmt/format.h>

#include "partq/calibration.hpp"
#include "partq/error.hpp"

namespace partq {

CalibrationResult amax_percentile(const Histogram& hist, double percentile, std::string_view tensor_name) {
  if (!(percentile >= 0.0 && percentile <= 100.0)) {
    fail("percentile calibration of tensor '{}': percentile {} is outside [0, 100]", tensor_name, percentile);
  }
  const uint64_t total = hist.total();
  if (total == 0) {
    return {0.0f, CalibrationIssue::kNoData,
            fmt::format("tensor '{}': percentile calibration of an empty histogram", tensor_name)};
  }
  const double target = percentile / 100.0;
  const double total_d = static_cast<double>(total);
  const int64_t n = hist.num_bins();
  int64_t idx = n;  // searchsorted past the end when rounding keeps the cdf below target
  double cdf = 0.0;
  for (int64_t k = 0; k < n; ++k) {
    cdf += static_cast<double>(hist.counts[k]) / total_d;
    if (cdf >= target) {
      idx = k;
      break;
    }
  }
  const float amax = hist.edge(idx);
  if (amax == 0.0f) {
    return {
        0.0f, CalibrationIssue::kZeroAmax,
        fmt::format("tensor '{}': the {} percentile of |x| falls in the first histogram bin [0, {}), giving "
                    "amax 0 (use the max method or a higher percentile)",
                    tensor_name, percentile, hist.edge(1))};
  }
  return {amax, CalibrationIssue::kNone, {}};
}

}  // namespace partq
