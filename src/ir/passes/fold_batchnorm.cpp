// fold_batchnorm: Conv -> BatchNormalization becomes one Conv with scaled weights and a shifted bias.
#include <algorithm>
#include <cmath>

#include "partq/error.hpp"
#include "partq/passes.hpp"
#include "pass_util.hpp"

namespace partq {

namespace {

struct BnParams {
  std::vector<float> scale, bias, mean, var;
  float epsilon = 1e-5f;
};

// The BN parameters if they are all constant float tensors of `channels` elements.
std::optional<BnParams> constant_bn_params(const Node& bn, int64_t channels) {
  BnParams p;
  std::vector<float>* fields[] = {&p.scale, &p.bias, &p.mean, &p.var};
  for (size_t i = 0; i < 4; ++i) {
    auto t = detail::constant_of(bn.input(i + 1));
    if (!t || (t->dtype != DType::kFloat32 && t->dtype != DType::kFloat64) || t->numel() != channels)
      return std::nullopt;
    *fields[i] = t->to_float();
  }
  p.epsilon = bn.attr_float("epsilon", 1e-5f);
  return p;
}

// Folds `bn` into the Conv producing its input when that is safe; returns whether it did.
bool try_fold(Graph& graph, Node* bn) {
  if (!bn->domain.empty() || bn->attr_int("training_mode", 0) != 0) return false;
  for (size_t i = 1; i < bn->outputs.size(); ++i)  // training-mode statistics outputs must be unused
    if (!bn->outputs[i]->consumers.empty()) return false;
  Value* x = bn->input(0);
  if (!x || !x->producer || x->consumers.size() != 1) return false;
  if (std::find(graph.outputs.begin(), graph.outputs.end(), x) != graph.outputs.end()) return false;
  Node* conv = x->producer;
  if (conv->op_type != "Conv" || !conv->domain.empty() || conv->outputs.size() != 1) return false;
  auto weight = detail::constant_of(conv->input(1));
  if (!weight || weight->dtype != DType::kFloat32 || weight->shape.size() < 3) return false;
  auto conv_bias = detail::constant_of(conv->input(2));
  if (conv->input(2) && (!conv_bias || conv_bias->dtype != DType::kFloat32)) return false;
  const int64_t out_channels = weight->shape[0];
  if (conv_bias && conv_bias->numel() != out_channels) return false;
  auto bn_params = constant_bn_params(*bn, out_channels);
  if (!bn_params) return false;

  // Per output channel m: factor = gamma / sqrt(var + eps); w' = w * factor; b' = (b - mean) * factor + beta.
  // Grouped convs need nothing special: axis 0 of the weight is the output channel either way.
  Tensor new_weight = *weight;
  Tensor new_bias(DType::kFloat32, {out_channels});
  auto w = new_weight.as<float>();
  auto b = new_bias.as<float>();
  const size_t per_channel = w.size() / static_cast<size_t>(out_channels);
  std::vector<float> old_bias = conv_bias ? conv_bias->to_float() : std::vector<float>(out_channels, 0.0f);
  for (int64_t m = 0; m < out_channels; ++m) {
    const double factor = static_cast<double>(bn_params->scale[m]) /
                          std::sqrt(static_cast<double>(bn_params->var[m]) + bn_params->epsilon);
    for (size_t k = 0; k < per_channel; ++k) {
      float& value = w[static_cast<size_t>(m) * per_channel + k];
      value = static_cast<float>(value * factor);
    }
    b[m] = static_cast<float>((old_bias[m] - bn_params->mean[m]) * factor + bn_params->bias[m]);
  }
  graph.set_input(conv, 1, detail::add_constant(graph, conv->name + ".weight_bnfold", std::move(new_weight)));
  graph.set_input(conv, 2, detail::add_constant(graph, conv->name + ".bias_bnfold", std::move(new_bias)));

  // The Conv takes over the BN's output value so every downstream name (and graph output) stays the same.
  Value* y = bn->outputs[0];
  graph.erase_node(bn);
  conv->outputs[0] = y;
  y->producer = conv;
  x->producer = nullptr;
  return true;
}

}  // namespace

bool fold_batchnorm(Graph& graph) {
  std::vector<Node*> bns;
  for (const auto& n : graph.nodes())
    if (n->op_type == "BatchNormalization") bns.push_back(n.get());
  bool changed = false;
  for (Node* bn : bns)
    changed |= try_fold(graph, bn);
  if (changed) graph.remove_unused_values();
  return changed;
}

}  // namespace partq
