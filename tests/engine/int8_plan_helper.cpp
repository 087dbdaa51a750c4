#include "int8_plan_helper.hpp"

#include <partq/quant.hpp>

namespace partq::test {

std::shared_ptr<const QuantPlan> full_plan(const Graph& graph, const std::vector<std::string>& float_nodes) {
  PlacementOptions placement;
  for (const auto& n : float_nodes)
    placement.overrides[n] = Precision::kFloat32;
  return std::make_shared<const QuantPlan>(plan_quantization(graph, placement));
}

std::vector<std::string> plan_activations(const QuantPlan& plan) {
  std::vector<std::string> out;
  for (const auto& a : plan.activations)
    out.push_back(a.tensor);
  return out;
}

std::vector<std::string> plan_int8_nodes(const QuantPlan& plan) {
  std::vector<std::string> out;
  for (const auto& n : plan.nodes)
    if (n.precision == Precision::kInt8) out.push_back(n.name);
  return out;
}

}  // namespace partq::test
