// COCO evaluation of a model on the first 12 images of the shared val2017 subset, batch 4, for tests that
// compare one network's mAP through different heads and decoders.
#pragma once

#include <partq/pipeline.hpp>

#include <fmt/format.h>

#include <optional>
#include <string>

namespace partq::test {

inline EvalReport eval_12_val_images(const std::string& model,
                                     std::optional<std::string> preset = std::nullopt) {
  return evaluate_model(
      {.model = model,
       .images = fmt::format("{}/data/coco/images/val2017", PARTQ_SHARED_DIR),
       .annotations = fmt::format("{}/data/coco/annotations/instances_val2017_subset.json", PARTQ_SHARED_DIR),
       .preset = std::move(preset),
       .limit = 12,
       .batch = 4,
       .threads = 2,
       .quiet = true});
}

}  // namespace partq::test
