#include "placement_rules.hpp"

#include <array>
#include <deque>

#include "graph_queries.hpp"

namespace partq::quant_detail {
namespace {

// Elementwise activations a residual branch ends with (SiLU is Sigmoid + Mul): looking up through them from
// an Add input finds the conv that produced it.
bool is_activation(const Node& n) {
  static const std::set<std::string> ops = {"Relu",        "Sigmoid",   "Mul",      "Clip",     "LeakyRelu",
                                            "HardSigmoid", "HardSwish", "Tanh",     "Identity", "Elu",
                                            "Selu",        "PRelu",     "Softplus", "Mish"};
  return ops.count(n.op_type) != 0;
}

// Ops int8 flows through unchanged when they share a scale.
bool is_scale_preserving(const Node& n) {
  return n.op_type == "Concat" || n.op_type == "MaxPool" || n.op_type == "Resize" || n.op_type == "Identity";
}

constexpr int kSearchDepth = 6;  // residual adjacency is local; a bounded walk keeps it so

// Is `start` produced by an int8 quantizable node, possibly through elementwise activations?
bool fed_by_int8(const Value* start, const PlacementState& state) {
  std::deque<std::pair<const Value*, int>> todo{{start, 0}};
  std::set<const Value*> seen;
  while (!todo.empty()) {
    auto [v, depth] = todo.front();
    todo.pop_front();
    if (!v || !v->producer || !seen.insert(v).second || depth > kSearchDepth) continue;
    const Node* p = v->producer;
    if (state.decode.count(p)) continue;
    if (is_quantizable_op(*p)) {
      if (state.is_int8(p)) return true;
      continue;
    }
    if (!is_activation(*p)) continue;
    for (const Value* in : p->inputs)
      if (in && !in->is_constant()) todo.emplace_back(in, depth + 1);
  }
  return false;
}

// Does `start` reach the data input of an int8 quantizable node, possibly through scale-preserving ops?
bool feeds_int8(const Value* start, const PlacementState& state) {
  std::deque<std::pair<const Value*, int>> todo{{start, 0}};
  std::set<const Value*> seen;
  while (!todo.empty()) {
    auto [v, depth] = todo.front();
    todo.pop_front();
    if (!seen.insert(v).second || depth > kSearchDepth) continue;
    for (const Node* c : v->consumers) {
      if (state.decode.count(c)) continue;
      if (is_quantizable_op(*c)) {
        if (state.is_int8(c) && c->input(quantizable_inputs(*c).data_index) == v) return true;
      } else if (is_scale_preserving(*c)) {
        for (const Value* out : c->outputs)
          todo.emplace_back(out, depth + 1);
      }
    }
  }
  return false;
}

bool is_quantized(const Value* v, const PlacementState& state) {
  return state.quantized.count(v) != 0;
}

// An int8 Conv / ConvTranspose / Gemm / MatMul reads its data input quantized.
std::optional<RuleMatch> select_int8_node(const Node& node, const PlacementState& state) {
  if (!is_quantizable_op(node) || !state.is_int8(&node)) return std::nullopt;
  return RuleMatch{{node.input(quantizable_inputs(node).data_index)}, {}};
}

// A residual Add (two non-constant float inputs of one shape) next to int8 nodes reads both inputs quantized,
// so that an int8 engine (or TensorRT) can fuse it into the conv producing one of them.
std::optional<RuleMatch> select_residual_add(const Node& node, const PlacementState& state) {
  if (node.op_type != "Add" || state.decode.count(&node) || node.inputs.size() != 2) return std::nullopt;
  const Value* a = node.inputs[0];
  const Value* b = node.inputs[1];
  if (!a || !b || a->is_constant() || b->is_constant() || !is_float(a) || !is_float(b)) return std::nullopt;
  if (a->has_shape && b->has_shape && a->shape != b->shape)
    return std::nullopt;  // broadcast: a bias, not residual
  if (!fed_by_int8(a, state) && !fed_by_int8(b, state) && !feeds_int8(node.outputs[0], state))
    return std::nullopt;
  return RuleMatch{{a, b}, {}};
}

// A Concat whose output is quantized reads every input quantized with the output's scale.
std::optional<RuleMatch> select_concat(const Node& node, const PlacementState& state) {
  if (node.op_type != "Concat" || state.decode.count(&node) || !is_quantized(node.outputs[0], state))
    return std::nullopt;
  RuleMatch m;
  for (const Value* in : node.inputs) {
    if (!in || in->is_constant() || !is_float(in)) continue;
    m.quantized_inputs.push_back(in);
    m.same_scale.emplace_back(in, node.outputs[0]);
  }
  return m;
}

// A MaxPool / Resize whose output is quantized reads its input quantized with the same scale.
std::optional<RuleMatch> select_pool_resize(const Node& node, const PlacementState& state) {
  if ((node.op_type != "MaxPool" && node.op_type != "Resize") || state.decode.count(&node))
    return std::nullopt;
  if (node.outputs.size() > 1 && !node.outputs[1]->consumers.empty()) return std::nullopt;  // MaxPool indices
  const Value* in = node.input(0);
  if (!in || in->is_constant() || !is_float(in) || !is_quantized(node.outputs[0], state)) return std::nullopt;
  return RuleMatch{{in}, {{in, node.outputs[0]}}};
}

constexpr std::array<PlacementRule, 4> kRules = {{
    {"int8-node", select_int8_node},
    {"residual-add", select_residual_add},
    {"concat-shared-scale", select_concat},
    {"maxpool-resize-shared-scale", select_pool_resize},
}};

}  // namespace

std::span<const PlacementRule> placement_rules() {
  return kRules;
}

bool apply_match(PlacementState& state, const Node& node, const RuleMatch& match) {
  bool changed = false;
  for (const Value* v : match.quantized_inputs)
    changed |= state.quantized[v].insert(&node).second;
  for (const auto& pair : match.same_scale) {
    bool known = false;
    for (const auto& p : state.same_scale)
      known |= p == pair;
    if (!known) {
      state.same_scale.push_back(pair);
      changed = true;
    }
  }
  return changed;
}

}  // namespace partq::quant_detail
