// Calibrates a model on 4 train2017 images and writes its Q/DQ export, for tests about what the export holds
// and how other runtimes run it (not about its accuracy).
#pragma once

#include <partq/ptq.hpp>

#include <fmt/format.h>

#include <string>

#include "onnx_runtime_outputs.hpp"

namespace partq::test {

// Returns the path of the export, `dir`/q.onnx (the calibration is `dir`/calib.json).
inline std::string quick_quantize(const std::string& model, const ScratchDir& dir) {
  calibrate_model({.model = model,
                   .images = fmt::format("{}/data/coco/images/train2017", PARTQ_SHARED_DIR),
                   .output = dir.file("calib.json"),
                   .num_images = 4,
                   .batch = 2,
                   .quiet = true,
                   .measure_overhead = false});
  quantize_model({.model = model, .calib = dir.file("calib.json"), .output = dir.file("q.onnx")});
  return dir.file("q.onnx");
}

}  // namespace partq::test
