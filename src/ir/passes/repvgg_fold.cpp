// fold_repvgg_branches: RepVGG / RepOpt-style parallel branches summed by Add become one 3x3 Conv.
//
// A block (after fold_batchnorm turned each conv+BN into a Conv with bias) is Add(Add(a, b), c) or Add(a, b)
// whose terms are, all reading the same X:
//   - a 3x3 Conv (stride s, pads 1, group g, dilation 1),
//   - a 1x1 Conv (stride s, pads 0, group g, the same output channels),
//   - optionally an identity branch: a BatchNormalization of X, or X itself (stride 1, in == out channels).
// The sum is linear in X, so it equals one 3x3 Conv whose kernel is the 3x3 kernel plus the 1x1 kernel at
// the centre tap plus a per-channel identity at the centre tap (scaled by the BN factor), and whose bias is
// the sum of the biases (plus the BN shift).
#include <algorithm>
#include <cmath>
#include <unordered_set>

#include "partq/passes.hpp"
#include "pass_util.hpp"

namespace partq {

namespace {

bool is_graph_output(const Graph& graph, const Value* v) {
  return std::find(graph.outputs.begin(), graph.outputs.end(), v) != graph.outputs.end();
}

// `v` is read only by `user` (once) and is not a graph output: the branch can disappear with the block.
bool private_to(const Graph& graph, const Value* v, const Node* user) {
  return v && v->producer && v->consumers.size() == 1 && v->consumers[0] == user &&
         !is_graph_output(graph, v);
}

struct ConvBranch {
  Node* node = nullptr;
  Value* x = nullptr;
  std::shared_ptr<const Tensor> weight;  // [M, C/g, k, k]
  std::vector<float> bias;               // M values (zeros when the Conv has none)
  int64_t kernel = 0, group = 1;
  std::vector<int64_t> strides;
};

// A 2D Conv with constant f32 weight (and bias), square kernel `k` in {1, 3}, pads k/2 on every side,
// dilation 1, explicit padding.
std::optional<ConvBranch> match_conv(Node* n) {
  if (n->op_type != "Conv" || !n->domain.empty() || n->outputs.size() != 1 || !n->input(0))
    return std::nullopt;
  ConvBranch b;
  b.node = n;
  b.x = n->input(0);
  b.weight = detail::constant_of(n->input(1));
  if (!b.weight || b.weight->dtype != DType::kFloat32 || b.weight->shape.size() != 4) return std::nullopt;
  const Shape& ws = b.weight->shape;
  if (ws[2] != ws[3] || (ws[2] != 1 && ws[2] != 3)) return std::nullopt;
  b.kernel = ws[2];
  const std::string auto_pad = n->attr_string("auto_pad", "NOTSET");
  if (auto_pad != "NOTSET" && auto_pad != "") return std::nullopt;
  const int64_t pad = b.kernel / 2;
  if (n->attr_ints("pads", {0, 0, 0, 0}) != std::vector<int64_t>{pad, pad, pad, pad}) return std::nullopt;
  if (n->attr_ints("dilations", {1, 1}) != std::vector<int64_t>{1, 1}) return std::nullopt;
  if (n->has_attr("kernel_shape") && n->attr_ints("kernel_shape") != std::vector<int64_t>{ws[2], ws[3]})
    return std::nullopt;
  b.strides = n->attr_ints("strides", {1, 1});
  if (b.strides.size() != 2) return std::nullopt;
  b.group = n->attr_int("group", 1);
  if (b.group < 1 || ws[0] % b.group != 0) return std::nullopt;
  if (Value* bias_value = n->input(2)) {
    auto t = detail::constant_of(bias_value);
    if (!t || t->dtype != DType::kFloat32 || t->numel() != ws[0]) return std::nullopt;
    b.bias = t->to_float();
  } else {
    b.bias.assign(static_cast<size_t>(ws[0]), 0.0f);
  }
  return b;
}

// The identity branch y = x * scale[c] + shift[c]: a BatchNormalization of x with constant parameters
// (node set), or x itself (node null, scale 1, shift 0).
struct IdentityBranch {
  Node* node = nullptr;
  Value* x = nullptr;
  std::vector<double> scale, shift;
};

std::optional<IdentityBranch> match_batchnorm(Node* n) {
  if (n->op_type != "BatchNormalization" || !n->domain.empty() || !n->input(0)) return std::nullopt;
  if (n->attr_int("training_mode", 0) != 0) return std::nullopt;
  for (size_t i = 1; i < n->outputs.size(); ++i)
    if (!n->outputs[i]->consumers.empty()) return std::nullopt;
  std::vector<float> p[4];
  for (size_t i = 0; i < 4; ++i) {
    auto t = detail::constant_of(n->input(i + 1));
    if (!t || (t->dtype != DType::kFloat32 && t->dtype != DType::kFloat64) || t->shape.size() != 1)
      return std::nullopt;
    p[i] = t->to_float();
    if (p[i].size() != p[0].size()) return std::nullopt;
  }
  const double eps = n->attr_float("epsilon", 1e-5f);
  IdentityBranch id;
  id.node = n;
  id.x = n->input(0);
  for (size_t c = 0; c < p[0].size(); ++c) {
    const double factor = p[0][c] / std::sqrt(static_cast<double>(p[3][c]) + eps);
    id.scale.push_back(factor);
    id.shift.push_back(p[1][c] - p[2][c] * factor);
  }
  return id;
}

// The terms summed by `add`: its two inputs, or, for an input made by another Add read only here, that Add's
// two inputs (at most two Adds per block). `adds` collects the Add nodes of the block.
std::vector<Value*> summed_terms(const Graph& graph, Node* add, std::vector<Node*>& adds) {
  adds = {add};
  std::vector<Value*> terms;
  for (Value* in : add->inputs) {
    Node* p = in ? in->producer : nullptr;
    if (adds.size() == 1 && p && p->op_type == "Add" && p->domain.empty() && p->inputs.size() == 2 &&
        private_to(graph, in, add)) {
      adds.push_back(p);
      terms.insert(terms.end(), p->inputs.begin(), p->inputs.end());
    } else {
      terms.push_back(in);
    }
  }
  return terms;
}

// Folds the block ending at `add` when it matches; the erased nodes go to `erased`.
bool try_fold(Graph& graph, Node* add, std::unordered_set<const Node*>& erased) {
  if (!add->domain.empty() || add->inputs.size() != 2 || add->outputs.size() != 1) return false;
  std::vector<Node*> adds;
  std::vector<Value*> terms = summed_terms(graph, add, adds);
  if (terms.size() > 3 || std::find(terms.begin(), terms.end(), nullptr) != terms.end()) return false;
  // The Add reading each term (the inner Add for terms that came through it).
  auto reader_of = [&](const Value* term) {
    for (Node* a : adds)
      if (std::find(a->inputs.begin(), a->inputs.end(), term) != a->inputs.end()) return a;
    return add;
  };

  std::optional<ConvBranch> conv3, conv1;
  std::optional<IdentityBranch> identity;
  std::vector<Value*> bare;  // terms that are not a private Conv / BN: X itself, at most once
  for (Value* term : terms) {
    Node* p = term->producer;
    const bool owned = p && private_to(graph, term, reader_of(term));
    if (owned) {
      if (auto c = match_conv(p)) {
        auto& slot = c->kernel == 3 ? conv3 : conv1;
        if (slot) return false;
        slot = std::move(c);
        continue;
      }
      if (auto bn = match_batchnorm(p)) {
        if (identity) return false;
        identity = std::move(bn);
        continue;
      }
    }
    bare.push_back(term);
  }
  if (!conv3 || !conv1) return false;
  Value* x = conv3->x;
  if (conv1->x != x || conv1->group != conv3->group || conv1->strides != conv3->strides) return false;
  const Shape& w3s = conv3->weight->shape;
  if (conv1->weight->shape != Shape{w3s[0], w3s[1], 1, 1}) return false;
  const int64_t out_channels = w3s[0], group = conv3->group, in_per_group = w3s[1];
  const int64_t out_per_group = out_channels / group;
  if (bare.size() > 1) return false;
  if (bare.size() == 1) {
    if (identity || bare[0] != x) return false;
    identity = IdentityBranch{nullptr, x, std::vector<double>(out_channels, 1.0),
                              std::vector<double>(out_channels, 0.0)};
  }
  if (identity) {
    // y = x needs as many output as input channels, each output channel's input in its own group, and an
    // unstrided conv.
    if (identity->x != x || conv3->strides != std::vector<int64_t>{1, 1}) return false;
    if (in_per_group * group != out_channels || static_cast<int64_t>(identity->scale.size()) != out_channels)
      return false;
  }

  // Kernel: w3, + w1 at the centre tap, + the identity at the centre tap of channel m's own input channel.
  Tensor weight = *conv3->weight;
  auto w = weight.as<float>();
  const auto w1 = conv1->weight->as<float>();
  for (int64_t m = 0; m < out_channels; ++m)
    for (int64_t c = 0; c < in_per_group; ++c)
      w[static_cast<size_t>((m * in_per_group + c) * 9 + 4)] += w1[static_cast<size_t>(m * in_per_group + c)];
  Tensor bias(DType::kFloat32, {out_channels});
  auto b = bias.as<float>();
  for (int64_t m = 0; m < out_channels; ++m) {
    double sum = static_cast<double>(conv3->bias[m]) + conv1->bias[m];
    if (identity) {
      // Output channel m reads input channel m, which is local channel m - group_of(m) * in_per_group.
      const int64_t local = m - (m / out_per_group) * in_per_group;
      float& centre = w[static_cast<size_t>((m * in_per_group + local) * 9 + 4)];
      centre = static_cast<float>(centre + identity->scale[m]);
      sum += identity->shift[m];
    }
    b[m] = static_cast<float>(sum);
  }

  // The 3x3 Conv becomes the block: new parameters, and it takes over the outer Add's output value so every
  // downstream name (and graph output) stays the same.
  Node* conv = conv3->node;
  graph.set_input(conv, 1, detail::add_constant(graph, conv->name + ".weight_repvgg", std::move(weight)));
  graph.set_input(conv, 2, detail::add_constant(graph, conv->name + ".bias_repvgg", std::move(bias)));
  conv->attrs["kernel_shape"] = std::vector<int64_t>{3, 3};
  Value* old_out = conv->outputs[0];
  Value* y = add->outputs[0];
  for (Node* a : adds) {
    erased.insert(a);
    graph.erase_node(a);
  }
  erased.insert(conv1->node);
  graph.erase_node(conv1->node);
  if (identity && identity->node) {
    erased.insert(identity->node);
    graph.erase_node(identity->node);
  }
  conv->outputs[0] = y;
  y->producer = conv;
  old_out->producer = nullptr;
  return true;
}

}  // namespace

int fold_repvgg_branches(Graph& graph) {
  // Outermost Adds first, so a two-Add block is matched whole before its inner Add is tried on its own.
  std::vector<Node*> adds;
  for (const auto& n : graph.nodes())
    if (n->op_type == "Add") adds.push_back(n.get());
  std::unordered_set<const Node*> erased;
  int folded = 0;
  for (auto it = adds.rbegin(); it != adds.rend(); ++it)
    if (!erased.count(*it) && try_fold(graph, *it, erased)) ++folded;
  if (folded > 0) graph.remove_unused_values();
  return folded;
}

}  // namespace partq
