// Helpers shared by the passes.
#include "pass_util.hpp"

#include <cstring>

namespace partq::detail {

std::optional<Tensor> constant_node_tensor(const Node& node) {
  if (node.op_type != "Constant" || !node.domain.empty()) return std::nullopt;
  if (const Tensor* t = node.attr_tensor("value")) return *t;
  if (node.has_attr("value_float")) return Tensor::scalar_float(node.attr_float("value_float", 0));
  if (node.has_attr("value_floats")) {
    auto v = node.attr_floats("value_floats");
    return Tensor::from_float({static_cast<int64_t>(v.size())}, v);
  }
  if (node.has_attr("value_int")) {
    const int64_t v = node.attr_int("value_int", 0);
    return Tensor::from_int64({}, std::span<const int64_t>(&v, 1));
  }
  if (node.has_attr("value_ints")) {
    auto v = node.attr_ints("value_ints");
    return Tensor::from_int64({static_cast<int64_t>(v.size())}, v);
  }
  return std::nullopt;
}

std::shared_ptr<const Tensor> constant_of(const Value* v) {
  if (!v) return nullptr;
  if (v->initializer) return v->initializer;
  if (v->producer && v->producer->op_type == "Constant" && v->producer->domain.empty()) {
    if (auto t = constant_node_tensor(*v->producer)) return std::make_shared<const Tensor>(std::move(*t));
  }
  return nullptr;
}

Value* add_constant(Graph& graph, const std::string& base, Tensor tensor) {
  return graph.add_initializer(graph.unique_value_name(base), std::move(tensor));
}

}  // namespace partq::detail
