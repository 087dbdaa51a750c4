// Ultralytics non_max_suppression (yolov5 utils/general.py; ultralytics/utils/ops.py for YOLOv8), step for
// step: objectness pre-filter, score = obj * cls, multi-label candidates, max_nms, the class-offset trick
// (boxes + class * 7680) so one class-blind NMS is class-aware, then max_det. The boxes + scores heads
// (DAMO-YOLO, PP-YOLOE) go through the same steps with corner boxes and no objectness.
#include "postprocess.hpp"

#include <algorithm>

namespace partq::detail {
namespace {

constexpr float kMaxWh = 7680.0f;  // Ultralytics max_wh: class offset for the offset trick
constexpr size_t kMaxNms = 30000;  // Ultralytics max_nms: boxes kept for NMS after sorting

// The shared body: `box(a)` gives prediction a's box as corners, `obj(a)` its objectness (has_obj only) and
// `cls(a, c)` its class-c probability.
template <class BoxAt, class ObjAt, class ClsAt>
std::vector<Candidate> nms_core(int64_t num_preds, int num_classes, bool has_obj, BoxAt box_at, ObjAt obj_at,
                                ClsAt cls_at, const NmsOptions& options) {
  const float conf = options.conf_threshold;
  const bool multi_label = options.multi_label && num_classes > 1;

  std::vector<Candidate> candidates;
  std::vector<float> class_scores(num_classes);
  for (int64_t a = 0; a < num_preds; ++a) {
    const float obj = has_obj ? obj_at(a) : 1.0f;
    if (has_obj && !(obj > conf)) continue;  // xc = x[..., 4] > conf_thres
    float best = -1;
    int best_class = 0;
    for (int c = 0; c < num_classes; ++c) {
      class_scores[c] = has_obj ? cls_at(a, c) * obj : cls_at(a, c);       // x[:, 5:] *= x[:, 4:5]
      if (class_scores[c] > best) best = class_scores[c], best_class = c;  // first maximum, as torch.max
    }
    if (!has_obj && !(best > conf)) continue;  // YOLOv8: xc = amax(cls) > conf_thres
    const BoxXyxy box = box_at(a);
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

}  // namespace

std::vector<Candidate> ultralytics_nms(const float* image, int64_t num_preds, int num_classes,
                                       bool channels_last, bool has_obj, const NmsOptions& options) {
  const int box_cols = has_obj ? 5 : 4;
  const int64_t cols = box_cols + num_classes;
  auto at = [&](int64_t a, int k) { return channels_last ? image[a * cols + k] : image[k * num_preds + a]; };
  auto box = [&](int64_t a) {
    const float cx = at(a, 0), cy = at(a, 1), w = at(a, 2), h = at(a, 3);
    return BoxXyxy{cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2};  // xywh2xyxy
  };
  auto obj = [&](int64_t a) { return at(a, 4); };
  auto cls = [&](int64_t a, int c) { return at(a, box_cols + c); };
  return nms_core(num_preds, num_classes, has_obj, box, obj, cls, options);
}

std::vector<Candidate> boxes_scores_nms(const float* boxes, const float* scores, int64_t num_preds,
                                        int num_classes, bool scores_channels_last,
                                        const NmsOptions& options) {
  auto box = [&](int64_t a) {
    const float* b = boxes + a * 4;
    return BoxXyxy{b[0], b[1], b[2], b[3]};
  };
  auto obj = [](int64_t) { return 1.0f; };
  auto cls = [&](int64_t a, int c) {
    return scores_channels_last ? scores[a * num_classes + c] : scores[c * num_preds + a];
  };
  return nms_core(num_preds, num_classes, /*has_obj=*/false, box, obj, cls, options);
}

}  // namespace partq::detail
