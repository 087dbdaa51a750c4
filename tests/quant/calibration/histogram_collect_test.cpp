// How the histogram is collected: bin placement, growth with the same width, zeros, errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "partq/calibration.hpp"
#include "partq/error.hpp"

namespace partq {
namespace {

CalibratorOptions options(int64_t num_bins = 2048) {
  return {.tensor_name = "hist", .method = CalibrationMethod::kEntropy, .num_bins = num_bins};
}

TEST(HistogramCollect, FirstBatchSpansZeroToItsMaxWithEqualBins) {
  HistogramCalibrator calib(options());
  // max |x| = 2048 -> width exactly 1, so bin k holds [k, k+1).
  std::vector<float> values{0.0f, 0.5f, 3.5f, -3.25f, 1000.0f, 2047.5f, -2048.0f};
  calib.collect(values);
  const Histogram& h = calib.histogram();
  ASSERT_EQ(h.num_bins(), 2048);
  EXPECT_EQ(h.bin_width, 1.0f);
  EXPECT_EQ(h.range, 2048.0f);
  EXPECT_EQ(h.counts[0], 2u);  // 0 and 0.5
  EXPECT_EQ(h.counts[3], 2u);  // 3.5 and |-3.25|
  EXPECT_EQ(h.counts[1000], 1u);
  EXPECT_EQ(h.counts[2047], 2u);  // 2047.5, and the max itself lands in the last bin
  EXPECT_EQ(h.total(), values.size());
  EXPECT_EQ(h.edge(0), 0.0f);
  EXPECT_EQ(h.edge(17), 17.0f);
  EXPECT_EQ(h.edge(2048), 2048.0f);
}

TEST(HistogramCollect, GrowsWithTheSameWidthAndKeepsCountsInPlace) {
  HistogramCalibrator calib(options(8));
  calib.collect(std::vector<float>{1.0f, 2.5f, 2.6f, 8.0f});  // width 1, 8 bins
  const std::vector<uint64_t> before = calib.histogram().counts;
  ASSERT_EQ(before, (std::vector<uint64_t>{0, 1, 2, 0, 0, 0, 0, 1}));

  calib.collect(std::vector<float>{-12.5f, 2.9f, 0.1f});  // needs ceil(12.5 / 1) = 13 bins
  const Histogram& h = calib.histogram();
  ASSERT_EQ(h.num_bins(), 13);
  EXPECT_EQ(h.bin_width, 1.0f);
  EXPECT_EQ(h.range, 13.0f);
  std::vector<uint64_t> expected{1, 1, 3, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1};
  EXPECT_EQ(h.counts, expected);

  calib.collect(std::vector<float>{13.0f, 5.5f});  // exactly the range: no growth, last bin
  EXPECT_EQ(calib.histogram().num_bins(), 13);
  expected[12] += 1;
  expected[5] += 1;
  EXPECT_EQ(calib.histogram().counts, expected);
}

TEST(HistogramCollect, GrowthKeepsEdgesOfTheFirstBatch) {
  HistogramCalibrator calib(options());
  std::mt19937 rng(3);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> first(5000);
  for (float& v : first)
    v = normal(rng);
  calib.collect(first);
  const Histogram before = calib.histogram();
  std::vector<float> second(5000);
  for (float& v : second)
    v = 3.0f * normal(rng);
  calib.collect(second);
  const Histogram& after = calib.histogram();
  ASSERT_GT(after.num_bins(), 2048);
  EXPECT_EQ(after.bin_width, before.bin_width);
  for (int64_t k = 0; k < 2048; k += 97)
    EXPECT_EQ(after.edge(k), before.edge(k)) << k;
  EXPECT_EQ(after.total(), 10000u);
  // Every count only grew, and by exactly the second batch's values in that bin (checked independently).
  std::vector<uint64_t> second_only(after.counts.size(), 0);
  for (float v : second) {
    const double position = std::fabs(v) / static_cast<double>(after.bin_width);
    int64_t k = static_cast<int64_t>(position);
    if (k >= after.num_bins()) k = after.num_bins() - 1;
    ++second_only[k];
  }
  int64_t mismatches = 0;
  for (int64_t k = 0; k < after.num_bins(); ++k) {
    const uint64_t old = k < before.num_bins() ? before.counts[k] : 0;
    if (after.counts[k] != old + second_only[k]) ++mismatches;
  }
  // The test computes bins in double, the calibrator as torch.histc in float: a value within one float
  // rounding of an edge may land one bin apart. Allow a handful.
  EXPECT_LE(mismatches, 4);
}

TEST(HistogramCollect, ZerosBeforeTheFirstNonZeroMaxGoToBinZero) {
  HistogramCalibrator calib(options(4));
  calib.collect(std::vector<float>(10, 0.0f));
  EXPECT_EQ(calib.histogram().num_bins(), 0);
  EXPECT_EQ(calib.compute_amax().issue, CalibrationIssue::kAllZeros);
  calib.collect(std::vector<float>{4.0f, 0.0f});
  EXPECT_EQ(calib.histogram().counts, (std::vector<uint64_t>{11, 0, 0, 1}));
  EXPECT_EQ(calib.num_values(), 12u);
}

TEST(HistogramCollect, NoDataAllZerosAndNanAreReported) {
  HistogramCalibrator empty(options());
  EXPECT_EQ(empty.compute_amax().issue, CalibrationIssue::kNoData);
  EXPECT_NE(empty.compute_amax().message.find("hist"), std::string::npos);
  for (auto method : {CalibrationMethod::kMax, CalibrationMethod::kPercentile, CalibrationMethod::kMse}) {
    EXPECT_EQ(empty.compute_amax(method).issue, CalibrationIssue::kNoData);
  }

  HistogramCalibrator zeros(options());
  zeros.collect(std::vector<float>(100, -0.0f));
  for (auto method : {CalibrationMethod::kEntropy, CalibrationMethod::kPercentile, CalibrationMethod::kMse}) {
    const auto result = zeros.compute_amax(method);
    EXPECT_EQ(result.issue, CalibrationIssue::kAllZeros);
    EXPECT_EQ(result.amax, 0.0f);
  }

  HistogramCalibrator nan({.tensor_name = "/backbone/conv3/out"});
  std::vector<float> bad(50, 1.0f);
  bad[49] = std::numeric_limits<float>::infinity();
  try {
    nan.collect(bad);
    FAIL() << "Inf accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/backbone/conv3/out"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("Inf"), std::string::npos) << e.what();
  }
  EXPECT_EQ(nan.compute_amax().issue, CalibrationIssue::kNoData);
}

TEST(HistogramCollect, GrowingPastMaxBinsIsAClearError) {
  CalibratorOptions o = options(16);
  o.max_bins = 64;
  HistogramCalibrator calib(o);
  calib.collect(std::vector<float>{1.0f});
  calib.collect(std::vector<float>{3.9f});  // 63 bins: fine
  EXPECT_EQ(calib.histogram().num_bins(), 63);
  try {
    calib.collect(std::vector<float>{100.0f});
    FAIL() << "unbounded growth accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("hist"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("max_bins"), std::string::npos) << e.what();
  }
}

TEST(HistogramCollect, MaxFromTheHistogramCalibratorIsTheExactRunningMax) {
  HistogramCalibrator calib(options());
  calib.collect(std::vector<float>{0.3f, -1.7f});
  calib.collect(std::vector<float>{1.6999f});
  const auto result = calib.compute_amax(CalibrationMethod::kMax);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result.amax, 1.7f);
}

