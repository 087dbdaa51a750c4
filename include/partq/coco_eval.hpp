// COCO bbox evaluation that reproduces pycocotools' COCOeval (iouType='bbox': evaluate + accumulate +
// summarize) with its default parameters: IoU thresholds .50:.05:.95, 101 recall points, maxDets 1/10/100,
// area ranges all/small/medium/large. See docs/coco-eval.md for what was checked against pycocotools.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "partq/coco.hpp"

namespace partq {

struct CocoEvalOptions {
  // Restrict evaluation to these image ids (pycocotools params.imgIds); empty = every GT image.
  std::vector<int64_t> image_ids;
  // Also fill CocoEvalResult::per_category (AP@[.5:.95], area all, maxDets 100, per GT category).
  bool per_category = true;
};

struct CocoCategoryAp {
  int64_t category_id = 0;
  std::string name;
  double ap = -1;    // AP@[.5:.95] area=all maxDets=100; -1 when the category has no GT in the images
  double ap50 = -1;  // AP@.5 area=all maxDets=100
};

struct CocoEvalResult {
  // pycocotools COCOeval.stats order: AP, AP50, AP75, AP small/medium/large, AR@1, AR@10, AR@100,
  // AR small/medium/large. -1 where pycocotools gives -1 (no GT in that setting).
  std::array<double, 12> stats{};
  std::vector<CocoCategoryAp> per_category;  // in ascending category id order
  int64_t num_images = 0;
  int64_t num_detections = 0;  // detections given (before per-image maxDets truncation)
};

// Evaluates detections against ground truth. Detection's float fields are widened to double through their
// shortest decimal text, i.e. to exactly the float64 pycocotools reads from a file save_coco_detections
// wrote (and, for results files with up to 7 significant digits, the number in that file). Throws
// partq::Error when a detection names an image id that is not in gt (pycocotools' loadRes asserts that).
// Detections of categories absent from gt are ignored, as in pycocotools (they are loaded but never
// evaluated).
CocoEvalResult evaluate_coco(const CocoDataset& gt, const std::vector<Detection>& detections,
                             const CocoEvalOptions& options = {});

// The 12 lines pycocotools' summarize() prints, each ending in '\n', e.g.
// " Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = 0.269".
std::string format_coco_summary(const CocoEvalResult& result);

}  // namespace partq
