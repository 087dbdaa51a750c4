// The passes over a batch that every calibrator shares: max |x| with the non-finite check, and the histogram
// binning, both split over OpenMP threads for large batches.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace partq::calibration_detail {

struct BatchScan {
  float abs_max = 0.0f;  // valid only when all_finite
  bool all_finite = true;
};

// Threads to use for a pass over `n` values: `threads` (0 = omp_get_max_threads()), fewer when the batch is
// too small to repay waking them (about 64k values per thread at least), never less than 1.
int team_size(size_t n, int threads);

BatchScan scan_batch(std::span<const float> values, int threads = 1);

// Throws partq::Error naming the tensor and the first non-finite value's index when the batch is not finite.
void require_finite(const BatchScan& scan, std::span<const float> values, std::string_view tensor_name);

// torch.histc's bin of |x| over [0, range] with num_bins bins: (int)(|x| * num_bins / range) in float, the
// last bin for |x| >= range (and for NaN / Inf, which the caller rejects from the returned max).
struct BinLayout {
  float num_bins = 0.0f;
  float range = 0.0f;
};

// Histograms |x| of the batch with `layout` into `lanes` (resized and zeroed here: per thread, 4 interleaved
// sub-histograms of `lane_bins` 32-bit counts), and returns the batch's max |x| in the same pass. At most
// kMaxValuesPerPass values per call, so that no 32-bit count can overflow.
constexpr size_t kMaxValuesPerPass = size_t{1} << 31;
BatchScan histogram_pass(std::span<const float> values, BinLayout layout, size_t lane_bins, int team,
                         std::vector<uint32_t>& lanes);
// Adds the lanes of histogram_pass to `counts` (lane_bins == counts.size()).
void add_lanes(std::span<const uint32_t> lanes, std::span<uint64_t> counts);

}  // namespace partq::calibration_detail
