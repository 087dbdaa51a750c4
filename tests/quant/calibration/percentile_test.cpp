#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "partq/calibration.hpp"
#include "partq/error.hpp"

namespace partq {
namespace {

Histogram unit_width(std::vector<uint64_t> counts) {
  Histogram h;
  h.bin_width = 1.0f;
  h.range = static_cast<float>(counts.size());
  h.counts = std::move(counts);
  return h;
}

TEST(AmaxPercentile, ReturnsTheLowerEdgeOfTheBinWhereTheCdfReachesThePercentile) {
  const Histogram h = unit_width({1, 3, 4, 2});         // cdf 0.1 0.4 0.8 1.0
  EXPECT_EQ(amax_percentile(h, 40.0, "t").amax, 1.0f);  // cdf[1] = 0.4 reaches 0.4 exactly: bin 1
  EXPECT_EQ(amax_percentile(h, 41.0, "t").amax, 2.0f);
  EXPECT_EQ(amax_percentile(h, 80.5, "t").amax, 3.0f);
  EXPECT_EQ(amax_percentile(h, 100.0, "t").amax, 3.0f);  // the lower edge of the last bin, not the max
}

TEST(AmaxPercentile, ZeroAmaxIsReportedNotReturnedSilently) {
  const Histogram h = unit_width({9990, 5, 5});
  const auto result = amax_percentile(h, 99.0, "mostly_zero");
  EXPECT_EQ(result.issue, CalibrationIssue::kZeroAmax);
  EXPECT_NE(result.message.find("mostly_zero"), std::string::npos) << result.message;
}

TEST(AmaxPercentile, OutOfRangePercentileIsAnError) {
  const Histogram h = unit_width({1, 1});
  EXPECT_THROW(amax_percentile(h, 100.5, "t"), Error);
  EXPECT_THROW(amax_percentile(h, -1.0, "t"), Error);
  EXPECT_THROW(HistogramCalibrator({.tensor_name = "t", .percentile = 101.0}), Error);
}

TEST(AmaxPercentile, GaussianWithHugeOutliersClipsAtTheSortedDataThreshold) {
  std::mt19937 rng(2024);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  HistogramCalibrator calib({.tensor_name = "act", .method = CalibrationMethod::kPercentile});
  std::vector<float> all;
  for (int batch = 0; batch < 4; ++batch) {
    std::vector<float> values(250001);  // 1000004 values: 99.99 % of them is not a whole count
    for (float& v : values)
      v = normal(rng);
    if (batch == 1) {
      for (int k = 0; k < 10; ++k)
        values[k * 1000] = (k % 2 ? -1.0f : 1.0f) * (500.0f + k);  // 0.001 %
    }
    calib.collect(values);
    all.insert(all.end(), values.begin(), values.end());
  }
  // Independent expectation: the smallest |x| with at least 99.99 % of the values at or below it.
  std::vector<float> sorted;
  for (float v : all)
    sorted.push_back(std::fabs(v));
  std::sort(sorted.begin(), sorted.end());
  const size_t rank = static_cast<size_t>(std::ceil(0.9999 * static_cast<double>(sorted.size())));
  const float threshold = sorted[rank - 1];

  const auto result = calib.compute_amax();
  ASSERT_TRUE(result.ok()) << result.message;
  const float width = calib.histogram().bin_width;
  // amax is the lower edge of the bin holding the threshold.
  EXPECT_LE(result.amax, threshold);
  EXPECT_GT(result.amax + width * 1.001f, threshold);
  EXPECT_LT(result.amax, 10.0f);  // the outliers (>= 500) are excluded
  EXPECT_GT(result.amax, 3.0f);
}

}  // namespace
}  // namespace partq
