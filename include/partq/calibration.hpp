// Activation and weight calibration with NVIDIA pytorch-quantization semantics (calib/max.py and
// calib/histogram.py with torch_hist=True, 8-bit signed quantizers): a calibrator sees float batches of one
// tensor and proposes the `amax` from which QuantParams::per_tensor_from_amax derives scale = amax / 127.
//
//   auto calib = partq::make_calibrator("entropy", {.tensor_name = "/model.0/conv/Conv_output_0"});
//   for (batch ...) calib->collect(values);          // throws partq::Error on NaN / Inf, naming the tensor
//   partq::CalibrationResult r = calib->compute_amax();
//   if (!r.ok()) warn(r.message);                     // no data, only zeros, ...: never a silent amax of 0
//
// Everything here is plain C++ over float spans; no engine or graph dependency. Not thread-safe: use one
// calibrator per tensor per thread (collect() itself splits a large batch over OpenMP threads,
// CalibratorOptions::threads). See docs/calibration.md for the exact algorithms and the few places where
// partq deliberately differs from pytorch-quantization.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace partq {

enum class CalibrationMethod { kMax, kEntropy, kPercentile, kMse };

// "max" | "entropy" | "percentile" | "mse"; anything else throws partq::Error listing the valid names.
CalibrationMethod parse_calibration_method(std::string_view name);
std::string_view calibration_method_name(CalibrationMethod method);

// Why a calibrator could not propose a usable amax. kNone means the amax is valid (finite and > 0).
enum class CalibrationIssue {
  kNone,
  kNoData,      // collect() was never called with a non-empty batch
  kAllZeros,    // every value seen was 0: any scale works, none is meaningful
  kZeroAmax,    // the method itself chose 0 (e.g. percentile when > p% of the values are in bin 0)
  kTooFewBins,  // the histogram has fewer bins than start_bin (entropy / mse have no candidate)
};
std::string_view calibration_issue_name(CalibrationIssue issue);

struct CalibrationResult {
  float amax = 0.0f;  // meaningful only when ok()
  CalibrationIssue issue = CalibrationIssue::kNone;
  std::string message;  // one complete line naming the tensor and the reason; empty when ok()

  bool ok() const { return issue == CalibrationIssue::kNone; }
};

struct CalibratorOptions {
  std::string tensor_name;  // named in every error and issue message
  CalibrationMethod method = CalibrationMethod::kMax;
  double percentile = 99.99;  // for kPercentile, in [0, 100]
  int64_t num_bins = 2048;    // initial histogram bins (the histogram grows with the same width)
  int64_t start_bin = 128;    // first candidate for entropy and mse
  int64_t stride = 1;         // candidate step for entropy and mse
  // Growing past this many bins throws partq::Error instead of exhausting memory and time: the default
  // (2 MiB of counts) allows a range 128x the first batch's max; entropy costs O(bins^2) (~10 ms at 2048
  // bins, ~0.7 s at 38k bins here) and mse O(bins x non-empty bins).
  int64_t max_bins = int64_t{1} << 18;
  // OpenMP threads for collect() on a large batch (0 = omp_get_max_threads()). The result does not depend
  // on it: the counts are integers.
  int threads = 0;
};

// A histogram of |x| over [0, range] with equal-width bins, as pytorch-quantization keeps it.
// Bin k holds values in [edge(k), edge(k+1)); the last bin also holds `range` itself.
struct Histogram {
  std::vector<uint64_t> counts;
  float bin_width = 0.0f;  // edges[1] - edges[0]
  float range = 0.0f;      // edges[num_bins]

  int64_t num_bins() const { return static_cast<int64_t>(counts.size()); }
  // edges[k]: k * bin_width (in double, rounded to float), edges[num_bins] = range.
  float edge(int64_t k) const;
  uint64_t total() const;
};

// The amax-from-histogram methods, usable on any histogram (the calibrator calls these). Each returns a
// CalibrationResult whose message names `tensor_name` when it is not ok().
// entropy: pytorch-quantization _compute_amax_entropy (TensorRT's KL calibration), last minimum wins.
CalibrationResult amax_entropy(const Histogram& hist, int64_t start_bin, int64_t stride,
                               std::string_view tensor_name);
