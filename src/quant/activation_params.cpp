// Per-tensor activation quantization parameters: symmetric int8 from the calibrated amax, or, in the opt-in
// asymmetric mode, uint8 over [lower bound, amax] where the graph guarantees a lower bound.
#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <set>

#include "partq/quant.hpp"
#include "partq/quant_params.hpp"

namespace partq {
namespace {

// min over x of x * sigmoid(x), at x = -1.27846...
constexpr float kSiluMin = -0.27846455f;

// Ops whose output values are a subset of (or interpolate between) the values of their first input.
bool keeps_input_bound(const Node& n) {
  static const std::set<std::string> ops = {"MaxPool",   "Resize",        "Upsample",    "Slice",
                                            "Reshape",   "Transpose",     "Flatten",     "Squeeze",
                                            "Unsqueeze", "Identity",      "Split",       "Gather",
                                            "Pad",       "GlobalMaxPool", "AveragePool", "GlobalAveragePool",
                                            "ReduceMax", "ReduceMin",     "ReduceMean"};
  if (!ops.count(n.op_type)) return false;
  if (n.op_type == "Resize" || n.op_type == "Upsample") {
    const std::string mode = n.attr_string("mode", "nearest");
    return mode == "nearest" || mode == "linear";  // cubic overshoots
  }
  // A constant Pad adds a value of its own, which may lie below the bound.
  if (n.op_type == "Pad") return n.attr_string("mode", "constant") != "constant";
  return true;
}

const Value* other_input(const Node& n, const Value* v) {
  return n.inputs.size() == 2 ? (n.inputs[0] == v ? n.inputs[1] : n.inputs[0]) : nullptr;
}

struct BoundFinder {
  const std::map<std::string, float>& inputs;
  std::map<const Value*, std::optional<float>> memo;

  std::optional<float> of(const Value* v) {
    if (!v) return std::nullopt;
    if (!v->producer) {
      auto it = inputs.find(v->name);
      return it == inputs.end() || v->is_constant() ? std::nullopt : std::optional<float>(it->second);
    }
    if (auto it = memo.find(v); it != memo.end()) return it->second;
    memo[v] = std::nullopt;  // cycles cannot occur in a valid graph; this just bounds the recursion
    const std::optional<float> b = compute(*v->producer);
    memo[v] = b;
    return b;
  }

  std::optional<float> compute(const Node& n) {
    const std::string& op = n.op_type;
    if (!n.domain.empty() && n.domain != "ai.onnx") return std::nullopt;
    if (op == "Relu" || op == "Sigmoid" || op == "Softmax" || op == "Abs" || op == "Exp" ||
        op == "Softplus" || op == "HardSigmoid")
      return 0.f;
    if (op == "HardSwish") return -0.375f;
    if (op == "Clip") {
      const Value* lo = n.input(1);
      if (lo && lo->is_constant() && lo->initializer->numel() == 1) return lo->initializer->to_float().at(0);
      if (n.attrs.count("min")) return n.attr_float("min", 0.f);
      return std::nullopt;
    }
    if (op == "Mul") {  // SiLU: Mul(x, Sigmoid(x)) in either operand order
      for (const Value* in : n.inputs) {
        const Value* x = other_input(n, in);
        if (in && x && in->producer && in->producer->op_type == "Sigmoid" && in->producer->input(0) == x)
          return kSiluMin;
      }
      return std::nullopt;
    }
    if (op == "Add" && n.inputs.size() == 2) {  // a residual sum of two bounded tensors
      const std::optional<float> a = of(n.input(0)), b = of(n.input(1));
      if (a && b) return *a + *b;
      return std::nullopt;
    }
    if (op == "Concat") {
      float lo = std::numeric_limits<float>::infinity();
      for (const Value* in : n.inputs) {
        const std::optional<float> b = of(in);
        if (!b) return std::nullopt;
        lo = std::min(lo, *b);
      }
      return n.inputs.empty() ? std::nullopt : std::optional<float>(lo);
    }
    if (keeps_input_bound(n)) return of(n.input(0));
    return std::nullopt;
  }
};

}  // namespace

std::map<std::string, float> activation_lower_bounds(const Graph& graph,
                                                     const std::map<std::string, float>& input_bounds) {
  BoundFinder finder{.inputs = input_bounds, .memo = {}};
  std::map<std::string, float> bounds;
  for (const Value* in : graph.inputs)
    if (const std::optional<float> b = finder.of(in); b && std::isfinite(*b))
      bounds[in->name] = std::min(*b, 0.f);
  for (const auto& n : graph.nodes())
    for (const Value* v : n->outputs)
      if (const std::optional<float> b = finder.of(v); b && std::isfinite(*b))
        bounds[v->name] = std::min(*b, 0.f);  // 0 stays exactly representable
  return bounds;
}

std::map<std::string, float> lower_bounds_for(const Graph& graph, bool asymmetric) {
  if (!asymmetric) return {};
  std::map<std::string, float> images;
  for (const Value* in : graph.inputs)
    if (in->shape.size() == 4 && in->dtype == DType::kFloat32 && !in->is_constant()) images[in->name] = 0.f;
  return activation_lower_bounds(graph, images);
}

const char* activations_name(bool asymmetric) {
  return asymmetric ? "asymmetric" : "symmetric";
}

const char* weights_name(bool reduce_range) {
  return reduce_range ? "7-bit" : "8-bit";
}

std::map<std::string, QuantParams> activation_params(const QuantPlan& plan,
                                                     const std::map<std::string, float>& amax,
                                                     const std::map<std::string, float>& lower_bounds) {
  const std::map<std::string, float> shared = group_amax(plan, amax);
  // A group is asymmetric only when every tensor of it is bounded: its tensors share scale and zero point.
  std::map<int, float> group_lo;
  std::set<int> unbounded;
  for (const QuantActivation& a : plan.activations) {
    auto it = lower_bounds.find(a.tensor);
    if (it == lower_bounds.end()) {
      unbounded.insert(a.group);
      continue;
    }
    auto [g, fresh] = group_lo.try_emplace(a.group, it->second);
    if (!fresh) g->second = std::min(g->second, it->second);
  }
  std::map<std::string, QuantParams> params;
  for (const QuantActivation& a : plan.activations) {
    const float hi = shared.at(a.tensor);
    if (!unbounded.count(a.group))
      params[a.tensor] = QuantParams::asymmetric_from_range(std::max(group_lo.at(a.group), -hi), hi);
    else
      params[a.tensor] = QuantParams::per_tensor_from_amax(hi);
  }
  return params;
}

}  // namespace partq
