// plan_quantization: runs the placement rules (placement_rules.cpp) to a fixed point and turns the result
// into a QuantPlan with dense scale-group ids.
#include <algorithm>
#include <cmath>
#include <unordered_map>

#include <fmt/ranges.h>

#include "graph_queries.hpp"
#include "partq/error.hpp"
#include "partq/quant.hpp"
#include "placement_rules.hpp"
#include "union_find.hpp"

namespace partq {

using quant_detail::PlacementState;

const char* precision_name(Precision p) {
  return p == Precision::kInt8 ? "int8" : "float";
}

Precision parse_precision(const std::string& s) {
  if (s == "int8") return Precision::kInt8;
  if (s == "float") return Precision::kFloat32;
  fail("unknown precision '{}' (expected int8 or float)", s);
}

const QuantNode* QuantPlan::find_node(const std::string& name) const {
  for (const auto& n : nodes)
    if (n.name == name) return &n;
  return nullptr;
}

const QuantActivation* QuantPlan::find_activation(const std::string& tensor) const {
  for (const auto& a : activations)
    if (a.tensor == tensor) return &a;
  return nullptr;
}

int QuantPlan::int8_node_count() const {
  return static_cast<int>(std::count_if(nodes.begin(), nodes.end(),
                                        [](const QuantNode& n) { return n.precision == Precision::kInt8; }));
}

std::vector<ScaleGroup> QuantPlan::groups() const {
  std::vector<ScaleGroup> out;
  std::map<int, size_t> index;  // group id -> position in out
  for (const auto& a : activations) {
    auto [it, fresh] = index.try_emplace(a.group, out.size());
    if (fresh) out.push_back({a.group, {}, {}});
    out[it->second].tensors.push_back(a.tensor);
  }
  std::map<std::string, size_t> group_of_tensor;
  for (const auto& g : out)
    for (const auto& t : g.tensors)
      group_of_tensor[t] = static_cast<size_t>(&g - out.data());
  for (const auto& n : nodes) {
    auto it = group_of_tensor.find(n.data_input);
    if (n.precision == Precision::kInt8 && it != group_of_tensor.end())
      out[it->second].nodes.push_back(n.name);
  }
  return out;
}

namespace {

void check_overrides(const Graph& graph, const PlacementOptions& options) {
  for (const auto& [name, precision] : options.overrides) {
    const Node* node = graph.find_node(name);
    if (!node) fail("quantization override: the model has no node named '{}'", name);
    if (!quant_detail::is_quantizable_op(*node))
      fail("quantization override: node '{}' is a {}, not a quantizable Conv / ConvTranspose / Gemm / MatMul",
           name, node->op_type);
    if (precision == Precision::kInt8)
      if (auto blocker = quant_detail::int8_blocker(*node))
        fail("quantization override: node '{}' cannot run int8: {}", name, *blocker);
  }
}

std::vector<QuantNode> decide_nodes(const Graph& graph, const PlacementOptions& options) {
  const auto first = quant_detail::first_quantizable_nodes(graph);
  std::vector<QuantNode> out;
  for (const auto& n : graph.nodes()) {
    if (!quant_detail::is_quantizable_op(*n)) continue;
    const auto inputs = quant_detail::quantizable_inputs(*n);
    QuantNode q{.name = n->name, .op_type = n->op_type};
    if (const Value* d = n->input(inputs.data_index)) q.data_input = d->name;
    const Value* w = n->input(inputs.weight_index);
    if (w && w->is_constant()) q.weight = w->name;
    q.weight_axis = inputs.weight_axis;
    if (auto blocker = quant_detail::int8_blocker(*n)) {
      q.precision = Precision::kFloat32;
      q.reason = *blocker;
    } else if (auto it = options.overrides.find(n->name); it != options.overrides.end()) {
      q.precision = it->second;
      if (it->second == Precision::kFloat32) q.reason = "forced float by override";
    } else if (options.keep_first_conv_float && first.count(n.get())) {
      q.precision = Precision::kFloat32;
      q.reason = "--keep-first-conv-float";
    } else if (const Node* softmax = quant_detail::softmax_behind(n->input(inputs.data_index))) {
      // A conv over a Softmax distribution is the expectation of a DFL box head (YOLOv8, PP-YOLOE,
      // DAMO-YOLO): decode arithmetic with fixed weights 0..15, which int8 steps of 15/127 cannot hold.
      q.precision = Precision::kFloat32;
      q.reason = fmt::format("reads the distribution of Softmax '{}': a DFL box decode", softmax->name);
    }
    out.push_back(std::move(q));
  }
  return out;
}

// Runs every rule on every node until nothing changes.
void run_rules(PlacementState& state) {
  for (bool changed = true; changed;) {
    changed = false;
    for (const auto& rule : quant_detail::placement_rules())
      for (const auto& n : state.graph.nodes())
        if (auto match = rule.select(*n, state)) changed |= quant_detail::apply_match(state, *n, *match);
  }
}

std::vector<QuantActivation> collect_activations(const PlacementState& state) {
  // Graph order: graph inputs, then node outputs in node order; consumers in node order.
  std::unordered_map<const Node*, size_t> node_index;
  for (const auto& n : state.graph.nodes())
    node_index.emplace(n.get(), node_index.size());
  std::vector<const Value*> order;
  for (const Value* v : state.graph.inputs)
    if (state.quantized.count(v)) order.push_back(v);
  for (const auto& n : state.graph.nodes())
    for (const Value* v : n->outputs)
      if (state.quantized.count(v)) order.push_back(v);
  // Initializers never reach here (rules skip constants), so `order` covers every quantized tensor.

  std::unordered_map<const Value*, size_t> position;
  for (const Value* v : order)
    position.emplace(v, position.size());
  quant_detail::UnionFind sets(order.size());
  for (const auto& [a, b] : state.same_scale)
    if (position.count(a) && position.count(b)) sets.unite(position.at(a), position.at(b));

  std::map<size_t, int> group_id;  // root -> dense id by first appearance
  std::vector<QuantActivation> out;
  for (size_t i = 0; i < order.size(); ++i) {
    const size_t root = sets.find(i);
    auto [it, fresh] = group_id.try_emplace(root, static_cast<int>(group_id.size()));
    QuantActivation a{.tensor = order[i]->name, .group = it->second};
    std::vector<const Node*> consumers(state.quantized.at(order[i]).begin(),
                                       state.quantized.at(order[i]).end());
    std::sort(consumers.begin(), consumers.end(),
              [&](const Node* x, const Node* y) { return node_index.at(x) < node_index.at(y); });
    for (const Node* c : consumers)
      a.consumers.push_back(c->name);
    out.push_back(std::move(a));
  }
  return out;
}

}  // namespace

QuantPlan plan_quantization(const Graph& graph, const PlacementOptions& options) {
  check_overrides(graph, options);
  QuantPlan plan;
  plan.model_fingerprint = model_fingerprint(graph);
  if (options.weight_max_code < 1 || options.weight_max_code > 127)
    fail("weight_max_code {} is not in 1..127", options.weight_max_code);
  plan.weight_max_code = options.weight_max_code;
  plan.nodes = decide_nodes(graph, options);

  PlacementState state{.graph = graph, .decode = quant_detail::head_decode_nodes(graph)};
  for (const auto& q : plan.nodes)
    state.precision[graph.find_node(q.name)] = q.precision;
  run_rules(state);
  plan.activations = collect_activations(state);
  for (const auto& n : graph.nodes())
    if (state.decode.count(n.get())) plan.decode_nodes.push_back(n->name);
  return plan;
}

std::vector<QuantLayer> quant_layers(const Graph& graph) {
  const QuantPlan full = plan_quantization(graph);
  std::vector<QuantLayer> layers;
  for (const auto& g : full.groups()) {
    if (g.nodes.empty()) continue;
    layers.push_back({g.nodes.front(), g.nodes});
  }
  // Keep graph order of the first node.
  std::map<std::string, size_t> order;
  for (const auto& n : full.nodes)
    order.emplace(n.name, order.size());
  std::sort(layers.begin(), layers.end(),
            [&](const QuantLayer& a, const QuantLayer& b) { return order.at(a.name) < order.at(b.name); });
  return layers;
}

std::map<std::string, float> group_amax(const QuantPlan& plan, const std::map<std::string, float>& amax) {
  std::vector<std::string> missing;
  std::map<int, float> group_max;
  for (const auto& a : plan.activations) {
    auto it = amax.find(a.tensor);
    if (it == amax.end() || !std::isfinite(it->second) || it->second <= 0) {
      missing.push_back(it == amax.end() ? a.tensor : fmt::format("{} (amax {})", a.tensor, it->second));
      continue;
    }
    float& m = group_max[a.group];
    m = std::max(m, it->second);
  }
  if (!missing.empty()) {
    const size_t shown = std::min<size_t>(missing.size(), 5);
    fail("no usable calibration amax for {} quantized tensor(s): {}{}", missing.size(),
         fmt::join(missing.begin(), missing.begin() + static_cast<std::ptrdiff_t>(shown), ", "),
         missing.size() > shown ? ", ..." : "");
  }
  std::map<std::string, float> out;
  for (const auto& a : plan.activations)
    out[a.tensor] = group_max.at(a.group);
  return out;
}

}  // namespace partq
