#include "graph_queries.hpp"

#include <fmt/format.h>

namespace partq::quant_detail {

bool is_quantizable_op(const Node& node) {
  if (!node.domain.empty() && node.domain != "ai.onnx") return false;
  return node.op_type == "Conv" || node.op_type == "ConvTranspose" || node.op_type == "Gemm" ||
         node.op_type == "MatMul";
}

bool is_float(const Value* v) {
  return v && (v->dtype == DType::kFloat32 || v->dtype == DType::kUndefined);
}

QuantizableInputs quantizable_inputs(const Node& node) {
  QuantizableInputs q;
  if (node.op_type == "ConvTranspose") {
    q.weight_axis = 1;  // weight is [C_in, C_out/group, kh, kw]
  } else if (node.op_type == "Gemm") {
    q.weight_axis = node.attr_int("transB", 0) ? 0 : 1;  // B is [N,K] when transposed, else [K,N]
  } else if (node.op_type == "MatMul") {
    const Value* w = node.input(1);
    q.weight_axis = w && w->is_constant() ? static_cast<int64_t>(w->initializer->shape.size()) - 1 : 1;
  }
  return q;
}

const Node* softmax_behind(const Value* v) {
  static const std::set<std::string> kLayoutOps = {"Reshape", "Transpose", "Flatten",
                                                   "Squeeze", "Unsqueeze", "Identity"};
  for (const Node* p = v ? v->producer : nullptr; p; p = p->input(0) ? p->input(0)->producer : nullptr) {
    if (p->op_type == "Softmax") return p;
    if (!kLayoutOps.count(p->op_type)) return nullptr;
  }
  return nullptr;
}

std::optional<std::string> int8_blocker(const Node& node) {
  const QuantizableInputs q = quantizable_inputs(node);
  const Value* data = node.input(q.data_index);
  const Value* weight = node.input(q.weight_index);
  if (!data || !weight) return "missing input";
  if (!weight->is_constant()) return "weight not constant";
  if (weight->initializer->dtype != DType::kFloat32)
    return fmt::format("weight is {}, not float32", dtype_name(weight->initializer->dtype));
  if (!is_float(data)) return fmt::format("data input is {}, not float32", dtype_name(data->dtype));
  if (data->is_constant()) return "data input is a constant";
  if (node.op_type == "MatMul" && weight->initializer->shape.size() != 2)
    return fmt::format("MatMul weight of rank {} (only 2-D weights are quantized)",
                       weight->initializer->shape.size());
  return std::nullopt;
}

std::set<const Node*> head_decode_nodes(const Graph& graph) {
  // Walk backwards (nodes are in topological order): a node reaches a quantizable node if one of the
  // consumers of its outputs is quantizable or reaches one.
  std::set<const Node*> reaches;
  const auto& nodes = graph.nodes();
  for (auto it = nodes.rbegin(); it != nodes.rend(); ++it) {
    const Node* node = it->get();
    bool r = false;
    for (const Value* out : node->outputs)
      for (const Node* consumer : out->consumers)
        if (is_quantizable_op(*consumer) || reaches.count(consumer)) r = true;
    if (r) reaches.insert(node);
  }
  std::set<const Node*> decode;
  for (const auto& n : nodes)
    if (!is_quantizable_op(*n) && !reaches.count(n.get())) decode.insert(n.get());
  return decode;
}

std::set<const Node*> first_quantizable_nodes(const Graph& graph) {
  std::set<const Node*> after_quantizable;  // nodes with a quantizable node upstream (or that are one)
  std::set<const Node*> first;
  for (const auto& n : graph.nodes()) {
    bool upstream = false;
    for (const Value* in : n->inputs)
      if (in && in->producer && after_quantizable.count(in->producer)) upstream = true;
    if (is_quantizable_op(*n) && !upstream) first.insert(n.get());
    if (upstream || is_quantizable_op(*n)) after_quantizable.insert(n.get());
  }
  return first;
}

}  // namespace partq::quant_detail
