// fold_constants: replace nodes computable from constants by initializers.
#include <algorithm>
#include <set>

#include "partq/passes.hpp"
#include "pass_util.hpp"

namespace partq {

namespace {

// Folded results larger than this stay as nodes (shape subgraphs and head constants are far smaller);
// Constant nodes become initializers whatever their size, as that copies nothing new.
constexpr int64_t kMaxFoldedElements = 1 << 20;

const std::set<std::string>& foldable_ops() {
  static const std::set<std::string> ops = {"Constant", "Shape", "Gather",  "Unsqueeze", "Squeeze",
                                            "Concat",   "Cast",  "Reshape", "Slice",     "Add",
                                            "Mul",      "Sub",   "Div",     "Identity",  "Range"};
  return ops;
}

// Inputs as constant tensors, or nullopt if some present input is not constant. For Shape a fully known
// static shape stands in for the data (an empty-bytes tensor carrying only the shape).
std::optional<std::vector<std::shared_ptr<const Tensor>>> constant_inputs(const Node& node) {
  std::vector<std::shared_ptr<const Tensor>> tensors;
  for (size_t i = 0; i < node.inputs.size(); ++i) {
    const Value* in = node.inputs[i];
    if (!in) {
      tensors.push_back(nullptr);
    } else if (in->initializer) {
      tensors.push_back(in->initializer);
    } else if (node.op_type == "Shape" && i == 0 && in->has_shape && shape_numel(in->shape) >= 0) {
      auto shape_only = std::make_shared<Tensor>();
      shape_only->dtype = in->dtype;
      shape_only->shape = in->shape;
      tensors.push_back(std::move(shape_only));
    } else {
      return std::nullopt;
    }
  }
  return tensors;
}

}  // namespace

bool fold_constants(Graph& graph) {
  std::vector<Node*> nodes;
  for (const auto& n : graph.nodes())
    nodes.push_back(n.get());
  bool changed = false;
  for (Node* node : nodes) {  // topological order: a folded producer makes its consumers foldable
    if (!node->domain.empty() || !foldable_ops().count(node->op_type)) continue;
    const bool feeds_graph_output = std::any_of(
        node->outputs.begin(), node->outputs.end(),
        [&](const Value* v) { return std::count(graph.outputs.begin(), graph.outputs.end(), v) > 0; });
    if (feeds_graph_output) continue;
    auto inputs = constant_inputs(*node);
    if (!inputs) continue;
    auto results = detail::evaluate_constant_node(*node, *inputs, graph.opset);
    if (!results || results->size() != node->outputs.size()) continue;
    if (node->op_type != "Constant" && std::any_of(results->begin(), results->end(), [](const Tensor& t) {
          return t.numel() > kMaxFoldedElements;
        }))
      continue;
    // The output values keep their names (and consumers) and become initializers.
    std::vector<Value*> outputs = node->outputs;
    graph.erase_node(node);
    for (size_t i = 0; i < outputs.size(); ++i) {
      Value* v = outputs[i];
      Tensor& t = (*results)[i];
      v->dtype = t.dtype;
      v->shape = t.shape;
      v->has_shape = true;
      v->initializer = std::make_shared<const Tensor>(std::move(t));
    }
    changed = true;
  }
  if (changed) graph.remove_unused_values();
  return changed;
}

}  // namespace partq
