// What the placement rules plan for a model file, computed in a translation unit of its own: quant.hpp and
// engine.hpp (included by pipeline.hpp / ptq.hpp) both declare a partq::Precision, so no file can include
// both.
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
