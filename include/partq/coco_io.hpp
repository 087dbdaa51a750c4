// Reading and writing COCO data: ground truth (COCO instances JSON or YOLO-txt label folders) and detections
// (COCO results JSON). Every function throws partq::Error with one line naming the file on bad input.
#pragma once

#include <string>
#include <vector>

#include "partq/coco.hpp"

namespace partq {

// Reads a COCO instances file (images, annotations, categories; segmentations are not kept).
// Required keys: "images" (each with id, width, height; file_name optional), "annotations" (each with id,
// image_id, category_id, bbox [x,y,w,h]; area defaults to w*h, iscrowd to 0) and "categories" (each with id;
// name and supercategory optional).
CocoDataset load_coco_annotations(const std::string& path);

// Builds a COCO dataset from a YOLO-txt folder pair: every .jpg/.jpeg/.png/.bmp in image_dir (sorted by file
// name) with its labels in label_dir/<stem>.txt, one `class cx cy w h` line per box, normalised to [0, 1].
// A missing label file means the image has no objects. Image id = the stem when it is all digits (COCO style
// 000000000139 -> 139), else the running index of the image. class k maps to coco80_category_ids()[k]; the
// categories are the COCO-80 list. Boxes are converted to pixels; area = w*h; iscrowd = false; annotation ids
// run from 1. Image sizes are read from the file headers.
CocoDataset load_yolo_labels(const std::string& image_dir, const std::string& label_dir);

// Reads a COCO results file: a JSON list of {image_id, category_id, bbox: [x,y,w,h], score}.
std::vector<Detection> load_coco_detections(const std::string& path);

// Writes detections as a COCO results file (written to <path>.tmp, then renamed over path).
void save_coco_detections(const std::string& path, const std::vector<Detection>& detections);

}  // namespace partq
