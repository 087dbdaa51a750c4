// Helpers shared by the passes (internal to partq_ir).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "partq/ir.hpp"

namespace partq::detail {

// The tensor a Constant node's attributes describe (value / value_float(s) / value_int(s)); nullopt for forms
// partq does not read (sparse_value, strings).
std::optional<Tensor> constant_node_tensor(const Node& node);

// The constant data of `v`: its initializer, or the tensor of the Constant node producing it; null otherwise.
std::shared_ptr<const Tensor> constant_of(const Value* v);

// Adds an initializer named after `base` (made unique).
Value* add_constant(Graph& graph, const std::string& base, Tensor tensor);

// `t` converted to `to` as ONNX Cast does (integers from floats truncate toward zero; bool is != 0).
Tensor cast_to(const Tensor& t, DType to);

// Evaluates one node of the small constant-foldable set on constant inputs (null for omitted inputs);
// nullopt when the op or the dtypes are not handled. `opset` selects attribute-vs-input forms.
std::optional<std::vector<Tensor>> evaluate_constant_node(
    const Node& node, const std::vector<std::shared_ptr<const Tensor>>& inputs, int64_t opset);

}  // namespace partq::detail
