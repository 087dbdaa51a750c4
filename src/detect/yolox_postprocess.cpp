// YOLOX with decode_in_inference=False: the grid decode of YOLOXHead.decode_outputs
// (cx = (tx + gx) * s, w = exp(tw) * s over the stride 8, 16, 32 grids, rows gy * W + gx within a level),
// then yolox/utils/boxes.py postprocess: best class only, score = obj * class_conf >= conf (note >=, where
// Ultralytics uses >), class-aware batched NMS, no max_det cap unless the options ask for one.
#include <cmath>

#include "postprocess.hpp"

namespace partq::detail {

int64_t grid_cells(int input_w, int input_h) {
  if (input_w <= 0 || input_h <= 0 || input_w % 32 != 0 || input_h % 32 != 0) return 0;
  int64_t cells = 0;
  for (int stride : {8, 16, 32})
    cells += static_cast<int64_t>(input_w / stride) * (input_h / stride);
  return cells;
}

std::vector<Candidate> yolox_postprocess(const float* image, int64_t num_preds, int num_classes, int input_w,
                                         int input_h, const NmsOptions& options) {
  const int64_t cols = 5 + num_classes;
  std::vector<Candidate> candidates;
  int64_t row = 0;
  for (int stride : {8, 16, 32}) {
    const int grid_w = input_w / stride, grid_h = input_h / stride;
    const float s = static_cast<float>(stride);
    for (int gy = 0; gy < grid_h; ++gy) {
      for (int gx = 0; gx < grid_w; ++gx, ++row) {
        if (row >= num_preds) return {};  // shape was checked by the caller; never reached
        const float* p = image + row * cols;
        float class_conf = p[5];
        int class_pred = 0;
        for (int c = 1; c < num_classes; ++c)
          if (p[5 + c] > class_conf) class_conf = p[5 + c], class_pred = c;
        const float score = p[4] * class_conf;
        if (!(score >= options.conf_threshold)) continue;
        const float cx = (p[0] + static_cast<float>(gx)) * s, cy = (p[1] + static_cast<float>(gy)) * s;
        const float w = std::exp(p[2]) * s, h = std::exp(p[3]) * s;
        candidates.push_back({{cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2}, score, class_pred});
      }
    }
  }
  std::vector<BoxXyxy> boxes;
  std::vector<float> scores;
  std::vector<int> classes;
  for (const Candidate& c : candidates) {
    boxes.push_back(c.box);
    scores.push_back(c.score);
    classes.push_back(options.class_agnostic ? 0 : c.cls);
  }
  return take_kept(candidates, batched_nms(boxes, scores, classes, options.iou_threshold), options.max_det);
}

}  // namespace partq::detail
