// set_batch: re-specialise a model exported at a fixed batch (or with a dynamic batch axis) to a batch.
//
// Rewritten:
//   - dim 0 of every graph input and output of rank >= 2 (all must agree on the old batch);
//   - Reshape nodes whose shape input is constant (initializer or Constant node) with first element == old
//   batch,
//     applied to data whose leading dim is the batch (data dim 0 == old batch, or unknown): that element
//     becomes the new batch, e.g. yolov5's [1,3,85,80,80] and [1,-1,85]. A shared shape constant is copied,
//     not edited.
// Left alone: Reshape targets starting with 0 (copy) or -1 (inferred) — they follow the batch by themselves.
// Refused (Error naming the node): a constant Reshape target on batch-leading data that starts with any other
// number (the batch is folded into it, e.g. [3,85,6400]); batch-dependent constants elsewhere (Expand, Tile,
// ConstantOfShape) are not analysed — they surface as ONNX shape-inference or runtime errors.
// Afterwards every intermediate shape is recomputed by ONNX shape inference.
#include <algorithm>

#include "partq/error.hpp"
#include "partq/onnx_io.hpp"
#include "partq/passes.hpp"
#include "pass_util.hpp"

namespace partq {

namespace {

// The batch the model was exported at. A dynamic batch dim (an export with a dynamic batch axis) counts as
// 1: its Reshape targets then start with 0 / -1 or come from Shape ops, and a constant one that starts with a
// number hard-codes the batch the exporter traced with, which is 1 in practice.
int64_t old_batch_of(const Graph& graph) {
  int64_t old_batch = -1;
  for (const Value* v : graph.inputs) {
    if (!v->has_shape || v->shape.size() < 2) continue;
    const int64_t b = v->shape[0] < 1 ? 1 : v->shape[0];
    if (old_batch >= 0 && b != old_batch)
      fail("set_batch: graph inputs disagree on the batch ({} vs {} for '{}')", old_batch, v->shape[0],
           v->name);
    old_batch = b;
  }
  if (old_batch < 0)
    fail("set_batch: graph '{}' has no input of rank >= 2 to take a batch dim from", graph.name);
  return old_batch;
}

// Rewrites a Reshape's constant target for the new batch; returns whether it changed.
bool respecialise_reshape(Graph& graph, Node* reshape, int64_t old_batch, int64_t batch) {
  Value* data = reshape->input(0);
  Value* target_value = reshape->input(1);
  auto target = detail::constant_of(target_value);
  if (!data || !target || data->is_constant()) return false;
  const bool data_leads_with_batch =
      !data->has_shape || data->shape.empty() || data->shape[0] == old_batch || data->shape[0] < 0;
  if (!data_leads_with_batch) return false;
  std::vector<int64_t> dims = target->to_int64();
  if (dims.empty() || dims[0] == 0 || dims[0] == -1) return false;
  if (dims[0] != old_batch)
    fail(
        "set_batch: Reshape '{}' reshapes {} (batch {}) to the constant {}, whose first dim is not the "
        "batch; "
        "cannot re-specialise it safely",
        reshape->name, data->has_shape ? shape_str(data->shape) : "?", old_batch, shape_str(dims));
  dims[0] = batch;
  Tensor rewritten = Tensor::from_int64(target->shape, dims);
  graph.set_input(reshape, 1,
                  detail::add_constant(graph, target_value->name + "_batch", std::move(rewritten)));
  // A Constant node left without users would linger as a dead node.
  Node* producer = target_value->producer;
  const bool is_output = std::count(graph.outputs.begin(), graph.outputs.end(), target_value) > 0;
  if (producer && target_value->consumers.empty() && !is_output && producer->outputs.size() == 1)
    graph.erase_node(producer);
  return true;
}

}  // namespace

void set_batch(Graph& graph, int64_t batch) {
  if (batch < 1) fail("set_batch: batch must be >= 1, got {}", batch);
  const int64_t old_batch = old_batch_of(graph);
  for (const Value* out : graph.outputs)
    if (out->has_shape && out->shape.size() >= 2 && out->shape[0] != old_batch && out->shape[0] >= 0)
      fail("set_batch: graph output '{}' {} does not lead with the input batch {}", out->name,
           shape_str(out->shape), old_batch);
  std::vector<Node*> reshapes;
  for (const auto& n : graph.nodes())
    if (n->op_type == "Reshape" && n->domain.empty()) reshapes.push_back(n.get());
  for (Node* r : reshapes)
    respecialise_reshape(graph, r, old_batch, batch);
  for (Value* v : graph.inputs)
    if (v->has_shape && v->shape.size() >= 2) v->shape[0] = batch;
  for (Value* v : graph.outputs)
    if (v->has_shape && v->shape.size() >= 2) v->shape[0] = batch;
  graph.remove_unused_values();
  // Constants added above come after their consumers in node order only as initializers, which need no order.
  infer_shapes(graph);
}

}  // namespace partq
