// Entropy (KL) calibration against a brute-force reference written from pytorch-quantization's numpy code
// (digitize over a linspace, Counter of non-empty bins, scipy.stats.entropy after normalising, last argmin),
// independently of the implementation's integer level boundaries and precomputed logarithms.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <random>
#include <vector>

#include "partq/calibration.hpp"
#include "partq/error.hpp"

namespace partq {
namespace {

double reference_divergence(const std::vector<double>& bins, int64_t i) {
  constexpr int kLevels = 128;
  std::vector<double> space(kLevels + 1);  // np.linspace(0, i, 129)
  for (int k = 0; k <= kLevels; ++k)
    space[k] = static_cast<double>(k) * (static_cast<double>(i) / kLevels);
  space[kLevels] = static_cast<double>(i);
  std::vector<int> digitized(i);
  for (int64_t j = 0; j < i; ++j) {
    // np.digitize(j, space) - 1: the index k with space[k] <= j < space[k + 1].
    digitized[j] = static_cast<int>(std::upper_bound(space.begin(), space.end(), static_cast<double>(j)) -
                                    space.begin()) -
                   1;
    if (bins[j] == 0) digitized[j] = -1;
  }
  std::vector<double> level_counts(kLevels, 0.0);
  std::map<int, int> counter;
  for (int64_t j = 0; j < i; ++j) {
    if (digitized[j] == -1) continue;
    level_counts[digitized[j]] += bins[j];
    ++counter[digitized[j]];
  }
  for (auto [level, count] : counter)
    level_counts[level] /= count;
  std::vector<double> q(i, 0.0), p(bins.begin(), bins.begin() + i);
  for (int64_t j = 0; j < i; ++j) {
    if (digitized[j] != -1) q[j] = level_counts[digitized[j]];
  }
  for (size_t j = i; j < bins.size(); ++j)
    p[i - 1] += bins[j];
  double p_sum = 0, q_sum = 0;
  for (int64_t j = 0; j < i; ++j) {
    p_sum += p[j];
    q_sum += q[j];
  }
  if (q_sum == 0) return std::numeric_limits<double>::infinity();  // partq's documented choice
  double kl = 0;
  for (int64_t j = 0; j < i; ++j) {
    const double pj = p[j] / p_sum, qj = q[j] / q_sum;
    if (pj == 0) continue;
    if (qj == 0) return std::numeric_limits<double>::infinity();
    kl += pj * std::log(pj / qj);
  }
  return kl;
}

// The bin index i (amax = edges[i]) the reference chooses.
int64_t reference_entropy_bin(const Histogram& hist, int64_t start_bin = 128) {
  std::vector<double> bins(hist.counts.begin(), hist.counts.end());
  bins[0] = bins[1];
  std::vector<double> divergences;
  for (int64_t i = start_bin; i <= static_cast<int64_t>(bins.size()); ++i) {
    divergences.push_back(reference_divergence(bins, i));
  }
  // last_argmin = len - 1 - argmin(divergences[::-1])
  size_t best = divergences.size() - 1;
  for (size_t r = divergences.size(); r-- > 0;) {
    if (divergences[r] < divergences[best]) best = r;
  }
  return static_cast<int64_t>(best) + start_bin;
}

Histogram unit_width(std::vector<uint64_t> counts) {
  Histogram h;
  h.bin_width = 1.0f;
  h.range = static_cast<float>(counts.size());
  h.counts = std::move(counts);
  return h;
}

TEST(AmaxEntropy, MatchesBruteForceOnANoisyDecayingHistogram) {
  std::mt19937 rng(5);
  std::poisson_distribution<int> noise(3);
  std::vector<uint64_t> counts(2048);
  for (size_t k = 0; k < counts.size(); ++k) {
    counts[k] = static_cast<uint64_t>(20000.0 * std::exp(-static_cast<double>(k) / 150.0)) + noise(rng);
    if (k % 37 == 5 || (k > 900 && k % 3 != 0)) counts[k] = 0;  // empty bins inside levels
  }
  const Histogram h = unit_width(counts);
  const auto result = amax_entropy(h, 128, 1, "t");
  ASSERT_TRUE(result.ok()) << result.message;
  EXPECT_EQ(result.amax, static_cast<float>(reference_entropy_bin(h)));
}

TEST(AmaxEntropy, MatchesBruteForceOnCollectedGaussianWithOutliers) {
  std::mt19937 rng(9);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  HistogramCalibrator calib({.tensor_name = "act", .method = CalibrationMethod::kEntropy});
  for (int batch = 0; batch < 3; ++batch) {
    std::vector<float> values(100000);
    for (float& v : values)
      v = normal(rng);
    values[0] = 8.0f + static_cast<float>(batch);  // the range grows on every batch
    calib.collect(values);
  }
  const Histogram& h = calib.histogram();
  ASSERT_GT(h.num_bins(), 2048);
  const auto result = calib.compute_amax();
  ASSERT_TRUE(result.ok()) << result.message;
  const int64_t bin = reference_entropy_bin(h);
  EXPECT_EQ(result.amax, static_cast<float>(static_cast<double>(h.bin_width) * static_cast<double>(bin)));
  EXPECT_LT(result.amax, 8.0f);  // KL clips the sparse tail
}

TEST(AmaxEntropy, MatchesBruteForceOnSmallHistogramsWithIsolatedSpikes) {
  std::mt19937 rng(17);
  std::uniform_int_distribution<int> count(0, 50);
  for (int trial = 0; trial < 5; ++trial) {
    std::vector<uint64_t> counts(300 + 40 * trial);
    for (size_t k = 0; k < counts.size() / 2; ++k)
      counts[k] = 200 + count(rng);
    counts[counts.size() - 1 - 7 * trial] = 3;  // an isolated outlier bin
    counts[counts.size() - 1] += 1;
    const Histogram h = unit_width(counts);
    EXPECT_EQ(amax_entropy(h, 128, 1, "t").amax, static_cast<float>(reference_entropy_bin(h))) << trial;
  }
}

TEST(AmaxEntropy, BinZeroIsIgnoredLikeTheZerosOfAReLU) {
  // pytorch-quantization overwrites bin 0 with bin 1's count, so a spike of exact zeros changes nothing.
  std::mt19937 rng(23);
  std::poisson_distribution<int> noise(40);
  std::vector<uint64_t> counts(2048);
  for (size_t k = 0; k < counts.size(); ++k) {
    counts[k] = static_cast<uint64_t>(5000.0 * std::exp(-static_cast<double>(k) / 300.0)) + noise(rng) / 8;
  }
  const float plain = amax_entropy(unit_width(counts), 128, 1, "t").amax;
  EXPECT_EQ(plain, static_cast<float>(reference_entropy_bin(unit_width(counts))));
  counts[0] = 50'000'000;
  EXPECT_EQ(amax_entropy(unit_width(counts), 128, 1, "t").amax, plain);
}

TEST(AmaxEntropy, LastMinimumWinsOnExactTies) {
  // 128 equal bins then 128 empty ones: every candidate i in [128, 256] has no outliers and q == p, so all
  // divergences are exactly 0. pytorch-quantization takes the LAST minimum: i = 256.
  std::vector<uint64_t> counts(256, 0);
  for (int k = 0; k < 128; ++k)
    counts[k] = 40;
  const Histogram h = unit_width(counts);
  EXPECT_EQ(reference_entropy_bin(h), 256);
  EXPECT_EQ(amax_entropy(h, 128, 1, "t").amax, 256.0f);
}

TEST(AmaxEntropy, StrideVisitsEveryStrideThCandidate) {
  std::vector<uint64_t> counts(512, 0);
  for (int k = 0; k < 512; ++k)
    counts[k] = static_cast<uint64_t>(1000.0 * std::exp(-k / 40.0)) + 1;
  const Histogram h = unit_width(counts);
  const float amax = amax_entropy(h, 128, 5, "t").amax;
  EXPECT_EQ(static_cast<int64_t>(amax - 128.0f) % 5, 0);
}

TEST(AmaxEntropy, TooFewBinsIsReported) {
  const Histogram h = unit_width(std::vector<uint64_t>(100, 1));
  const auto result = amax_entropy(h, 128, 1, "small");
  EXPECT_EQ(result.issue, CalibrationIssue::kTooFewBins);
  EXPECT_NE(result.message.find("small"), std::string::npos);
  EXPECT_THROW(amax_entropy(h, 0, 1, "t"), Error);
}

}  // namespace
}  // namespace partq
