// canonicalize: bring a graph of opset 1..12 to the opset-13 forms the engine handles.
//
// Rewrites (only when the graph's opset is below 13; from 13 on these forms are already the only legal ones):
//   Split split=[..]            -> Split(x, split)            Squeeze/Unsqueeze axes=[..] -> op(x, axes)
//   ReduceSum axes=[..]         -> ReduceSum(x, axes)         Clip min=,max= (opset < 11)  -> Clip(x, min,
//   max) Slice starts/ends/axes attrs (opset < 10) -> inputs       Pad pads=,value= (opset < 11) -> Pad(x,
//   pads, value) TopK k= (opset < 10)        -> TopK(x, k)                 Dropout ratio= (opset < 12)  ->
//   attribute dropped Upsample / Resize-10 (x, scales) -> Resize(x, "", scales) with asymmetric coordinates
//   (and floor for nearest) BatchNormalization spatial=1 (opset < 9) -> attribute dropped Softmax /
//   LogSoftmax / Hardmax (opset < 13 flatten to 2D at `axis`, default 1): given an explicit axis when
//     that axis is the last one (same result at opset 13); any other case is an Error naming the node.
// Afterwards Graph::opset is 13.
#include "partq/error.hpp"
#include "partq/passes.hpp"
#include "pass_util.hpp"