TEST(HistogramCollect, LargeActivationIsCountedCompletely) {
  // A 1x16x320x320 activation (the size the collect loop is tuned for); every value must be counted.
  std::vector<float> values(16 * 320 * 320);
  std::mt19937 rng(11);
  std::exponential_distribution<float> exponential(2.0f);
  for (float& v : values)
    v = exponential(rng) - 0.25f;
  HistogramCalibrator calib(options());
  calib.collect(values);
  calib.collect(values);
  EXPECT_EQ(calib.histogram().total(), 2 * values.size());
  EXPECT_EQ(calib.histogram().num_bins(), 2048);
}

// torch.histc's bin of |v| in float, computed here value by value (the calibrator vectorises and splits the
// batch over threads): the histogram must hold exactly these counts.
std::vector<uint64_t> reference_counts(const std::vector<float>& values, int64_t num_bins, float range) {
  std::vector<uint64_t> counts(static_cast<size_t>(num_bins), 0);
  const float n = static_cast<float>(num_bins);
  for (float v : values) {
    const float position = std::fabs(v) * n / range;
    const int64_t k = position >= n - 1.0f ? num_bins - 1 : static_cast<int64_t>(position);
    ++counts[static_cast<size_t>(k)];
  }
  return counts;
}

std::vector<float> silu_like(size_t n, float scale, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, scale);
  std::vector<float> values(n);
  for (float& v : values) {
    const float x = normal(rng);
    v = x / (1.0f + std::exp(-x));
  }
  return values;
}

