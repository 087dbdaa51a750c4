#include <algorithm>
#include <cmath>
#include <utility>

#include "batch_scan.hpp"
#include "partq/calibration.hpp"
#include "partq/error.hpp"

namespace partq {

namespace {

// Bin indices are computed for this many values at a time (a vectorised loop), then counted (a scalar
// scatter), so no per-value allocation and a small reusable scratch buffer.
constexpr size_t kChunk = 1024;

void validate(const CalibratorOptions& o) {
  if (o.num_bins < 1 || o.max_bins < o.num_bins || o.start_bin < 1 || o.stride < 1) {
    fail(
        "calibrator for tensor '{}': need num_bins >= 1, max_bins >= num_bins, start_bin >= 1 and stride >= "
        "1 "
        "(got num_bins {}, max_bins {}, start_bin {}, stride {})",
        o.tensor_name, o.num_bins, o.max_bins, o.start_bin, o.stride);
  }
  if (!(o.percentile >= 0.0 && o.percentile <= 100.0)) {
    fail("calibrator for tensor '{}': percentile {} is outside [0, 100]", o.tensor_name, o.percentile);
  }
}

}  // namespace

HistogramCalibrator::HistogramCalibrator(CalibratorOptions options) : Calibrator(std::move(options)) {
  validate(options_);
}

void HistogramCalibrator::collect(std::span<const float> values) {
  const auto scan = calibration_detail::scan_batch(values);
  calibration_detail::require_finite(scan, values, options_.tensor_name);
  if (values.empty()) return;
  num_values_ += values.size();
  max_seen_ = std::max(max_seen_, scan.abs_max);

  Histogram& h = histogram_;
  if (h.counts.empty()) {
    const float width = scan.abs_max / static_cast<float>(options_.num_bins);
    // No range yet (pytorch-quantization would build a histogram over [0, 0] here and divide by a zero
    // width on the next batch): remember the zeros and put them in bin 0 once a non-zero max fixes the range.
    // A max so tiny that its bin width underflows to 0 is treated the same way.
    if (width == 0.0f) {
      zeros_before_range_ += values.size();
      return;
    }
    h.bin_width = width;  // torch.linspace(0, max, num_bins + 1): edges[1] - edges[0] = max / num_bins
    h.range = scan.abs_max;
    h.counts.assign(static_cast<size_t>(options_.num_bins), 0);
    h.counts[0] += zeros_before_range_;
    zeros_before_range_ = 0;
  } else if (scan.abs_max > h.range) {
    // pytorch-quantization (torch_hist=True): num_bins = ceil(new_max / width), edges = arange(0, new_max +
    // width, width); existing counts stay at the same indices, i.e. the same [k*width, (k+1)*width) bins.
    const int64_t grown =
        std::max<int64_t>(static_cast<int64_t>(std::ceil(scan.abs_max / h.bin_width)), h.num_bins());
    if (grown > options_.max_bins) {
      fail(
          "calibration of tensor '{}': max |x| grew from {} to {}; keeping the bin width {} would need {} "
          "histogram bins, more than max_bins {} (use the max method, or calibrate with a larger max_bins)",
          options_.tensor_name, h.range, scan.abs_max, h.bin_width, grown, options_.max_bins);
    }
    h.counts.resize(static_cast<size_t>(grown), 0);
    h.range = static_cast<float>(static_cast<double>(h.bin_width) * static_cast<double>(grown));
  }

  // torch.histc(x, bins=n, min=0, max=range): bin = (int)((x - 0) * n / range), x == range -> last bin.
  // The clamp also keeps a value a rounding step above `range` (possible after growth) in the last bin
  // instead of dropping it, and is applied in float so no out-of-range float->int conversion can happen.
  const float n = static_cast<float>(h.num_bins());
  const float range = h.range;
  const float last = n - 1.0f;
  bin_scratch_.resize(kChunk);
  int32_t* bins = bin_scratch_.data();
  uint64_t* counts = h.counts.data();
  const size_t lane_size = h.counts.size();
  lane_scratch_.assign(4 * lane_size, 0);
  uint32_t* lanes = lane_scratch_.data();
  auto flush_lanes = [&] {
    for (size_t b = 0; b < lane_size; ++b) {
      counts[b] +=
          uint64_t{lanes[b]} + lanes[lane_size + b] + lanes[2 * lane_size + b] + lanes[3 * lane_size + b];
    }
    std::fill(lane_scratch_.begin(), lane_scratch_.end(), 0u);
  };
  constexpr size_t kFlushEvery = size_t{1} << 31;  // keeps every 32-bit lane count from overflowing
  for (size_t begin = 0; begin < values.size(); begin += kChunk) {
    const size_t m = std::min(kChunk, values.size() - begin);
    const float* x = values.data() + begin;
    for (size_t k = 0; k < m; ++k) {
      float position = std::fabs(x[k]) * n / range;
      position = position < last ? position : last;
      bins[k] = static_cast<int32_t>(position);
    }
    // Four interleaved sub-histograms: consecutive values falling in the same bin (the zeros of a ReLU /
    // SiLU output) then do not wait on each other's increment.
    size_t k = 0;
    for (; k + 4 <= m; k += 4) {
      ++lanes[bins[k]];
      ++lanes[lane_size + bins[k + 1]];
      ++lanes[2 * lane_size + bins[k + 2]];
      ++lanes[3 * lane_size + bins[k + 3]];
    }
    for (; k < m; ++k)
      ++lanes[bins[k]];
    if ((begin + m) % kFlushEvery == 0) flush_lanes();
  }
  flush_lanes();
}

CalibrationResult HistogramCalibrator::check_has_range() const {
  if (num_values_ == 0) {
    return {0.0f, CalibrationIssue::kNoData,
            fmt::format("tensor '{}': the histogram calibrator saw no data", options_.tensor_name)};
  }
  if (histogram_.counts.empty()) {
    return {0.0f, CalibrationIssue::kAllZeros,
            fmt::format("tensor '{}': all {} values seen by the histogram calibrator are 0",
                        options_.tensor_name, num_values_)};
  }
  return {};
}

CalibrationResult HistogramCalibrator::compute_amax() const {
  return compute_amax(options_.method);
}

CalibrationResult HistogramCalibrator::compute_amax(CalibrationMethod method) const {
  if (auto status = check_has_range(); !status.ok()) return status;
  switch (method) {
    case CalibrationMethod::kMax:
      return {max_seen_, CalibrationIssue::kNone, {}};
    case CalibrationMethod::kEntropy:
      return amax_entropy(histogram_, options_.start_bin, options_.stride, options_.tensor_name);
    case CalibrationMethod::kPercentile:
      return amax_percentile(histogram_, options_.percentile, options_.tensor_name);
    case CalibrationMethod::kMse:
      return amax_mse(histogram_, options_.start_bin, options_.stride, options_.tensor_name);
  }
  fail("tensor '{}': unknown calibration method", options_.tensor_name);
}

void HistogramCalibrator::reset() {
  histogram_ = {};
  zeros_before_range_ = 0;
  max_seen_ = 0.0f;
  num_values_ = 0;
}

}  // namespace partq
