// COCOeval.summarize() for bbox and its printed lines.
#include <fmt/format.h>

#include <algorithm>
#include <cstdio>

#include "coco_eval_internal.hpp"
#include "partq/coco_eval.hpp"

namespace partq {
namespace cocoeval {
namespace {

// numpy's pairwise_sum for float64 (numpy/core/src/umath/loops_utils.h): 8-way unrolled blocks of up to
// 128 elements, halved recursively above that. np.mean sums with it, so using it keeps the last bits equal.
double pairwise_sum(const double* a, size_t n) {
  if (n < 8) {
    double res = 0.;
    for (size_t i = 0; i < n; ++i)
      res += a[i];
    return res;
  }
  if (n <= 128) {
    double r[8];
    for (size_t j = 0; j < 8; ++j)
      r[j] = a[j];
    size_t i = 8;
    for (; i < n - (n % 8); i += 8) {
      for (size_t j = 0; j < 8; ++j)
        r[j] += a[i + j];
    }
    double res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for (; i < n; ++i)
      res += a[i];
    return res;
  }
  size_t n2 = n / 2;
  n2 -= n2 % 8;
  return pairwise_sum(a, n2) + pairwise_sum(a + n2, n - n2);
}

// _summarize(ap, iouThr, areaRng, maxDets): mean of the defined entries of precision (ap) or recall.
double summarize_one(const Accumulated& acc, bool ap, double iou_threshold, size_t area,
                     size_t max_dets_index) {
  const auto& thresholds = iou_thresholds();
  std::vector<double> selected;
  for (size_t t = 0; t < kNumIouThresholds; ++t) {
    // iouThr given: t = np.where(iouThr == p.iouThrs)[0], an exact comparison.
    if (iou_threshold >= 0 && !(thresholds[t] == iou_threshold)) continue;
    if (ap) {
      for (size_t r = 0; r < kNumRecallThresholds; ++r) {
        for (size_t k = 0; k < acc.num_categories; ++k) {
          selected.push_back(acc.precision[acc.precision_index(t, r, k, area, max_dets_index)]);
        }
      }
    } else {
      for (size_t k = 0; k < acc.num_categories; ++k) {
        selected.push_back(acc.recall[acc.recall_index(t, k, area, max_dets_index)]);
      }
    }
  }
  return numpy_mean_of_defined(selected);
}

}  // namespace

double numpy_mean_of_defined(const std::vector<double>& values) {
  std::vector<double> defined;
  defined.reserve(values.size());
  for (const double v : values)
    if (v > -1) defined.push_back(v);
  if (defined.empty()) return -1;
  // np.add.reduce hands the inner loop at most one buffer (np.getbufsize() = 8192 elements) at a time and
  // adds the pairwise sums of the chunks in order; verified bit-exact against pycocotools' AP (80800 values).
  constexpr size_t kNumpyBufferSize = 8192;
  double sum = 0;
  for (size_t i = 0; i < defined.size(); i += kNumpyBufferSize) {
    sum += pairwise_sum(defined.data() + i, std::min(kNumpyBufferSize, defined.size() - i));
  }
  return sum / static_cast<double>(defined.size());
}

std::array<double, 12> summarize(const Accumulated& acc) {
  constexpr double kAllIous = -1;
  constexpr size_t all = 0, small = 1, medium = 2, large = 3;
  return {summarize_one(acc, true, kAllIous, all, 2),     summarize_one(acc, true, 0.5, all, 2),
          summarize_one(acc, true, 0.75, all, 2),         summarize_one(acc, true, kAllIous, small, 2),
          summarize_one(acc, true, kAllIous, medium, 2),  summarize_one(acc, true, kAllIous, large, 2),
          summarize_one(acc, false, kAllIous, all, 0),    summarize_one(acc, false, kAllIous, all, 1),
          summarize_one(acc, false, kAllIous, all, 2),    summarize_one(acc, false, kAllIous, small, 2),
          summarize_one(acc, false, kAllIous, medium, 2), summarize_one(acc, false, kAllIous, large, 2)};
}

}  // namespace cocoeval

std::string format_coco_summary(const CocoEvalResult& result) {
  using cocoeval::kAreaRanges;
  struct Line {
    bool ap;
    const char* iou;
    size_t area;
    int max_dets;
  };
  static constexpr Line lines[12] = {
      {true, "0.50:0.95", 0, 100},  {true, "0.50", 0, 100},       {true, "0.75", 0, 100},
      {true, "0.50:0.95", 1, 100},  {true, "0.50:0.95", 2, 100},  {true, "0.50:0.95", 3, 100},
      {false, "0.50:0.95", 0, 1},   {false, "0.50:0.95", 0, 10},  {false, "0.50:0.95", 0, 100},
      {false, "0.50:0.95", 1, 100}, {false, "0.50:0.95", 2, 100}, {false, "0.50:0.95", 3, 100}};
  std::string text;
  for (size_t i = 0; i < 12; ++i) {
    const Line& line = lines[i];
    // ' {:<18} {} @[ IoU={:<9} | area={:>6s} | maxDets={:>3d} ] = {:0.3f}'. The value goes through printf:
    // like Python it rounds the exact binary value half-to-even.
    char value[64];
    std::snprintf(value, sizeof(value), "%.3f", result.stats[i]);
    text += fmt::format(" {:<18} {} @[ IoU={:<9} | area={:>6} | maxDets={:>3} ] = {}\n",
                        line.ap ? "Average Precision" : "Average Recall", line.ap ? "(AP)" : "(AR)", line.iou,
                        kAreaRanges[line.area].label, line.max_dets, value);
  }
  return text;
}

}  // namespace partq
