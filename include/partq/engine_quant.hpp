// Engine options from a quantization plan: the bridge between partq_quant's QuantPlan (where Q/DQ go, which
// nodes are int8) and the engine's EngineOptions (per-node precision, activation scales, quantized
// consumers).
//
//   partq::QuantPlan plan = partq::plan_quantization(graph);
//   partq::EngineOptions opt = partq::int8_options_from_plan(plan, calibrated_amax);
//   auto engine = partq::Engine::create(graph, opt);   // flip a node: edit the plan, call both again
//
// (This header does not include partq/quant.hpp: both it and partq/engine.hpp declare a partq::Precision.)
#pragma once

#include <partq/engine.hpp>

#include <map>
#include <string>

namespace partq {

struct QuantPlan;  // partq/quant.hpp

// `base` with plan.per_node set for every quantizable node of the plan (kInt8 / kFloat32, default kFloat32),
// activation_scales = group_amax(plan, amax) / 127 for every plan activation, and quantized_consumers = each
// activation's consumers. With `lower_bounds` (activation_lower_bounds in partq/quant.hpp: the opt-in
// asymmetric mode), the tensors activation_params makes uint8 get its scale and activation_zero_points.
// Error (from group_amax) when a plan activation has no finite positive amax.
EngineOptions int8_options_from_plan(const QuantPlan& plan, const std::map<std::string, float>& amax,
                                     EngineOptions base = {},
                                     const std::map<std::string, float>& lower_bounds = {});

}  // namespace partq
