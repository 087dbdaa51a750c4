// The selection-set noise estimate of the partial-quantization search, on a labelled set built in code.
#include <partq/detect.hpp>
#include <partq/error.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <numeric>
#include <set>

#include "../../src/partial/noise.hpp"

namespace partq::partial {
namespace {

// 40 images of 100x100 pixels, each with one 40x40 box of category 1 at a position of its own.
SampleSet labelled_set() {
  SampleSet set;
  CocoDataset truth;
  truth.categories.push_back({.id = 1, .name = "person", .supercategory = {}});
  for (int64_t i = 1; i <= 40; ++i) {
    truth.images.push_back({.id = i, .file_name = std::to_string(i) + ".jpg", .width = 100, .height = 100});
    const double x = static_cast<double>(i % 7) * 8;
    truth.annotations.push_back(
        {.id = i, .image_id = i, .category_id = 1, .bbox = {x, 10, 40, 40}, .area = 1600, .iscrowd = false});
    set.image_ids.push_back(i);
  }
  set.labels = truth;
  return set;
}

// A detector that finds every box, moved right by `shift` pixels on the images `shifted` selects.
std::vector<Detection> detections(const SampleSet& set, float shift,
                                  const std::function<bool(int64_t)>& shifted) {
  std::vector<Detection> out;
  for (const CocoAnnotation& a : set.labels->annotations) {
    const float dx = shifted(a.image_id) ? shift : 0.0f;
    out.push_back({.image_id = a.image_id,
                   .category_id = 1,
                   .bbox = {static_cast<float>(a.bbox[0]) + dx, 10, 40, 40},
                   .score = 0.9f});
  }
  return out;
}

TEST(NoiseTest, HalfSamplesAreSeededHalvesWithoutRepeats) {
  std::vector<int64_t> ids(41);
  std::iota(ids.begin(), ids.end(), 100);
  const auto halves = half_samples(ids, 8, 3);
  ASSERT_EQ(halves.size(), 8u);
  std::set<std::vector<int64_t>> distinct;
  for (const auto& half : halves) {
    EXPECT_EQ(half.size(), 20u);
    EXPECT_EQ(std::set<int64_t>(half.begin(), half.end()).size(), half.size());
    for (int64_t id : half)
      EXPECT_TRUE(id >= 100 && id <= 140);
    distinct.insert(half);
  }
  EXPECT_GT(distinct.size(), 1u);
  EXPECT_EQ(half_samples(ids, 8, 3), halves);
  EXPECT_NE(half_samples(ids, 8, 4), halves);
}

TEST(NoiseTest, StandardErrorIsZeroForEqualDetectionsAndGrowsWithImageToImageSpread) {
  const SampleSet set = labelled_set();
  const Scorer scorer(Metric::kMap, set, preset_by_name("yolox"));
  const auto halves = half_samples(set.image_ids, 32, 0);
  const auto all = [](int64_t) { return true; };
  const auto reference = detections(set, 0, all);
  const HalfSampleNoise noise(scorer, halves, reference);
  EXPECT_DOUBLE_EQ(noise.standard_error(reference), 0.0);
  // A shift on every image lowers mAP by the same amount on every half: a difference, but no spread.
  EXPECT_NEAR(noise.standard_error(detections(set, 6, all)), 0.0, 1e-12);
  // The same shift on a quarter of the images: which images a half holds now decides the difference.
  const auto quarter = [](int64_t id) { return id % 4 == 0; };
  const double few = noise.standard_error(detections(set, 6, quarter));
  EXPECT_GT(few, 0.005);
  // A larger shift on those images spreads the difference further.
  EXPECT_GT(noise.standard_error(detections(set, 14, quarter)), few);
}

TEST(NoiseTest, NeedsADetectionMetricAndTwoHalves) {
  const SampleSet set = labelled_set();
  const auto reference = detections(set, 0, [](int64_t) { return true; });
  const Scorer sqnr(Metric::kSqnr, set, preset_by_name("yolox"));
  EXPECT_THROW(HalfSampleNoise(sqnr, half_samples(set.image_ids, 8, 0), reference), Error);
  const Scorer map(Metric::kMap, set, preset_by_name("yolox"));
  EXPECT_THROW(HalfSampleNoise(map, half_samples(set.image_ids, 1, 0), reference), Error);
  EXPECT_THROW(HalfSampleNoise(map, half_samples({7}, 8, 0), reference), Error);
}

}  // namespace
}  // namespace partq::partial
