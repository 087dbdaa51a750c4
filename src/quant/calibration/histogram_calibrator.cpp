#include <algorithm>
#include <cmath>
#include <utility>

#include "batch_scan.hpp"
#include "partq/calibration.hpp"
#include "partq/error.hpp"

namespace partq {

namespace {

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

bool HistogramCalibrator::fit_range(float abs_max, size_t batch_size) {
  Histogram& h = histogram_;
  if (h.counts.empty()) {
    const float width = abs_max / static_cast<float>(options_.num_bins);
    // No range yet (pytorch-quantization would build a histogram over [0, 0] here and divide by a zero
    // width on the next batch): remember the zeros and put them in bin 0 once a non-zero max fixes the range.
    // A max so tiny that its bin width underflows to 0 is treated the same way.
    if (width == 0.0f) {
      zeros_before_range_ += batch_size;
      return false;
    }
    h.bin_width = width;  // torch.linspace(0, max, num_bins + 1): edges[1] - edges[0] = max / num_bins
    h.range = abs_max;
    h.counts.assign(static_cast<size_t>(options_.num_bins), 0);
    h.counts[0] += zeros_before_range_;
    zeros_before_range_ = 0;
  } else if (abs_max > h.range) {
    // pytorch-quantization (torch_hist=True): num_bins = ceil(new_max / width), edges = arange(0, new_max +
    // width, width); existing counts stay at the same indices, i.e. the same [k*width, (k+1)*width) bins.
    const int64_t grown =
        std::max<int64_t>(static_cast<int64_t>(std::ceil(abs_max / h.bin_width)), h.num_bins());
    if (grown > options_.max_bins) {
      fail(
          "calibration of tensor '{}': max |x| grew from {} to {}; keeping the bin width {} would need {} "
          "histogram bins, more than max_bins {} (use the max method, or calibrate with a larger max_bins)",
          options_.tensor_name, h.range, abs_max, h.bin_width, grown, options_.max_bins);
    }
    h.counts.resize(static_cast<size_t>(grown), 0);
    h.range = static_cast<float>(static_cast<double>(h.bin_width) * static_cast<double>(grown));
  }
  return true;
}

void HistogramCalibrator::collect(std::span<const float> values) {
  using calibration_detail::kMaxValuesPerPass;
  if (values.empty()) return;
  Histogram& h = histogram_;
  const int team = calibration_detail::team_size(values.size(), options_.threads);
  // torch.histc(x, bins=n, min=0, max=range): bin = (int)((x - 0) * n / range), x == range -> last bin.
  auto layout = [&h] { return calibration_detail::BinLayout{static_cast<float>(h.num_bins()), h.range}; };
  auto count = [&](std::span<const float> part) {
    calibration_detail::histogram_pass(part, layout(), h.counts.size(), team, lane_scratch_);
    calibration_detail::add_lanes(lane_scratch_, h.counts);
  };

  calibration_detail::BatchScan scan;
  if (!h.counts.empty() && values.size() <= kMaxValuesPerPass) {
    // The usual case, one read of the batch: bin with the current range and take the max in the same pass;
    // the counts land in scratch lanes, added to the histogram only once the batch is known to be finite and
    // within the range. A batch that extends the range is binned again after growing (the bin of a value
    // depends on num_bins / range, which growth changes).
    scan = calibration_detail::histogram_pass(values, layout(), h.counts.size(), team, lane_scratch_);
    calibration_detail::require_finite(scan, values, options_.tensor_name);
    if (scan.abs_max > h.range) {
      fit_range(scan.abs_max, values.size());
      count(values);
    } else {
      calibration_detail::add_lanes(lane_scratch_, h.counts);
    }
  } else {
    // The first batch (the range comes from its max) or a huge one: the max first, then the counts.
    scan = calibration_detail::scan_batch(values, team);
    calibration_detail::require_finite(scan, values, options_.tensor_name);
    if (fit_range(scan.abs_max, values.size())) {
      for (size_t begin = 0; begin < values.size(); begin += kMaxValuesPerPass)
        count(values.subspan(begin, std::min(kMaxValuesPerPass, values.size() - begin)));
    }
  }
  num_values_ += values.size();
  max_seen_ = std::max(max_seen_, scan.abs_max);
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
