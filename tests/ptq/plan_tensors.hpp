// What the placement rules plan for a model file, as plain data for the PTQ tests.
#pragma once

#include <string>
#include <vector>

namespace partq::testing_ptq {

struct PlannedModel {
  std::vector<std::string> activations;  // full-INT8 plan's quantized tensors
  int int8_nodes = 0;
};
PlannedModel planned(const std::string& model_path);

}  // namespace partq::testing_ptq
