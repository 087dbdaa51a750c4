#include "plan_view.hpp"

#include <partq/quant.hpp>
#include <partq/quant_params.hpp>

namespace partq::engine {

PlanView view_plan(const QuantPlan& plan, const std::map<std::string, float>& amax,
                   const std::map<std::string, float>& lower_bounds) {
  PlanView view;
  view.weight_max_code = plan.weight_max_code;
  for (const QuantNode& n : plan.nodes)
    (n.precision == Precision::kInt8 ? view.int8_nodes : view.float_nodes).push_back(n.name);
  const std::map<std::string, QuantParams> params = activation_params(plan, amax, lower_bounds);
  for (const QuantActivation& a : plan.activations) {
    const QuantParams& p = params.at(a.tensor);
    view.scales[a.tensor] = p.scales[0];
    if (p.asymmetric()) view.zero_points[a.tensor] = static_cast<int>(p.zero_points[0]);
    view.consumers[a.tensor] = a.consumers;
  }
  return view;
}

}  // namespace partq::engine