namespace partq {

namespace {

constexpr int64_t kCanonicalOpset = 13;

Value* int64_const(Graph& graph, const Node& node, const std::string& what,
                   const std::vector<int64_t>& values) {
  return detail::add_constant(graph, node.name + "." + what,
                              Tensor::from_int64({static_cast<int64_t>(values.size())}, values));
}

Value* scalar_const(Graph& graph, const Node& node, const std::string& what, float value, DType dtype) {
  Tensor t = Tensor::scalar_float(value);
  if (dtype == DType::kFloat16 || dtype == DType::kFloat64)
    fail("node '{}' ({}): cannot canonicalize a {} Clip/Pad attribute; only float32 is handled", node.name,
         node.op_type, dtype_name(dtype));
  return detail::add_constant(graph, node.name + "." + what, std::move(t));
}

// Moves an ints attribute to input `index` (no-op when absent).
void ints_attr_to_input(Graph& graph, Node* node, const std::string& attr, size_t index) {
  if (!node->has_attr(attr)) return;
  Value* v = int64_const(graph, *node, attr, node->attr_ints(attr));
  node->attrs.erase(attr);
  graph.set_input(node, index, v);
}

void canonicalize_softmax(Node* node) {
  const Value* x = node->input(0);
  const int64_t axis = node->attr_int("axis", 1);
  if (!x || !x->has_shape)
    fail("node '{}' ({}): opset < 13 semantics with unknown input rank cannot be expressed at opset 13",
         node->name, node->op_type);
  const auto rank = static_cast<int64_t>(x->shape.size());
  if ((axis < 0 ? axis + rank : axis) != rank - 1)
    fail("node '{}' ({}): opset < 13 flattens the input {} at axis {}, which opset 13 cannot express",
         node->name, node->op_type, shape_str(x->shape), axis);
  node->attrs["axis"] = int64_t{-1};
}

void upsample_to_resize(Graph& graph, Node* node) {
  const std::string mode = node->attr_string("mode", "nearest");
  Value* scales = node->input(1);
  if (!scales) {  // opset 7: scales attribute
    auto values = node->attr_floats("scales");
    scales = detail::add_constant(graph, node->name + ".scales",
                                  Tensor::from_float({static_cast<int64_t>(values.size())}, values));
  }
  node->attrs.clear();
  node->op_type = "Resize";
  node->attrs["mode"] = mode == "nearest" ? std::string("nearest") : std::string("linear");
  node->attrs["coordinate_transformation_mode"] = std::string("asymmetric");
  if (mode == "nearest") node->attrs["nearest_mode"] = std::string("floor");
  graph.set_input(node, 1, nullptr);
  graph.set_input(node, 2, scales);  // Resize(x, roi = omitted, scales)
}

// Rewrites one node; returns whether it changed.
bool canonicalize_node(Graph& graph, Node* node, int64_t opset) {
  const std::string& op = node->op_type;
  if (!node->domain.empty()) return false;
  const DType dtype = node->input(0) ? node->input(0)->dtype : DType::kUndefined;
  if (opset < 7) {
    // Opsets 1-6: `consumed_inputs` (an in-place hint, opset < 6) has no meaning for inference; the legacy
    // `broadcast` flag of binary ops means numpy broadcasting when B's shape is a suffix of A's (no `axis`).
    bool changed = node->attrs.erase("consumed_inputs") > 0;
    changed |= op == "BatchNormalization" && node->attrs.erase("is_test") > 0;
    if (node->has_attr("broadcast")) {
      if (node->has_attr("axis"))
        fail("node '{}' ({}): legacy opset-{} broadcasting along `axis` is not supported", node->name, op,
             opset);
      node->attrs.erase("broadcast");
      changed = true;
    }
    if (changed) return true;
  }
  if (op == "Split" && node->has_attr("split")) {
    ints_attr_to_input(graph, node, "split", 1);
    return true;
  }
  if ((op == "Squeeze" || op == "Unsqueeze" || op == "ReduceSum") && node->has_attr("axes")) {
    ints_attr_to_input(graph, node, "axes", 1);
    return true;
  }
  if (op == "Clip" && opset < 11) {
    const bool has_min = node->has_attr("min"), has_max = node->has_attr("max");
    if (has_min)
      graph.set_input(node, 1, scalar_const(graph, *node, "min", node->attr_float("min", 0), dtype));
    if (has_max)
      graph.set_input(node, 2, scalar_const(graph, *node, "max", node->attr_float("max", 0), dtype));
    node->attrs.erase("min");
    node->attrs.erase("max");
    return has_min || has_max;
  }
  if (op == "Slice" && opset < 10) {
    ints_attr_to_input(graph, node, "starts", 1);
    ints_attr_to_input(graph, node, "ends", 2);
    ints_attr_to_input(graph, node, "axes", 3);
    return true;
  }
  if (op == "Pad" && opset < 11) {
    const float value = node->attr_float("value", 0.0f);
    ints_attr_to_input(graph, node, "pads", 1);
    if (value != 0.0f) graph.set_input(node, 2, scalar_const(graph, *node, "value", value, dtype));
    node->attrs.erase("value");
    return true;
  }
  if (op == "TopK" && opset < 10 && node->has_attr("k")) {
    graph.set_input(node, 1, int64_const(graph, *node, "k", {node->attr_int("k", 1)}));
    node->attrs.erase("k");
    return true;
  }
  if (op == "Dropout" && opset < 12 && node->has_attr("ratio")) {
    node->attrs.erase("ratio");  // inference ignores the ratio
    return true;
  }
  if (op == "BatchNormalization" && opset < 9 && node->has_attr("spatial")) {
    if (node->attr_int("spatial", 1) != 1)
      fail("node '{}' (BatchNormalization): spatial=0 is not supported", node->name);
    node->attrs.erase("spatial");
    return true;
  }
  if ((op == "Softmax" || op == "LogSoftmax" || op == "Hardmax") && opset < 13) {
    canonicalize_softmax(node);
    return true;
  }
  if (op == "Upsample" || (op == "Resize" && opset < 11)) {
    upsample_to_resize(graph, node);
    return true;
  }
  return false;
}

}  // namespace

bool canonicalize(Graph& graph) {
  if (graph.opset >= kCanonicalOpset) return false;
  std::vector<Node*> nodes;
  for (const auto& n : graph.nodes())
    nodes.push_back(n.get());
  for (Node* n : nodes)
    canonicalize_node(graph, n, graph.opset);
  // New constants were appended after their consumers' producers; constants need no ordering, so the graph
  // stays sorted.
  graph.opset = kCanonicalOpset;
  return true;
}

}  // namespace partq
