// Quantization plans for the INT8 engine tests: the plan stays opaque here and goes to
// int8_options_from_plan (partq/engine_quant.hpp) as it is.
#pragma once

#include <partq/ir.hpp>

#include <memory>
#include <string>
#include <vector>

namespace partq {
struct QuantPlan;
}

namespace partq::test {

// plan_quantization(graph) with every eligible node int8 except `float_nodes` (overridden to float).
std::shared_ptr<const QuantPlan> full_plan(const Graph& graph,
                                           const std::vector<std::string>& float_nodes = {});
std::vector<std::string> plan_activations(const QuantPlan& plan);  // tensors the plan quantizes
std::vector<std::string> plan_int8_nodes(const QuantPlan& plan);

}  // namespace partq::test
