// COCO ground truth, detections and the COCO-80 class list: the data exchanged between the dataset loaders
// (data), the decoders (detect), the evaluator (cocoeval) and the CLI.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace partq {

struct CocoImage {
  int64_t id = 0;
  std::string file_name;
  int width = 0;
  int height = 0;
};

struct CocoCategory {
  int64_t id = 0;
  std::string name;
  std::string supercategory;
};

struct CocoAnnotation {
  int64_t id = 0;
  int64_t image_id = 0;
  int64_t category_id = 0;
  std::array<double, 4> bbox{};  // x, y, width, height in original-image pixels
  double area = 0;               // as stored in the file (COCOeval uses it for the area ranges)
  bool iscrowd = false;
};

// Ground truth in COCO form (also what YOLO-txt labels are converted into).
struct CocoDataset {
  std::vector<CocoImage> images;
  std::vector<CocoCategory> categories;
  std::vector<CocoAnnotation> annotations;
};

// One detection in COCO results form.
struct Detection {
  int64_t image_id = 0;
  int64_t category_id = 0;
  std::array<float, 4> bbox{};  // x, y, width, height in original-image pixels
  float score = 0;
};

// The 80 COCO category ids (1..90 with gaps) indexed by the contiguous class index 0..79 that YOLO models
// output, and their names.
const std::array<int64_t, 80>& coco80_category_ids();
const std::array<const char*, 80>& coco80_names();

}  // namespace partq
