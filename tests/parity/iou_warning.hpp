// What evaluating one val2017 image of a model with --iou 0.5 prints on stderr: a head without NMS must say
// that --iou has no effect rather than ignore it silently.
#pragma once

#include <gtest/gtest.h>
#include <partq/pipeline.hpp>

#include <fmt/format.h>

#include <string>

namespace partq::test {

inline std::string stderr_of_eval_with_iou(const std::string& model) {
  testing::internal::CaptureStderr();
  evaluate_model(
      {.model = model,
       .images = fmt::format("{}/data/coco/images/val2017", PARTQ_SHARED_DIR),
       .annotations = fmt::format("{}/data/coco/annotations/instances_val2017_subset.json", PARTQ_SHARED_DIR),
       .iou = 0.5f,
       .limit = 1,
       .threads = 2});
  return testing::internal::GetCapturedStderr();
}

}  // namespace partq::test
