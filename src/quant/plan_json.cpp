// QuantPlan <-> JSON (format "partq.quant_plan", version 1).
#include <set>

#include "partq/error.hpp"
#include "partq/quant.hpp"
#include "partq/util/json_file.hpp"

namespace partq {
namespace {

constexpr const char* kFormat = "partq.quant_plan";
constexpr int kVersion = 1;

}  // namespace

nlohmann::json to_json(const QuantPlan& plan) {
  nlohmann::json nodes = nlohmann::json::array();
  for (const auto& n : plan.nodes) {
    nlohmann::json j = {
        {"name", n.name},     {"op_type", n.op_type},         {"data_input", n.data_input},
        {"weight", n.weight}, {"weight_axis", n.weight_axis}, {"precision", precision_name(n.precision)}};
    if (!n.reason.empty()) j["reason"] = n.reason;
    nodes.push_back(std::move(j));
  }
  nlohmann::json activations = nlohmann::json::array();
  for (const auto& a : plan.activations)
    activations.push_back({{"tensor", a.tensor}, {"group", a.group}, {"consumers", a.consumers}});
  return {{"format", kFormat},
          {"version", kVersion},
          {"model_fingerprint", plan.model_fingerprint},
          {"nodes", nodes},
          {"activations", activations},
          {"decode_nodes", plan.decode_nodes},
          {"weight_max_code", plan.weight_max_code}};
}

QuantPlan quant_plan_from_json(const nlohmann::json& json, const std::string& label) {
  if (!json.is_object() || json.value("format", std::string()) != kFormat)
    fail("{}: not a partq quantization plan (expected \"format\": \"{}\")", label, kFormat);
  if (const int v = json_field<int>(json, "version", label); v != kVersion)
    fail("{}: quantization plan version {} is not supported (this partq reads version {})", label, v,
         kVersion);
  QuantPlan plan;
  plan.model_fingerprint = json_field<std::string>(json, "model_fingerprint", label);
  std::set<std::string> seen;
  for (const auto& j : json_field<nlohmann::json>(json, "nodes", label)) {
    const std::string where = label + ": nodes[" + std::to_string(plan.nodes.size()) + "]";
    QuantNode n{.name = json_field<std::string>(j, "name", where),
                .op_type = json_field<std::string>(j, "op_type", where),
                .data_input = json_field<std::string>(j, "data_input", where),
                .weight = json_field<std::string>(j, "weight", where),
                .weight_axis = json_field<int64_t>(j, "weight_axis", where),
                .precision = Precision::kInt8};
    try {
      n.precision = parse_precision(json_field<std::string>(j, "precision", where));
    } catch (const Error& e) {
      fail("{}: {}", where, e.what());
    }
    n.reason = j.value("reason", std::string());
    if (!seen.insert(n.name).second) fail("{}: node '{}' is listed twice", label, n.name);
    plan.nodes.push_back(std::move(n));
  }
  seen.clear();
  for (const auto& j : json_field<nlohmann::json>(json, "activations", label)) {
    const std::string where = label + ": activations[" + std::to_string(plan.activations.size()) + "]";
    QuantActivation a{.tensor = json_field<std::string>(j, "tensor", where),
                      .group = json_field<int>(j, "group", where),
                      .consumers = json_field<std::vector<std::string>>(j, "consumers", where)};
    if (!seen.insert(a.tensor).second) fail("{}: tensor '{}' is listed twice", label, a.tensor);
    plan.activations.push_back(std::move(a));
  }
  plan.decode_nodes = json_field<std::vector<std::string>>(json, "decode_nodes", label);
  plan.weight_max_code = json.value("weight_max_code", 127);  // absent in plans written before it existed
  if (plan.weight_max_code < 1 || plan.weight_max_code > 127)
    fail("{}: weight_max_code {} is not in 1..127", label, plan.weight_max_code);
  return plan;
}

void write_quant_plan(const std::string& path, const QuantPlan& plan) {
  write_json_file(path, to_json(plan));
}

QuantPlan read_quant_plan(const std::string& path) {
  return quant_plan_from_json(read_json_file(path), path);
}

void check_plan_matches(const QuantPlan& plan, const Graph& graph, const std::string& label) {
  for (const auto& n : plan.nodes) {
    const Node* node = graph.find_node(n.name);
    if (!node) fail("{}: the plan names node '{}', which this model does not have", label, n.name);
    if (node->op_type != n.op_type)
      fail("{}: node '{}' is a {} in the plan but a {} in this model", label, n.name, n.op_type,
           node->op_type);
    if (!n.weight.empty() && !graph.find_value(n.weight))
      fail("{}: the plan names weight '{}' of node '{}', which this model does not have", label, n.weight,
           n.name);
  }
  for (const auto& a : plan.activations) {
    if (!graph.find_value(a.tensor))
      fail("{}: the plan quantizes tensor '{}', which this model does not have", label, a.tensor);
    for (const auto& c : a.consumers)
      if (!graph.find_node(c))
        fail("{}: the plan names node '{}' (a consumer of '{}'), which this model does not have", label, c,
             a.tensor);
  }
}

}  // namespace partq
