// Shared between the evaluator (evaluate + accumulate) and the summary (summarize + printing): pycocotools'
// default bbox parameters and its accumulated precision / recall arrays, laid out as numpy lays them out.
#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <vector>

namespace partq::cocoeval {

inline constexpr size_t kNumIouThresholds = 10;
inline constexpr size_t kNumRecallThresholds = 101;
inline constexpr std::array<int, 3> kMaxDets = {1, 10, 100};

struct AreaRange {
  double min_area;
  double max_area;
  const char* label;  // as pycocotools' areaRngLbl
};
inline constexpr std::array<AreaRange, 4> kAreaRanges = {{{0.0, 1e10, "all"},
                                                          {0.0, 32.0 * 32.0, "small"},
                                                          {32.0 * 32.0, 96.0 * 96.0, "medium"},
                                                          {96.0 * 96.0, 1e10, "large"}}};

// np.linspace(.5, 0.95, 10) and np.linspace(.0, 1.00, 101), computed the way numpy computes them.
const std::array<double, kNumIouThresholds>& iou_thresholds();
const std::array<double, kNumRecallThresholds>& recall_thresholds();

// COCOeval.eval['precision'] ([T][R][K][A][M]) and ['recall'] ([T][K][A][M]), -1 where undefined.
struct Accumulated {
  size_t num_categories = 0;
  std::vector<double> precision;
  std::vector<double> recall;

  size_t precision_index(size_t t, size_t r, size_t k, size_t a, size_t m) const {
    return (((t * kNumRecallThresholds + r) * num_categories + k) * kAreaRanges.size() + a) *
               kMaxDets.size() +
           m;
  }
  size_t recall_index(size_t t, size_t k, size_t a, size_t m) const {
    return ((t * num_categories + k) * kAreaRanges.size() + a) * kMaxDets.size() + m;
  }
};

// np.mean(values[values > -1]) with numpy's pairwise summation; -1 when no value is > -1.
double numpy_mean_of_defined(const std::vector<double>& values);

// COCOeval.summarize() for bbox: the 12 stats.
std::array<double, 12> summarize(const Accumulated& accumulated);

}  // namespace partq::cocoeval
