#include "noise.hpp"

#include <partq/error.hpp>

#include <algorithm>
#include <cmath>
#include <random>

namespace partq::partial {

std::vector<std::vector<int64_t>> half_samples(const std::vector<int64_t>& ids, int count, uint64_t seed) {
  std::vector<std::vector<int64_t>> halves;
  std::mt19937_64 rng(seed);
  std::vector<int64_t> shuffled = ids;
  for (int i = 0; i < count; ++i) {
    std::shuffle(shuffled.begin(), shuffled.end(), rng);
    halves.emplace_back(shuffled.begin(), shuffled.begin() + static_cast<std::ptrdiff_t>(ids.size() / 2));
  }
  return halves;
}

HalfSampleNoise::HalfSampleNoise(const Scorer& scorer, std::vector<std::vector<int64_t>> halves,
                                 const std::vector<Detection>& reference)
    : scorer_(scorer), halves_(std::move(halves)) {
  if (!scorer.scores_detections())
    fail("the noise of a selection mAP needs the map or pseudo-map metric, not {}",
         metric_name(scorer.metric()));
  if (halves_.size() < 2) fail("the noise of a selection mAP needs at least 2 half-samples");
  for (const auto& half : halves_)
    if (half.empty()) fail("the noise of a selection mAP needs at least 2 selection images");
  for (const auto& half : halves_)
    reference_maps_.push_back(scorer_.map_on(reference, half));
}

double HalfSampleNoise::standard_error(const std::vector<Detection>& candidate) const {
  std::vector<double> differences;
  for (size_t i = 0; i < halves_.size(); ++i)
    differences.push_back(scorer_.map_on(candidate, halves_[i]) - reference_maps_[i]);
  double mean = 0;
  for (double d : differences)
    mean += d;
  mean /= static_cast<double>(differences.size());
  double sum_sq = 0;
  for (double d : differences)
    sum_sq += (d - mean) * (d - mean);
  return std::sqrt(sum_sq / static_cast<double>(differences.size() - 1));
}

}  // namespace partq::partial
