// MSE calibration against a brute-force reference: every bin (empty ones too), its own round-half-even.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "partq/calibration.hpp"

namespace partq {
namespace {

float round_half_even(float v) {
  const float f = std::floor(v);
  const float d = v - f;
  if (d > 0.5f) return f + 1.0f;
  if (d < 0.5f) return f;
  return std::fmod(f, 2.0f) == 0.0f ? f : f + 1.0f;
}

float reference_mse_amax(const Histogram& hist, int64_t start_bin = 128) {
  const int64_t n = hist.num_bins();
  auto edge = [&](int64_t k) { return static_cast<float>(static_cast<double>(hist.bin_width) * k); };
  std::vector<float> centers(n);
  for (int64_t k = 0; k < n; ++k)
    centers[k] = (edge(k) + edge(k + 1)) / 2.0f;
  double best = std::numeric_limits<double>::infinity();
  float best_amax = 0;
  for (int64_t i = start_bin; i < n; ++i) {
    const float scale = 127.0f / centers[i];
    double total = 0;
    for (int64_t k = 0; k < n; ++k) {
      float q = std::min(127.0f, std::max(-127.0f, round_half_even(centers[k] * scale))) / scale;
      total += static_cast<double>(hist.counts[k]) * std::pow(static_cast<double>(q) - centers[k], 2);
    }
    if (total < best) {
      best = total;
      best_amax = centers[i];
    }
  }
  return best_amax;
}

TEST(AmaxMse, MatchesBruteForceOnCollectedGaussianWithOutliers) {
  std::mt19937 rng(1);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  HistogramCalibrator calib({.tensor_name = "act", .method = CalibrationMethod::kMse});
  // 2 outliers among a million values: the best amax trades their clipping error (2 * (60 - amax)^2) against
  // the rounding error of everything else (~1e6 * (amax / 127)^2 / 12), a minimum well inside (4, 60).
  std::vector<float> values(1000000);
  for (float& v : values)
    v = normal(rng);
  values[7] = 60.0f;
  values[700] = -61.0f;
  calib.collect(values);
  const auto result = calib.compute_amax();
  ASSERT_TRUE(result.ok()) << result.message;
  EXPECT_EQ(result.amax, reference_mse_amax(calib.histogram()));
  EXPECT_GT(result.amax, 5.0f);
  EXPECT_LT(result.amax, 30.0f);
}

TEST(AmaxMse, MatchesBruteForceOnUniformDataAndKeepsNearlyTheWholeRange) {
  std::mt19937 rng(2);
  std::uniform_real_distribution<float> uniform(-4.0f, 4.0f);
  HistogramCalibrator calib({.tensor_name = "act", .method = CalibrationMethod::kMse});
  std::vector<float> values(200000);
  for (float& v : values)
    v = uniform(rng);
  calib.collect(values);
  const auto result = calib.compute_amax();
  ASSERT_TRUE(result.ok()) << result.message;
  EXPECT_EQ(result.amax, reference_mse_amax(calib.histogram()));
  EXPECT_GT(result.amax, 0.97f * 4.0f);  // clipping a uniform distribution costs more than rounding
}

TEST(AmaxMse, TooFewBinsIsReported) {
  Histogram h;
  h.counts.assign(128, 1);
  h.bin_width = 1.0f;
  h.range = 128.0f;
  EXPECT_EQ(amax_mse(h, 128, 1, "t").issue, CalibrationIssue::kTooFewBins);
}

}  // namespace
}  // namespace partq
