// Per-image post-processing of each head family, in model-input pixels (internal to partq_detect).
#pragma once

#include <partq/detect.hpp>

#include <cstdint>
#include <vector>

namespace partq::detail {

struct Candidate {
  BoxXyxy box;  // model-input pixels
  float score = 0;
  int cls = 0;
};

// One image of an Ultralytics head, exactly as utils/general.py non_max_suppression: `image` points at the
// image's output; channels_last = [A, 4(+1)+C] (YOLOv5), else [4+C, A] (YOLOv8); has_obj = YOLOv5's
// objectness column.
std::vector<Candidate> ultralytics_nms(const float* image, int64_t num_preds, int num_classes,
                                       bool channels_last, bool has_obj, const NmsOptions& options);

// One image of a boxes + scores head: `boxes` [A, 4] corners, `scores` [A, C] (scores_channels_last) or
// [C, A]; score = class probability, otherwise as ultralytics_nms without objectness.
std::vector<Candidate> boxes_scores_nms(const float* boxes, const float* scores, int64_t num_preds,
                                        int num_classes, bool scores_channels_last,
                                        const NmsOptions& options);

// One image of a YOLOX head with a raw grid output [A, 5+C] (A = the stride 8/16/32 grid of the input): the
// decode of YOLOXHead.decode_outputs, then yolox/utils/boxes.py postprocess.
std::vector<Candidate> yolox_postprocess(const float* image, int64_t num_preds, int num_classes, int input_w,
                                         int input_h, const NmsOptions& options);

// One image of an end-to-end head [K, 6] (x1 y1 x2 y2 score class, already selected by the graph): the rows
// with score > conf, highest first (ties: lower row first), at most max_det. Error for a class column that is
// not an index in [0, num_classes).
std::vector<Candidate> end2end_select(const float* image, int64_t num_preds, int num_classes,
                                      const NmsOptions& options);

// One image of a DETR head [Q, 4+C] (cx cy w h as fractions of the input, class probabilities), as
// Ultralytics' RTDETRValidator.postprocess: boxes scaled to input pixels, each query's best class, the
// queries with score > conf, highest first (ties: lower query first), at most max_det.
std::vector<Candidate> detr_select(const float* image, int64_t num_queries, int num_classes, int input_w,
                                   int input_h, const NmsOptions& options);

// One image of a post-processed DETR: labels [K], boxes [K, 4] (x1 y1 x2 y2, input pixels), scores [K]; the
// rows with score > conf, highest first (ties: lower row first), at most max_det. Error for a label that is
// not an index in [0, num_classes).
std::vector<Candidate> labels_boxes_scores_select(const float* labels, const float* boxes,
                                                  const float* scores, int64_t num_rows, int num_classes,
                                                  const NmsOptions& options);

// Number of cells in the stride 8, 16 and 32 grids of an input (what an anchor-free head predicts per
// image); 0 when a side is not a multiple of 32.
int64_t grid_cells(int input_w, int input_h);

// The candidates NMS kept (indices by descending score), at most max_det of them (0 = no cap).
std::vector<Candidate> take_kept(const std::vector<Candidate>& candidates, std::vector<size_t> keep,
                                 int max_det);

}  // namespace partq::detail
