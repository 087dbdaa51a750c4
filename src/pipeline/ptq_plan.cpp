#include "ptq_plan.hpp"

#include <partq/error.hpp>
#include <partq/quant.hpp>
#include <partq/quant_qdq.hpp>

#include <set>

namespace partq::ptq {

PlanFacts plan_facts(const Graph& graph, bool keep_first_conv_float) {
  const QuantPlan plan = plan_quantization(graph, {.keep_first_conv_float = keep_first_conv_float});
  PlanFacts facts;
  for (const QuantActivation& a : plan.activations)
    facts.activations.push_back(a.tensor);
  for (const QuantNode& n : plan.nodes) {
    if (n.precision == Precision::kInt8)
      facts.int8_nodes.push_back(n.name);
    else
      ++facts.float_nodes;
  }
  facts.scale_groups = static_cast<int>(plan.groups().size());
  return facts;
}

std::vector<std::string> calibration_tensors(const Graph& graph) {
  std::vector<std::string> tensors = plan_facts(graph, false).activations;
  std::set<std::string> seen(tensors.begin(), tensors.end());
  for (const std::string& t : plan_facts(graph, true).activations)
    if (seen.insert(t).second) tensors.push_back(t);
  return tensors;
}

std::map<std::string, float> shared_amax(const Graph& graph, bool keep_first_conv_float,
                                         const std::map<std::string, float>& amax) {
  return group_amax(plan_quantization(graph, {.keep_first_conv_float = keep_first_conv_float}), amax);
}

std::unique_ptr<Graph> qdq_graph(const Graph& graph, bool keep_first_conv_float,
                                 const std::map<std::string, float>& amax,
                                 const std::map<std::string, float>& lower_bounds, int weight_max_code) {
  return insert_qdq(graph,
                    plan_quantization(graph, {.keep_first_conv_float = keep_first_conv_float,
                                              .weight_max_code = weight_max_code}),
                    amax, lower_bounds);
}

PlanDescription describe(const Graph& graph, bool keep_first_conv_float) {
  PlanDescription d;
  d.from_qdq = has_qdq(graph);
  const QuantPlan plan = d.from_qdq
                             ? read_qdq(graph).plan
                             : plan_quantization(graph, {.keep_first_conv_float = keep_first_conv_float});
  d.text = describe_plan(plan);
  d.json = to_json(plan);
  return d;
}

std::string fingerprint(const Graph& graph) {
  return model_fingerprint(graph);
}

bool graph_has_qdq(const Graph& graph) {
  return has_qdq(graph);
}

QdqFacts read_qdq_facts(const Graph& graph, const std::string& path) {
  QdqModel model;
  try {
    model = read_qdq(graph);
  } catch (const Error& e) {
    fail("{}: {}", path, e.what());
  }
  QdqFacts facts;
  facts.graph = std::move(model.graph);
  for (const QuantNode& n : model.plan.nodes)
    if (n.precision == Precision::kInt8) facts.int8_nodes.push_back(n.name);
  for (const QuantActivation& a : model.plan.activations) {
    auto it = model.activation_params.find(a.tensor);
    if (it == model.activation_params.end() || it->second.scales.empty()) continue;
    facts.activation_scales[a.tensor] = it->second.scales.front();
    if (it->second.asymmetric())
      facts.activation_zero_points[a.tensor] = static_cast<int>(it->second.zero_points.front());
    facts.consumers[a.tensor] = a.consumers;
  }
  for (const auto& [weight, p] : model.weight_params)
    facts.weight_scales[weight] = {p.scales, p.scales.size() > 1 ? p.axis : -1};
  return facts;
}

}  // namespace partq::ptq
