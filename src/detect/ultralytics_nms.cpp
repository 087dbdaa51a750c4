// Ultralytics non_max_suppression (yolov5 utils/general.py; ultralytics/utils/ops.py for YOLOv8), step for
// step: objectness pre-filter, score = obj * cls, multi-label candidates, max_nms, the class-offset trick
// (boxes + class * 7680) so one class-blind NMS is class-aware, then max_det.
#include "postprocess.hpp"

#include <algorithm>

namespace partq::detail {
namespace {

constexpr float kMaxWh = 7680.0f;  // Ultralytics max_wh: class offset for the offset trick
constexpr size_t kMaxNms = 30000;  // Ultralytics max_nms: boxes kept for NMS after sorting

}  // namespace

std::vector<Candidate> ultralytics_nms(const float* image, int64_t num_preds, int num_classes,
                                       bool channels_last, bool has_obj, const NmsOptions& options) {
  const int box_cols = has_obj ? 5 : 4;
  const int64_t cols = box_cols + num_classes;
  auto at = [&](int64_t a, int k) { return channels_last ? image[a * cols + k] : image[k * num_preds + a]; };
  const float conf = options.conf_threshold;
  const bool multi_label = options.multi_label && num_classes > 1;

  std::vector<Candidate> candidates;
  std::vector<float> class_scores(num_classes);
  for (int64_t a = 0; a < num_preds; ++a) {
    const float obj = has_obj ? at(a, 4) : 1.0f;
    if (has_obj && !(obj > conf)) continue;  // xc = x[..., 4] > conf_thres
    float best = -1;
    int best_class = 0;
    for (int c = 0; c < num_classes; ++c) {
      class_scores[c] = has_obj ? at(a, box_cols + c) * obj : at(a, box_cols + c);  // x[:, 5:] *= x[:, 4:5]
      if (class_scores[c] > best) best = class_scores[c], best_class = c;  // first maximum, as torch.max
    }
    if (!has_obj && !(best > conf)) continue;  // YOLOv8: xc = amax(cls) > conf_thres
    const float cx = at(a, 0), cy = at(a, 1), w = at(a, 2), h = at(a, 3);
    const BoxXyxy box{cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2};  // xywh2xyxy
    if (multi_label) {
      for (int c = 0; c < num_classes; ++c)
        if (class_scores[c] > conf) candidates.push_back({box, class_scores[c], c});
    } else if (best > conf) {
      candidates.push_back({box, best, best_class});
    }
  }
  std::stable_sort(candidates.begin(), candidates.end(),
                   [](const Candidate& a, const Candidate& b) { return a.score > b.score; });
  if (candidates.size() > kMaxNms) candidates.resize(kMaxNms);

  std::vector<BoxXyxy> offset_boxes;
  std::vector<float> scores;
  offset_boxes.reserve(candidates.size());
  scores.reserve(candidates.size());
  for (const Candidate& c : candidates) {
    const float offset = options.class_agnostic ? 0.0f : static_cast<float>(c.cls) * kMaxWh;
    offset_boxes.push_back({c.box.x1 + offset, c.box.y1 + offset, c.box.x2 + offset, c.box.y2 + offset});
    scores.push_back(c.score);
  }
  return take_kept(candidates, nms(offset_boxes, scores, options.iou_threshold), options.max_det);
}

}  // namespace partq::detail
