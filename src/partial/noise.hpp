// How far apart two configurations' selection-set mAPs can lie by the luck of which images the set holds.
//
// A partial-quantization search compares configurations on one selection set. Past the few layers that
// really break under INT8, adding a float layer moves the selection mAP by less than this sampling noise
// (yolox_nano: removing the Q/DQ of one tensor at a time moved the train mAP by -0.6 .. +0.2 points, mean
// -0.04), so "the configuration with the best selection mAP" mostly picks noise and costs speed.
#pragma once

#include <partq/coco.hpp>

#include <cstdint>
#include <vector>

#include "scorer.hpp"

namespace partq::partial {

// `count` seeded half-samples of `ids`: each holds n/2 of them, drawn without replacement.
std::vector<std::vector<int64_t>> half_samples(const std::vector<int64_t>& ids, int count, uint64_t seed);

// The standard error of mAP(candidate) - mAP(reference) on the whole set, estimated as the standard deviation
// of that difference over half-samples. A statistic of n/2 images drawn without replacement from n varies
// around its whole-set value with variance sigma^2 (2/n - 1/n) = sigma^2 / n: the sampling variance of the
// whole-set statistic itself. Both configurations are scored on the same halves (a paired comparison).
class HalfSampleNoise {
 public:
  // Error when the scorer does not score detections, or with fewer than 2 halves or fewer than 2 images.
  HalfSampleNoise(const Scorer& scorer, std::vector<std::vector<int64_t>> halves,
                  const std::vector<Detection>& reference);
  double standard_error(const std::vector<Detection>& candidate) const;

 private:
  const Scorer& scorer_;
  std::vector<std::vector<int64_t>> halves_;
  std::vector<double> reference_maps_;  // one per half
};

}  // namespace partq::partial
