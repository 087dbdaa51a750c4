#include "fusion.hpp"

#include <algorithm>
#include <limits>

namespace partq::engine {

namespace {

bool is_graph_output(const Graph& g, const Value* v) {
  return std::find(g.outputs.begin(), g.outputs.end(), v) != g.outputs.end();
}

// A scalar known before compilation (an initializer); `fallback` when the input is omitted.
bool scalar_input(const Node& n, size_t i, float fallback, float& out) {
  const Value* v = n.input(i);
  if (!v) {
    out = fallback;
    return true;
  }
  if (!v->initializer || v->initializer->numel() != 1 || v->initializer->dtype != DType::kFloat32)
    return false;
  out = v->initializer->to_float()[0];
  return true;
}

// The eltwise post-op equivalent of a single-input activation node, if there is one.
bool activation_of(const Node& n, FusedActivation& f) {
  using alg = dnnl::algorithm;
  const std::string& op = n.op_type;
  if (op == "Relu") {
    f = {alg::eltwise_relu, 0.f, 0.f, "Relu", {}, nullptr, {}};
  } else if (op == "LeakyRelu") {
    f = {alg::eltwise_relu, n.attr_float("alpha", 0.01f), 0.f, "LeakyRelu", {}, nullptr, {}};
  } else if (op == "Sigmoid") {
    f = {alg::eltwise_logistic, 0.f, 0.f, "Sigmoid", {}, nullptr, {}};
  } else if (op == "HardSwish") {
    f = {alg::eltwise_hardswish, 0.f, 0.f, "HardSwish", {}, nullptr, {}};
  } else if (op == "Tanh") {
    f = {alg::eltwise_tanh, 0.f, 0.f, "Tanh", {}, nullptr, {}};
  } else if (op == "Elu") {
    f = {alg::eltwise_elu, n.attr_float("alpha", 1.f), 0.f, "Elu", {}, nullptr, {}};
  } else if (op == "Clip") {
    float lo = 0, hi = 0;
    if (n.has_attr("min") || n.has_attr("max")) {
      lo = n.attr_float("min", std::numeric_limits<float>::lowest());
      hi = n.attr_float("max", std::numeric_limits<float>::max());
    } else if (!scalar_input(n, 1, std::numeric_limits<float>::lowest(), lo) ||
               !scalar_input(n, 2, std::numeric_limits<float>::max(), hi)) {
      return false;
    }
    f = {alg::eltwise_clip_v2, lo, hi, "Clip", {}, nullptr, {}};
  } else {
    return false;
  }
  return n.inputs.size() >= 1 && n.outputs.size() == 1;
}

}  // namespace

std::map<const Node*, FusedActivation> plan_fusions(const Graph& graph) {
  std::map<const Node*, FusedActivation> out;
  for (const auto& np : graph.nodes()) {
    const Node& conv = *np;
    if (conv.op_type != "Conv" || conv.outputs.size() != 1) continue;
    const Value* y = conv.outputs[0];
    if (is_graph_output(graph, y)) continue;
    const auto& uses = y->consumers;
    FusedActivation f;
    if (uses.size() == 1 && uses[0]->input(0) == y && activation_of(*uses[0], f)) {
      f.nodes = {uses[0]};
      f.output = uses[0]->outputs[0];
      out[&conv] = f;
      continue;
    }
    // Conv -> Reshape -> Transpose -> elementwise activation, each the only use of the one before.
    if (uses.size() == 1 && uses[0]->op_type == "Reshape" && uses[0]->input(0) == y &&
        uses[0]->outputs.size() == 1) {
      const Node* reshape = uses[0];
      const Value* r = reshape->outputs[0];
      if (r->consumers.size() != 1 || is_graph_output(graph, r)) continue;
      const Node* transpose = r->consumers[0];
      if (transpose->op_type != "Transpose" || transpose->outputs.size() != 1) continue;
      const Value* t = transpose->outputs[0];
      if (t->consumers.size() != 1 || is_graph_output(graph, t)) continue;
      const Node* act = t->consumers[0];
      if (act->input(0) != t || !activation_of(*act, f)) continue;
      f.nodes = {act};
      f.output = y;
      f.through = {reshape, transpose};
      out[&conv] = f;
      continue;
    }
    if (uses.size() == 2) {
      // SiLU: s = Sigmoid(y); Mul(y, s) in either operand order.
      const Node* sig = uses[0]->op_type == "Sigmoid" ? uses[0] : uses[1];
      const Node* mul = sig == uses[0] ? uses[1] : uses[0];
      if (sig->op_type != "Sigmoid" || mul->op_type != "Mul" || mul->inputs.size() != 2) continue;
      const Value* s = sig->outputs[0];
      if (s->consumers.size() != 1 || s->consumers[0] != mul || is_graph_output(graph, s)) continue;
      bool operands =
          (mul->inputs[0] == y && mul->inputs[1] == s) || (mul->inputs[0] == s && mul->inputs[1] == y);
      if (!operands) continue;
      f = {dnnl::algorithm::eltwise_swish, 1.f, 0.f, "Swish", {sig, mul}, mul->outputs[0], {}};
      out[&conv] = f;
    }
  }
  return out;
}

}  // namespace partq::engine
