// insert_qdq: writes a QuantPlan into a copy of the graph as QuantizeLinear / DequantizeLinear nodes.
#include <algorithm>
#include <set>

#include "partq/error.hpp"
#include "partq/quant_qdq.hpp"
#include "partq/quant_weights.hpp"

namespace partq {
namespace {

Tensor int8_zeros(Shape shape) {
  return Tensor(DType::kInt8, std::move(shape));
}

// The zero point initializer: int8 0 (symmetric) or the uint8 zero point (asymmetric).
Tensor zero_point_tensor(const QuantParams& p) {
  if (!p.asymmetric()) return int8_zeros({});
  Tensor t(DType::kUInt8, {});
  t.bytes[0] = static_cast<std::byte>(p.zero_points.at(0));
  return t;
}

// x -> QuantizeLinear -> DequantizeLinear, returning the DequantizeLinear output; the caller re-points
// consumers.
Value* add_activation_qdq(Graph& g, Value* x, const QuantParams& params) {
  Value* s =
      g.add_initializer(g.unique_value_name(x->name + "_scale"), Tensor::scalar_float(params.scales.at(0)));
  Value* zp = g.add_initializer(g.unique_value_name(x->name + "_zero_point"), zero_point_tensor(params));
  const DType qtype = params.asymmetric() ? DType::kUInt8 : DType::kInt8;
  Value* q = g.add_value(g.unique_value_name(x->name + "_quantized"), qtype, x->shape, x->has_shape);
  Value* dq =
      g.add_value(g.unique_value_name(x->name + "_dequantized"), DType::kFloat32, x->shape, x->has_shape);
  g.add_node("QuantizeLinear", {x, s, zp}, {q}, g.unique_node_name(x->name + "_QuantizeLinear"));
  g.add_node("DequantizeLinear", {q, s, zp}, {dq}, g.unique_node_name(x->name + "_DequantizeLinear"));
  return dq;
}

// Replaces weight `w` of the int8 nodes by an int8 initializer + per-channel DequantizeLinear. The DQ output
// takes the weight's name when no float node still uses the float weight, so the graph keeps its names.
void quantize_weight_input(Graph& g, Value* w, int64_t axis, int max_code,
                           const std::vector<std::pair<Node*, size_t>>& uses) {
  const std::shared_ptr<const Tensor> weight = w->initializer;
  const std::string base = w->name;
  const bool float_use_left = w->consumers.size() > uses.size();
  std::string dq_name = base + "_dequantized";
  if (!float_use_left) {
    // Free the name for the DequantizeLinear output: detach the float initializer and drop it (before adding
    // the new initializers, which would count as unused until the DequantizeLinear reads them).
    for (auto [node, index] : uses)
      g.set_input(node, index, nullptr);
    g.remove_unused_values();
    dq_name = base;
  }
  const QuantParams params = weight_quant_params(*weight, axis, max_code);
  const Tensor q = quantize_weight(*weight, params);
  Value* qw = g.add_initializer(g.unique_value_name(base + "_quantized"), q);
  const Shape channels{static_cast<int64_t>(params.scales.size())};
  Value* s =
      g.add_initializer(g.unique_value_name(base + "_scale"), Tensor::from_float(channels, params.scales));
  Value* zp = g.add_initializer(g.unique_value_name(base + "_zero_point"), int8_zeros(channels));
  Value* dq = g.add_value(g.unique_value_name(dq_name), DType::kFloat32, q.shape, true);
  Node* node =
      g.add_node("DequantizeLinear", {qw, s, zp}, {dq}, g.unique_node_name(base + "_DequantizeLinear"));
  node->attrs["axis"] = axis;
  for (auto [user, index] : uses)
    g.set_input(user, index, dq);
}

}  // namespace

std::unique_ptr<Graph> insert_qdq(const Graph& graph, const QuantPlan& plan,
                                  const std::map<std::string, float>& amax,
                                  const std::map<std::string, float>& lower_bounds) {
  if (graph.opset < 13)
    fail(
        "Q/DQ export needs opset 13 or later (per-channel DequantizeLinear); the graph is opset {} - run "
        "canonicalize first",
        graph.opset);
  check_plan_matches(plan, graph, "Q/DQ export");
  const std::map<std::string, QuantParams> params = activation_params(plan, amax, lower_bounds);
  auto g = graph.clone();

  for (const auto& a : plan.activations) {
    Value* x = g->find_value(a.tensor);
    Value* dq = add_activation_qdq(*g, x, params.at(a.tensor));
    for (const auto& consumer_name : a.consumers) {
      Node* consumer = g->find_node(consumer_name);
      bool found = false;
      for (size_t i = 0; i < consumer->inputs.size(); ++i)
        if (consumer->inputs[i] == x) {
          g->set_input(consumer, i, dq);
          found = true;
        }
      if (!found)
        fail("Q/DQ export: node '{}' does not read tensor '{}' as the plan says", consumer_name, a.tensor);
    }
  }

  // Weights, grouped so that a weight shared by several int8 nodes gets one DequantizeLinear.
  std::map<std::pair<std::string, int64_t>, std::vector<std::pair<Node*, size_t>>> weight_uses;
  for (const auto& n : plan.nodes) {
    if (n.precision != Precision::kInt8) continue;
    if (n.weight.empty()) fail("Q/DQ export: int8 node '{}' has no constant weight", n.name);
    Node* node = g->find_node(n.name);
    for (size_t i = 0; i < node->inputs.size(); ++i)
      if (node->inputs[i] && node->inputs[i]->name == n.weight)
        weight_uses[{n.weight, n.weight_axis}].push_back({node, i});
  }
  for (const auto& [key, uses] : weight_uses) {
    Value* w = g->find_value(key.first);
    if (!w || !w->is_constant()) fail("Q/DQ export: weight '{}' is not a constant", key.first);
    quantize_weight_input(*g, w, key.second, plan.weight_max_code, uses);
  }

  g->opset = std::max<int64_t>(g->opset, 13);
  g->topological_sort();
  g->verify();
  return g;
}

}  // namespace partq
