// The post-processing of NMS-free heads: one exported end to end (YOLOv10, YOLO26) or a DETR exported with
// its post-processor (D-FINE), whose graph has already chosen its K best (box, class) pairs, and a DETR head
// (RT-DETR), whose queries are one box each. What is left is the confidence filter and max_det cap.
#include <partq/error.hpp>

#include <algorithm>
#include <cmath>

#include "postprocess.hpp"

namespace partq::detail {

namespace {

// Highest score first, ties in row order; at most max_det (0 = no cap).
void sort_and_cap(std::vector<Candidate>& kept, int max_det) {
  std::stable_sort(kept.begin(), kept.end(),
                   [](const Candidate& a, const Candidate& b) { return a.score > b.score; });
  if (max_det > 0 && kept.size() > static_cast<size_t>(max_det)) kept.resize(max_det);
}

// A class column read as a class index; Error naming the output and row when it is not one.
int class_index(float cls, int num_classes, const char* output, int64_t row) {
  if (!(cls >= 0 && cls < static_cast<float>(num_classes)) || cls != std::floor(cls))
    fail("{} output row {}: class {} is not a class index of the model's {} classes", output, row, cls,
         num_classes);
  return static_cast<int>(cls);
}

}  // namespace

std::vector<Candidate> end2end_select(const float* image, int64_t num_preds, int num_classes,
                                      const NmsOptions& options) {
  std::vector<Candidate> kept;
  for (int64_t k = 0; k < num_preds; ++k) {
    const float* row = image + k * 6;
    if (!(row[4] > options.conf_threshold)) continue;
    kept.push_back({.box = {row[0], row[1], row[2], row[3]},
                    .score = row[4],
                    .cls = class_index(row[5], num_classes, "end2end", k)});
  }
  // The graph's TopK already sorts by score; sort anyway, for a model that does not.
  sort_and_cap(kept, options.max_det);
  return kept;
}

std::vector<Candidate> detr_select(const float* image, int64_t num_queries, int num_classes, int input_w,
                                   int input_h, const NmsOptions& options) {
  std::vector<Candidate> kept;
  const int64_t stride = 4 + num_classes;
  const auto w = static_cast<float>(input_w), h = static_cast<float>(input_h);
  for (int64_t q = 0; q < num_queries; ++q) {
    const float* row = image + q * stride;
    // torch.max(-1): the first of equal maxima.
    const float* best = std::max_element(row + 4, row + stride);
    if (!(*best > options.conf_threshold)) continue;
    const float cx = row[0] * w, cy = row[1] * h, bw = row[2] * w, bh = row[3] * h;
    kept.push_back({.box = {cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2},
                    .score = *best,
                    .cls = static_cast<int>(best - (row + 4))});
  }
  sort_and_cap(kept, options.max_det);
  return kept;
}

std::vector<Candidate> labels_boxes_scores_select(const float* labels, const float* boxes,
                                                  const float* scores, int64_t num_rows, int num_classes,
                                                  const NmsOptions& options) {
  std::vector<Candidate> kept;
  for (int64_t k = 0; k < num_rows; ++k) {
    if (!(scores[k] > options.conf_threshold)) continue;
    const float* box = boxes + 4 * k;
    kept.push_back({.box = {box[0], box[1], box[2], box[3]},
                    .score = scores[k],
                    .cls = class_index(labels[k], num_classes, "labels", k)});
  }
  sort_and_cap(kept, options.max_det);
  return kept;
}

}  // namespace partq::detail
