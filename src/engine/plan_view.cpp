#include "plan_view.hpp"

#include <partq/quant.hpp>
#include <partq/quant_params.hpp>

namespace partq::engine {

PlanView view_plan(const QuantPlan& plan, const std::map<std::string, float>& amax) {
  PlanView view;
  for (const QuantNode& n : plan.nodes)
    (n.precision == Precision::kInt8 ? view.int8_nodes : view.float_nodes).push_back(n.name);
  const std::map<std::string, float> shared = group_amax(plan, amax);
  for (const QuantActivation& a : plan.activations) {
    view.scales[a.tensor] = QuantParams::per_tensor_from_amax(shared.at(a.tensor)).scales[0];
    view.consumers[a.tensor] = a.consumers;
  }
  return view;
}

}  // namespace partq::engine
