#include "partq/error.hpp"
#include "partq/util/timing.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>

namespace partq {
namespace {

TEST(LatencyStats, OddCountUnsortedInput) {
  LatencyStats s = summarize_latencies({5, 1, 4, 2, 3});
  EXPECT_EQ(s.count, 5u);
  EXPECT_DOUBLE_EQ(s.min_ms, 1);
  EXPECT_DOUBLE_EQ(s.max_ms, 5);
  EXPECT_DOUBLE_EQ(s.mean_ms, 3);
  EXPECT_DOUBLE_EQ(s.median_ms, 3);
  // Nearest rank: ceil(0.9 * 5) = 5th, ceil(0.99 * 5) = 5th.
  EXPECT_DOUBLE_EQ(s.p90_ms, 5);
  EXPECT_DOUBLE_EQ(s.p99_ms, 5);
}

TEST(LatencyStats, EvenCountMedianIsMidpoint) {
  LatencyStats s = summarize_latencies({1, 2, 3, 10});
  EXPECT_DOUBLE_EQ(s.median_ms, 2.5);
  EXPECT_DOUBLE_EQ(s.mean_ms, 4);
  EXPECT_DOUBLE_EQ(s.p90_ms, 10);  // ceil(3.6) = 4th
}

TEST(LatencyStats, HundredSamples) {
  std::vector<double> ms(100);
  std::iota(ms.begin(), ms.end(), 1.0);  // 1..100
  std::reverse(ms.begin(), ms.end());
  LatencyStats s = summarize_latencies(ms);
  EXPECT_DOUBLE_EQ(s.p90_ms, 90);  // exactly the 90th sample, not the 91st
  EXPECT_DOUBLE_EQ(s.p99_ms, 99);
  EXPECT_DOUBLE_EQ(s.median_ms, 50.5);
  EXPECT_DOUBLE_EQ(s.mean_ms, 50.5);
}

TEST(LatencyStats, SingleSampleAndEmpty) {
  LatencyStats s = summarize_latencies({7.5});
  EXPECT_DOUBLE_EQ(s.min_ms, 7.5);
  EXPECT_DOUBLE_EQ(s.p99_ms, 7.5);
  EXPECT_DOUBLE_EQ(s.median_ms, 7.5);
  EXPECT_THROW(summarize_latencies({}), Error);
}

TEST(LatencyStats, NearestRankPercentile) {
  std::vector<double> sorted = {10, 20, 30, 40, 50, 60, 70, 80, 90, 100};
  EXPECT_DOUBLE_EQ(nearest_rank_percentile(sorted, 90), 90);
  EXPECT_DOUBLE_EQ(nearest_rank_percentile(sorted, 91), 100);
  EXPECT_DOUBLE_EQ(nearest_rank_percentile(sorted, 1), 10);
  EXPECT_DOUBLE_EQ(nearest_rank_percentile(sorted, 100), 100);
  EXPECT_THROW(nearest_rank_percentile(sorted, 0), Error);
}

TEST(Timing, HardwareThreadsIsPositive) {
  EXPECT_GE(hardware_threads(), 1);
}

}  // namespace
}  // namespace partq
