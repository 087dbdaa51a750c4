// fold_pad_into_conv: a zero constant Pad of the spatial dims in front of Convs becomes the Convs' own pads.
#include <algorithm>

#include "partq/passes.hpp"
#include "pass_util.hpp"

namespace partq {

namespace {

// The Pad's begin/end pads over every dim of a rank-`rank` input, if they are compile-time constants.
std::optional<std::vector<int64_t>> full_pads(const Node& pad, size_t rank) {
  auto pads = detail::constant_of(pad.input(1));
  if (!pads || (pads->dtype != DType::kInt64 && pads->dtype != DType::kInt32)) return std::nullopt;
  const std::vector<int64_t> p = pads->to_int64();
  std::vector<int64_t> axes;
  if (const Value* a = pad.input(3)) {
    auto t = detail::constant_of(a);
    if (!t) return std::nullopt;
    for (int64_t axis : t->to_int64())
      axes.push_back(axis < 0 ? axis + static_cast<int64_t>(rank) : axis);
  } else {
    for (size_t d = 0; d < rank; ++d)
      axes.push_back(static_cast<int64_t>(d));
  }
  if (p.size() != 2 * axes.size()) return std::nullopt;
  std::vector<int64_t> full(2 * rank, 0);
  for (size_t i = 0; i < axes.size(); ++i) {
    if (axes[i] < 0 || axes[i] >= static_cast<int64_t>(rank)) return std::nullopt;
    full[axes[i]] = p[i];
    full[axes[i] + rank] = p[i + axes.size()];
  }
  return full;
}

bool zero_fill(const Node& pad) {
  const Value* v = pad.input(2);
  if (!v) return true;
  auto t = detail::constant_of(v);
  if (!t) return false;
  if (t->numel() == 0) return true;
  if (t->numel() != 1) return false;
  return t->dtype == DType::kFloat32 ? t->to_float()[0] == 0.f : t->to_int64()[0] == 0;
}

bool try_fold(Graph& graph, Node* pad) {
  if (!pad->domain.empty() || pad->attr_string("mode", "constant") != "constant" || !zero_fill(*pad))
    return false;
  Value* x = pad->input(0);
  Value* y = pad->outputs.empty() ? nullptr : pad->outputs[0];
  if (!x || !y || y->consumers.empty()) return false;
  if (std::find(graph.outputs.begin(), graph.outputs.end(), y) != graph.outputs.end()) return false;
  // The rank: from the shape, or from a pads input that covers every dim.
  size_t rank = x->has_shape ? x->shape.size() : 0;
  if (!x->has_shape) {
    auto p = detail::constant_of(pad->input(1));
    if (!p || pad->input(3)) return false;
    rank = static_cast<size_t>(p->numel() / 2);
  }
  if (rank < 3) return false;
  const size_t spatial = rank - 2;
  const auto pads = full_pads(*pad, rank);
  if (!pads) return false;
  // Batch and channels unpadded; spatial pads non-negative (a crop is not a conv padding).
  for (size_t d : {size_t{0}, size_t{1}})
    if ((*pads)[d] != 0 || (*pads)[d + rank] != 0) return false;
  for (size_t d = 2; d < rank; ++d)
    if ((*pads)[d] < 0 || (*pads)[d + rank] < 0) return false;
  for (const Node* c : y->consumers) {
    if (c->op_type != "Conv" || !c->domain.empty() || c->input(0) != y) return false;
    const std::string auto_pad = c->attr_string("auto_pad", "NOTSET");
    if (auto_pad != "NOTSET" && auto_pad != "VALID") return false;
    if (auto_pad == "NOTSET" && c->has_attr("pads") && c->attr_ints("pads").size() != 2 * spatial)
      return false;
  }
  const std::vector<Node*> convs = y->consumers;
  for (Node* c : convs) {
    std::vector<int64_t> conv_pads = c->attr_string("auto_pad", "NOTSET") == "VALID"
                                         ? std::vector<int64_t>(2 * spatial, 0)
                                         : c->attr_ints("pads", std::vector<int64_t>(2 * spatial, 0));
    for (size_t i = 0; i < spatial; ++i) {
      conv_pads[i] += (*pads)[2 + i];
      conv_pads[i + spatial] += (*pads)[2 + i + rank];
    }
    c->attrs["pads"] = conv_pads;
    c->attrs.erase("auto_pad");
    graph.set_input(c, 0, x);
  }
  graph.erase_node(pad);
  return true;
}

}  // namespace

int fold_pad_into_conv(Graph& graph) {
  std::vector<Node*> pads;
  for (const auto& n : graph.nodes())
    if (n->op_type == "Pad") pads.push_back(n.get());
  int folded = 0;
  for (Node* p : pads)
    folded += try_fold(graph, p) ? 1 : 0;
  if (folded) graph.remove_unused_values();
  return folded;
}

}  // namespace partq