TEST(HistogramCollect, LargeBatchesGetExactlyTheTorchHistcBins) {
  // Sizes that are not multiples of the internal chunk or of the thread split.
  const std::vector<float> first = silu_like(300001, 2.0f, 5);
  std::vector<float> second = silu_like(200003, 1.5f, 6);  // within the first range: binned in one pass
  second[777] = -0.0f;
  std::vector<float> third = silu_like(250007, 4.0f, 7);  // extends the range: binned again after growth
  HistogramCalibrator calib(options());
  calib.collect(first);
  const Histogram h1 = calib.histogram();
  ASSERT_EQ(h1.num_bins(), 2048);
  EXPECT_EQ(h1.counts, reference_counts(first, h1.num_bins(), h1.range));

  calib.collect(second);
  ASSERT_EQ(calib.histogram().num_bins(), 2048);
  std::vector<uint64_t> expected = h1.counts;
  const auto second_counts = reference_counts(second, h1.num_bins(), h1.range);
  for (size_t k = 0; k < expected.size(); ++k)
    expected[k] += second_counts[k];
  EXPECT_EQ(calib.histogram().counts, expected);

  calib.collect(third);
  const Histogram& h3 = calib.histogram();
  ASSERT_GT(h3.num_bins(), 2048);
  expected.resize(static_cast<size_t>(h3.num_bins()), 0);
  const auto third_counts = reference_counts(third, h3.num_bins(), h3.range);
  for (size_t k = 0; k < expected.size(); ++k)
    expected[k] += third_counts[k];
  EXPECT_EQ(h3.counts, expected);
  float max_abs = 0.0f;
  for (const std::vector<float>& batch : {first, second, third})
    for (float v : batch)
      max_abs = std::max(max_abs, std::fabs(v));
  EXPECT_EQ(calib.compute_amax(CalibrationMethod::kMax).amax, max_abs);
}

TEST(HistogramCollect, ThreadCountDoesNotChangeTheResult) {
  std::vector<std::vector<float>> batches{std::vector<float>(150000, 0.0f), silu_like(400009, 1.0f, 8),
                                          silu_like(131072, 3.0f, 9), silu_like(1000, 2.0f, 10),
                                          silu_like(262145, 0.5f, 11)};
  auto run = [&](int threads) {
    CalibratorOptions o = options();
    o.threads = threads;
    HistogramCalibrator calib(o);
    for (const auto& batch : batches)
      calib.collect(batch);
    return std::make_pair(calib.histogram(), calib.compute_amax(CalibrationMethod::kMax).amax);
  };
  const auto [serial, serial_max] = run(1);
  ASSERT_GT(serial.num_bins(), 2048);
  EXPECT_EQ(serial.total(), 150000u + 400009u + 131072u + 1000u + 262145u);
  for (int threads : {0, 2, 3, 7}) {
    const auto [parallel, parallel_max] = run(threads);
    EXPECT_EQ(parallel.counts, serial.counts) << threads << " threads";
    EXPECT_EQ(parallel.range, serial.range) << threads << " threads";
    EXPECT_EQ(parallel.bin_width, serial.bin_width) << threads << " threads";
    EXPECT_EQ(parallel_max, serial_max) << threads << " threads";
  }
}

TEST(HistogramCollect, ARejectedLargeBatchRecordsNothing) {
  CalibratorOptions o = options(64);
  o.max_bins = 256;
  o.threads = 2;
  HistogramCalibrator calib(o);
  const std::vector<float> good = silu_like(200000, 1.0f, 12);
  calib.collect(good);
  const Histogram before = calib.histogram();
  const float max_before = calib.compute_amax(CalibrationMethod::kMax).amax;

  std::vector<float> bad = silu_like(300000, 0.5f, 13);  // inside the range: the one-pass path
  bad[299990] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_THROW(calib.collect(bad), Error);
  std::vector<float> too_wide = silu_like(300000, 0.5f, 14);
  too_wide[5] = 1000.0f * max_before;  // would need far more than max_bins bins
  EXPECT_THROW(calib.collect(too_wide), Error);

  EXPECT_EQ(calib.histogram().counts, before.counts);
  EXPECT_EQ(calib.histogram().range, before.range);
  EXPECT_EQ(calib.num_values(), good.size());
  EXPECT_EQ(calib.compute_amax(CalibrationMethod::kMax).amax, max_before);
}

}  // namespace
}  // namespace partq
