// Q/DQ ONNX: writing a QuantPlan into a graph (insert_qdq) and reading any Q/DQ model back (read_qdq).
//
// What insert_qdq writes (TensorRT explicit quantization / ONNX Runtime QDQ format, opset >= 13):
//   - every plan activation t: QuantizeLinear(t, t_scale, t_zero_point) -> DequantizeLinear -> the plan's
//     consumers of t (one pair per tensor; other consumers keep reading the float t). Scale: float scalar
//     group_amax/127, zero point: int8 scalar 0 -- or, for the tensors activation_params makes asymmetric,
//     the uint8 scale and zero point;
//   - every int8 node's weight: an int8 initializer `<w>_quantized` with per-channel float scales `<w>_scale`
//     and int8 zero points `<w>_zero_point` -> DequantizeLinear(axis) whose output keeps the name `<w>` (so
//     the node is unchanged and read_qdq gives the original names back);
//   - float nodes are left exactly as they were.
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>

#include "partq/ir.hpp"
#include "partq/quant.hpp"
#include "partq/quant_params.hpp"

namespace partq {

// A new graph with the plan's Q/DQ nodes. `amax` holds the calibrated per-tensor amax of every plan
// activation (the group rule is applied here: see group_amax). `lower_bounds` (activation_lower_bounds) asks
// for asymmetric activations where the graph bounds them. Errors: opset below 13, a plan node / tensor /
// weight the graph does not have, a missing or non-positive amax (naming the tensors).
std::unique_ptr<Graph> insert_qdq(const Graph& graph, const QuantPlan& plan,
                                  const std::map<std::string, float>& amax,
                                  const std::map<std::string, float>& lower_bounds = {});

// A Q/DQ model read back into what partq runs: the float graph without any QuantizeLinear / DequantizeLinear,
// plus the quantization it described.
struct QdqModel {
  std::unique_ptr<Graph> graph;  // weights are the dequantized floats (q * scale) for int8 initializers
  // Nodes (int8 when both data input and weight were quantized), activations, groups; weight_max_code 63 when
  // every int8 weight code is within +-63 (reduced-range weights), else 127.
  QuantPlan plan;
  std::map<std::string, QuantParams> activation_params;  // by tensor name, per tensor
  std::map<std::string, QuantParams> weight_params;      // by weight tensor name, per channel (or per tensor)
};

// Recognises QuantizeLinear -> DequantizeLinear on activations, DequantizeLinear on int8 initializers
// (weights; int32 initializers are biases and simply dequantized) and QuantizeLinear -> DequantizeLinear on
// float weight initializers. Scale groups: tensors joined by a Concat / MaxPool / Resize and carrying the
// same scale and zero point. Activations may be int8 with zero point 0 or uint8 with any zero point (the
// asymmetric mode; activation_params then holds it). Anything else is an Error naming the node: a non-zero
// int8 zero point, a uint8 weight, per-channel scales on an activation, a DequantizeLinear with no
// QuantizeLinear or initializer before it, a QuantizeLinear feeding something other than DequantizeLinear, a
// Q -> DQ pair whose scales differ, Q/DQ outside the default domain, a QuantizeLinear / DequantizeLinear
// output that is a graph output.
QdqModel read_qdq(const Graph& graph);

// True if the graph has any QuantizeLinear / DequantizeLinear node (cheap check before read_qdq).
bool has_qdq(const Graph& graph);

}  // namespace partq
