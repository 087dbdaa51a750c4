#include "plan_tensors.hpp"

#include <partq/quant.hpp>

#include <memory>

namespace partq {
// pipeline.hpp's declaration (that header cannot be included next to quant.hpp, see plan_tensors.hpp).
std::unique_ptr<Graph> load_model(const std::string& path);
}  // namespace partq

namespace partq::testing_ptq {

PlannedModel planned(const std::string& model_path) {
  const QuantPlan plan = plan_quantization(*load_model(model_path));
  PlannedModel result;
  for (const QuantActivation& a : plan.activations)
    result.activations.push_back(a.tensor);
  result.int8_nodes = plan.int8_node_count();
  return result;
}

}  // namespace partq::testing_ptq
