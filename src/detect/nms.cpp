// Non-maximum suppression with torchvision's semantics (the NMS both Ultralytics and YOLOX call), in float.
#include <partq/detect.hpp>

#include "postprocess.hpp"

#include <algorithm>
#include <numeric>

namespace partq {

float box_iou(const BoxXyxy& a, const BoxXyxy& b) {
  const float w = std::max(0.0f, std::min(a.x2, b.x2) - std::max(a.x1, b.x1));
  const float h = std::max(0.0f, std::min(a.y2, b.y2) - std::max(a.y1, b.y1));
  const float inter = w * h;
  const float area_a = (a.x2 - a.x1) * (a.y2 - a.y1);
  const float area_b = (b.x2 - b.x1) * (b.y2 - b.y1);
  return inter / (area_a + area_b - inter);
}

std::vector<size_t> nms(std::span<const BoxXyxy> boxes, std::span<const float> scores, float iou_threshold) {
  std::vector<size_t> order(boxes.size());
  std::iota(order.begin(), order.end(), size_t{0});
  // torch sorts unstably; a stable sort makes ties deterministic (lower index first).
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scores[a] > scores[b]; });
  std::vector<char> suppressed(boxes.size(), 0);
  std::vector<size_t> keep;
  for (size_t oi = 0; oi < order.size(); ++oi) {
    const size_t i = order[oi];
    if (suppressed[i]) continue;
    keep.push_back(i);
    for (size_t oj = oi + 1; oj < order.size(); ++oj) {
      const size_t j = order[oj];
      // NaN IoU (two empty boxes) compares false: not suppressed, as in torchvision.
      if (!suppressed[j] && box_iou(boxes[i], boxes[j]) > iou_threshold) suppressed[j] = 1;
    }
  }
  return keep;
}

std::vector<size_t> batched_nms(std::span<const BoxXyxy> boxes, std::span<const float> scores,
                                std::span<const int> classes, float iou_threshold) {
  // torchvision's _batched_nms_vanilla: NMS per class, then the kept boxes (in index order) sorted by score.
  std::vector<int> ids(classes.begin(), classes.end());
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  std::vector<char> kept(boxes.size(), 0);
  for (int id : ids) {
    std::vector<size_t> members;
    for (size_t i = 0; i < boxes.size(); ++i)
      if (classes[i] == id) members.push_back(i);
    std::vector<BoxXyxy> class_boxes;
    std::vector<float> class_scores;
    for (size_t i : members) {
      class_boxes.push_back(boxes[i]);
      class_scores.push_back(scores[i]);
    }
    for (size_t k : nms(class_boxes, class_scores, iou_threshold))
      kept[members[k]] = 1;
  }
  std::vector<size_t> keep;
  for (size_t i = 0; i < boxes.size(); ++i)
    if (kept[i]) keep.push_back(i);
  std::stable_sort(keep.begin(), keep.end(), [&](size_t a, size_t b) { return scores[a] > scores[b]; });
  return keep;
}

}  // namespace partq

namespace partq::detail {

std::vector<Candidate> take_kept(const std::vector<Candidate>& candidates, std::vector<size_t> keep,
                                 int max_det) {
  if (max_det > 0 && keep.size() > static_cast<size_t>(max_det)) keep.resize(static_cast<size_t>(max_det));
  std::vector<Candidate> out;
  out.reserve(keep.size());
  for (size_t i : keep)
    out.push_back(candidates[i]);
  return out;
}

}  // namespace partq::detail
