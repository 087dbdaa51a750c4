// Read-only questions about a graph that the placement selectors ask (internal to partq_quant).
#pragma once

#include <optional>
#include <set>
#include <string>

#include "partq/ir.hpp"

namespace partq::quant_detail {

bool is_quantizable_op(const Node& node);  // Conv, ConvTranspose, Gemm, MatMul (default domain)
bool is_float(const Value* v);             // float32, or dtype unknown

// Which inputs of a quantizable node are the data input and the weight, and the weight's channel axis.
struct QuantizableInputs {
  size_t data_index = 0;
  size_t weight_index = 1;
  int64_t weight_axis = 0;
};
QuantizableInputs quantizable_inputs(const Node& node);

// Why a quantizable node cannot run int8 (weight not constant, not float32 ...), or nullopt if it can.
std::optional<std::string> int8_blocker(const Node& node);

// The Softmax whose output `v` is (through Reshape / Transpose / Flatten / Squeeze / Unsqueeze / Identity),
// or null.
const Node* softmax_behind(const Value* v);

// Non-quantizable nodes from which no quantizable node can be reached: the detection-head decode.
std::set<const Node*> head_decode_nodes(const Graph& graph);

// Quantizable nodes with no quantizable node upstream of them (the stem conv).
std::set<const Node*> first_quantizable_nodes(const Graph& graph);

}  // namespace partq::quant_detail
