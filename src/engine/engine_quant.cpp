#include <partq/engine_quant.hpp>

#include "plan_view.hpp"

namespace partq {

EngineOptions int8_options_from_plan(const QuantPlan& plan, const std::map<std::string, float>& amax,
                                     EngineOptions base, const std::map<std::string, float>& lower_bounds) {
  engine::PlanView view = engine::view_plan(plan, amax, lower_bounds);
  base.plan.default_precision = Precision::kFloat32;
  for (const std::string& n : view.int8_nodes)
    base.plan.per_node[n] = Precision::kInt8;
  for (const std::string& n : view.float_nodes)
    base.plan.per_node[n] = Precision::kFloat32;
  base.activation_scales = std::move(view.scales);
  base.activation_zero_points = std::move(view.zero_points);
  base.quantized_consumers = std::move(view.consumers);
  base.weight_max_code = view.weight_max_code;
  return base;
}

}  // namespace partq
