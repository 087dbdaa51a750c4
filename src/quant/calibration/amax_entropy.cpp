// KL-divergence calibration as pytorch-quantization's _compute_amax_entropy (itself TensorRT's entropy
// calibrator) for 8-bit signed quantizers: for each candidate i (bins [0, i) kept):
//   reference p: counts[0, i) with every count at or above bin i added to p[i-1];
//   quantized q: bins [0, i) merged into 128 levels, bin j in level floor(128 * j / i) (numpy's
//     digitize(range(i), linspace(0, i, 129)) - 1, computed exactly in integers), each level's sum spread
//     evenly over its NON-EMPTY bins, empty bins stay 0;
//   divergence = sum p_j log(p_j / q_j) after normalising both (scipy.stats.entropy).
// The LAST minimum wins, and amax = edges[i]. As in pytorch-quantization, bin 0 is first replaced by bin 1's
// count (it is dominated by the exact zeros of ReLU-like activations).
#include <cmath>
#include <limits>
#include <vector>

#include <fmt/format.h>

#include "partq/calibration.hpp"
#include "partq/error.hpp"

namespace partq {

namespace {

constexpr int64_t kLevels = 128;  // 1 << (num_bits - 1) for 8-bit signed

}  // namespace

CalibrationResult amax_entropy(const Histogram& hist, int64_t start_bin, int64_t stride,
                               std::string_view tensor_name) {
  if (start_bin < 1 || stride < 1) {
    fail("entropy calibration of tensor '{}': need start_bin >= 1 and stride >= 1 (got {} and {})",
         tensor_name, start_bin, stride);
  }
  const int64_t n = hist.num_bins();
  if (n == 0 || hist.total() == 0) {
    return {0.0f, CalibrationIssue::kNoData,
            fmt::format("tensor '{}': entropy calibration of an empty histogram", tensor_name)};
  }
  if (n < start_bin) {
    return {0.0f, CalibrationIssue::kTooFewBins,
            fmt::format("tensor '{}': the histogram has {} bins, fewer than start_bin {}", tensor_name, n,
                        start_bin)};
  }

  // Counts are exact integers (< 2^53) in double. log(count) is computed once per bin, so the inner loop
  // over a candidate's bins is multiply-adds only: p_j / q_j = (r_j / e_j) * (Q / P) with r_j the
  // reference count, e_j the expanded count, P and Q their totals.
  std::vector<double> bins(hist.counts.begin(), hist.counts.end());
  if (n >= 2) bins[0] = bins[1];
  std::vector<double> log_bins(n, 0.0);
  std::vector<double> prefix(n + 1, 0.0);
  for (int64_t j = 0; j < n; ++j) {
    if (bins[j] > 0) log_bins[j] = std::log(bins[j]);
    prefix[j + 1] = prefix[j] + bins[j];
  }
  const double total = prefix[n];

  const double inf = std::numeric_limits<double>::infinity();
  double best_divergence = inf;
  int64_t best_i = -1;
  for (int64_t i = start_bin; i <= n; i += stride) {
    const double kept = prefix[i];         // sum of q before normalisation (expansion keeps the mass)
    const double outliers = total - kept;  // added to p[i-1]
    double divergence = 0.0;
    if (kept == 0.0) {
      // q is all zero: scipy returns NaN, which numpy's argmin would pick; partq treats the candidate as
      // unusable instead (see docs/calibration.md).
      divergence = inf;
    } else {
      const double log_q_over_p = std::log(kept / total);
      double sum = 0.0;
      for (int64_t level = 0; level < kLevels; ++level) {
        const int64_t lo = (level * i + kLevels - 1) / kLevels;  // ceil(level * i / 128)
        const int64_t hi = ((level + 1) * i + kLevels - 1) / kLevels;
        double level_sum = 0.0;
        int64_t non_empty = 0;
        for (int64_t j = lo; j < hi; ++j) {
          level_sum += bins[j];
          non_empty += bins[j] > 0 ? 1 : 0;
        }
        const bool holds_last = hi == i;
        if (non_empty == 0) {
          // Every q_j of this level is 0; only p[i-1] can still be non-zero (the outliers) -> infinite KL.
          if (holds_last && outliers > 0.0) sum = inf;
          continue;
        }
        const double log_expanded = std::log(level_sum / static_cast<double>(non_empty));
        const int64_t plain_end = holds_last ? i - 1 : hi;
        for (int64_t j = lo; j < plain_end; ++j) {
          if (bins[j] > 0) sum += bins[j] * (log_bins[j] - log_expanded + log_q_over_p);
        }
        if (holds_last) {
          const double reference = bins[i - 1] + outliers;
          if (bins[i - 1] > 0) {
            sum += reference * (std::log(reference) - log_expanded + log_q_over_p);
          } else if (reference > 0) {
            sum = inf;
          }
        }
      }
      divergence = sum / total;
    }
    if (divergence <= best_divergence) {  // <=: the last minimum wins
      best_divergence = divergence;
      best_i = i;
    }
  }
  return {hist.edge(best_i), CalibrationIssue::kNone, {}};
}

}  // namespace partq