// percentile: edges[searchsorted(cumsum(counts / total), percentile / 100)]; percentile outside [0, 100]
// throws partq::Error.
CalibrationResult amax_percentile(const Histogram& hist, double percentile, std::string_view tensor_name);
// mse: the bin centre c_i (i >= start_bin) minimising sum_k counts[k] * (c_k - fakequant(c_k, c_i))^2, first
// minimum wins; fakequant is 8-bit signed narrow range with round-half-even.
CalibrationResult amax_mse(const Histogram& hist, int64_t start_bin, int64_t stride,
                           std::string_view tensor_name);

class Calibrator {
 public:
  explicit Calibrator(CalibratorOptions options);
  virtual ~Calibrator() = default;
  Calibrator(const Calibrator&) = delete;
  Calibrator& operator=(const Calibrator&) = delete;

  // Observes one batch of the tensor (any layout: only |x| matters). The span is read, not kept.
  // Throws partq::Error naming the tensor if the batch holds NaN or Inf (nothing is recorded then).
  virtual void collect(std::span<const float> values) = 0;
  // The amax for options().method.
  virtual CalibrationResult compute_amax() const = 0;
  virtual void reset() = 0;

  const CalibratorOptions& options() const { return options_; }
  // Number of values collected so far (all of them, zeros included).
  uint64_t num_values() const { return num_values_; }

 protected:
  CalibratorOptions options_;
  uint64_t num_values_ = 0;
};

// Running max of |x| over every batch (pytorch-quantization MaxCalibrator, per tensor).
class MaxCalibrator final : public Calibrator {
 public:
  explicit MaxCalibrator(CalibratorOptions options);
  void collect(std::span<const float> values) override;
  CalibrationResult compute_amax() const override;
  void reset() override;

 private:
  float amax_ = 0.0f;
};

// Histogram of |x|: the first batch with a non-zero max fixes bin_width = max / num_bins; a later batch with
// a larger max appends bins of the same width (ceil(new_max / bin_width) bins in all), keeping the existing
// counts in place. Zeros seen before any non-zero value are counted into bin 0 once the range is known.
class HistogramCalibrator final : public Calibrator {
 public:
  explicit HistogramCalibrator(CalibratorOptions options);
  void collect(std::span<const float> values) override;
  CalibrationResult compute_amax() const override;  // options().method
  // Any method from the same histogram: collect once, compare max / entropy / percentile / mse.
  // kMax returns the exact running max of |x|.
  CalibrationResult compute_amax(CalibrationMethod method) const;
  void reset() override;

  // Empty (no bins) until a batch with a non-zero max has been seen.
  const Histogram& histogram() const { return histogram_; }

 private:
  CalibrationResult check_has_range() const;
  // Sets or grows the range for a batch with this max |x|; false (zeros recorded) while no range exists yet.
  bool fit_range(float abs_max, size_t batch_size);

  Histogram histogram_;
  uint64_t zeros_before_range_ = 0;
  float max_seen_ = 0.0f;
  std::vector<uint32_t> lane_scratch_;  // per thread, 4 interleaved sub-histograms of one batch
};

// "max" -> MaxCalibrator, "entropy" | "percentile" | "mse" -> HistogramCalibrator with that method;
// options.method is overwritten by `method`. Unknown names throw partq::Error.
std::unique_ptr<Calibrator> make_calibrator(std::string_view method, CalibratorOptions options);
std::unique_ptr<Calibrator> make_calibrator(CalibratorOptions options);  // by options.method

// Per-channel max |w| of a dense row-major weight with dimensions `dims` along `axis` (0 for Conv / Gemm
// weights, 1 for ConvTranspose). Throws partq::Error naming `tensor_name` on NaN / Inf, a bad axis or a size
// that does not match dims. A channel that is entirely zero gets amax 0 and is listed in zero_channels: the
// caller must choose what to do (its weights quantize to 0 under any positive scale).
struct PerChannelAmax {
  std::vector<float> amax;
  std::vector<int64_t> zero_channels;
};
PerChannelAmax per_channel_amax(std::span<const float> weights, std::span<const int64_t> dims, int64_t axis,
                                std::string_view tensor_name);

}  // namespace partq
