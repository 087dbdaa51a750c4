// Where Q/DQ go: the placement rules of partq's post-training quantization, as a pure analysis of a const
// Graph.
//
//   partq::QuantPlan plan = partq::plan_quantization(graph, {.keep_first_conv_float = true});
//
// The plan is the skeleton every later step shares (calibration taps plan.activations, the engine runs the
// nodes the plan marks int8, insert_qdq writes it as Q/DQ ONNX, read_qdq recovers it). Rules (see
// docs/quantization.md):
//   - quantizable nodes: Conv, ConvTranspose, Gemm, MatMul with a constant float weight. Their data input is
//     quantized per tensor, their weight per output channel (axis 0; 1 for ConvTranspose and for [K,N] Gemm /
//     MatMul weights);
//   - the detection-head decode = every non-quantizable node from which no quantizable node can be reached
//     (the grid/anchor arithmetic, exp/Pow, sigmoids and the output Concat/Reshape/Transpose after the last
//     convs) stays float and no rule touches it;
//   - both inputs of a residual Add (two non-constant inputs) that is fed by, or feeds, an int8 node are
//   quantized;
//   - a Concat whose output is quantized gets all its inputs quantized in the output's scale group; a MaxPool
//   or
//     Resize whose output is quantized gets its input quantized in the same group (INT8 flows through them).
// A tensor is quantized once (one Q/DQ pair) whatever the number of consumers; `consumers` lists the nodes
// that read the quantized version, every other consumer reads the float tensor. Partial quantization is a
// plan with some nodes float: set PlacementOptions::overrides and re-plan (cheap, a few milliseconds; the
// graph is never modified).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "partq/ir.hpp"
#include "partq/precision.hpp"
#include "partq/quant_params.hpp"

namespace partq {

const char* precision_name(Precision p);          // "int8" / "float"
Precision parse_precision(const std::string& s);  // Error for anything but "int8" / "float"

struct PlacementOptions {
  bool keep_first_conv_float = false;  // the quantizable node(s) with no quantizable node before them
  // Per-node precision by ONNX node name (sensitivity sweeps flip layers here). An unknown node name, or int8
  // for a node that cannot run int8 (non-constant weight), is an Error naming the node.
  std::map<std::string, Precision> overrides{};
  // The code the largest |w| of a weight's output channel maps to: 127 (8-bit), or kReducedRangeMaxCode for
  // reduced-range (7-bit) weights, which CPUs without VNNI run in exact s8 kernels (EngineOptions::
  // weight_max_code). Copied into the plan; the Q/DQ export and the engine options follow it.
  int weight_max_code = 127;
};

// One Conv / ConvTranspose / Gemm / MatMul.
struct QuantNode {
  std::string name;  // ONNX node name
  std::string op_type;
  std::string data_input{};  // the activation input (quantized per tensor when the node is int8)
  std::string weight{};      // the weight initializer ("" when the weight is not a constant)
  int64_t weight_axis = 0;   // per-channel axis of the weight (its output channels)
  Precision precision = Precision::kInt8;
  std::string reason{};  // why the node stays float ("" for int8)
};

// One quantized activation tensor: one QuantizeLinear -> DequantizeLinear pair, one scale shared with its
// group.
struct QuantActivation {
  std::string tensor;
  int group = 0;                         // scale-group id (tensors of a group share one scale)
  std::vector<std::string> consumers{};  // nodes that read the quantized tensor (in graph order)
};

struct ScaleGroup {
  int id = 0;
  std::vector<std::string> tensors;  // in plan order
  std::vector<std::string> nodes;    // int8 quantizable nodes whose data input is in this group
};

struct QuantPlan {
  std::string model_fingerprint;             // model_fingerprint() of the graph the plan was made for
  std::vector<QuantNode> nodes;              // every quantizable node, in graph order
  std::vector<QuantActivation> activations;  // in graph order (graph inputs first, then node outputs)
  std::vector<std::string> decode_nodes;     // the detection-head decode, left float
  int weight_max_code = 127;                 // PlacementOptions::weight_max_code

  const QuantNode* find_node(const std::string& name) const;  // null if absent
  const QuantActivation* find_activation(const std::string& tensor) const;
  int int8_node_count() const;
  // Groups derived from activations[].group (ids are dense 0..n-1 in order of first appearance).
  std::vector<ScaleGroup> groups() const;
};

// The placement rules above. Pure: reads the graph, returns the plan. Error for bad overrides.
QuantPlan plan_quantization(const Graph& graph, const PlacementOptions& options = {});

// A unit a sensitivity sweep flips: quantizable nodes whose data inputs share a scale group in the full-INT8
// plan (every eligible node int8, no overrides). Each eligible node is in exactly one layer.
struct QuantLayer {
  std::string name;                // the first node's name
  std::vector<std::string> nodes;  // in graph order
};
std::vector<QuantLayer> quant_layers(const Graph& graph);

// Per-tensor amax with the group rule applied: every tensor of a group gets the largest amax of the group.
// Error listing (up to 5) plan activations that have no finite, positive amax in `amax`.
std::map<std::string, float> group_amax(const QuantPlan& plan, const std::map<std::string, float>& amax);

// Opt-in asymmetric activations (ONNX Runtime / OpenVINO; TensorRT takes only zero point 0): the lower
// bound the graph guarantees for each value, by the op that makes it -- SiLU (Mul(x, Sigmoid(x))) >= -0.2785,
// Relu / Sigmoid / Softmax >= 0, HardSwish >= -0.375, Clip >= its min -- carried through MaxPool, Resize
// (nearest / linear), Concat (the smallest), Add (the sum of both bounds), Slice, Reshape and the like,
// starting from the bounds `input_bounds` gives graph inputs. Bounds above 0 are reported as 0. Unbounded
// values are absent.
std::map<std::string, float> activation_lower_bounds(const Graph& graph,
                                                     const std::map<std::string, float>& input_bounds = {});
// The bounds the options of the quantizing jobs pass on: when `asymmetric`, activation_lower_bounds with
// every 4D graph input (the image) bounded by 0 -- partq's preprocessing gives pixels in 0..1 or 0..255
// under every preset, and the exported model expects the same -- none (all symmetric) otherwise; and the
// mode's name in their JSON ("asymmetric" / "symmetric").
std::map<std::string, float> lower_bounds_for(const Graph& graph, bool asymmetric);
const char* activations_name(bool asymmetric);

// Reduced-range weights (ONNX Runtime's reduce_range): max|w| of a channel at code 63 instead of 127.
constexpr int kReducedRangeMaxCode = 63;
// The weight_max_code of the quantizing jobs' `reduce_range` option, and its name in their JSON ("8-bit" /
// "7-bit").
inline int weight_max_code_for(bool reduce_range) {
  return reduce_range ? kReducedRangeMaxCode : 127;
}
const char* weights_name(bool reduce_range);

// The quantization parameters of every plan activation: symmetric int8 (group amax / 127, zero point 0),
// except that a tensor whose whole scale group has lower bounds in `lower_bounds` is uint8 over
// [max(lo, -amax), amax] with lo the smallest bound of the group (QuantParams::asymmetric_from_range).
// Empty `lower_bounds` = all symmetric. Errors as group_amax.
std::map<std::string, QuantParams> activation_params(const QuantPlan& plan,
                                                     const std::map<std::string, float>& amax,
                                                     const std::map<std::string, float>& lower_bounds = {});

// A human-readable table for `partq inspect --quant`: one line per quantizable node (precision, scale group,
// data input, reason when float), then the shared scale groups and the decode nodes.
std::string describe_plan(const QuantPlan& plan);

// A stable hash of the graph's structure and weights: "fnv1a64:<16 hex digits>". Calibration files and plans
// carry it so that using one with another model is detected.
std::string model_fingerprint(const Graph& graph);

// JSON form of a plan (format "partq.quant_plan", version 1). from_json: Error naming `label` for a malformed
// one.
nlohmann::json to_json(const QuantPlan& plan);
QuantPlan quant_plan_from_json(const nlohmann::json& json, const std::string& label);
void write_quant_plan(const std::string& path, const QuantPlan& plan);  // atomic
QuantPlan read_quant_plan(const std::string& path);
// Error naming the first node / tensor of the plan that the graph does not have.
void check_plan_matches(const QuantPlan& plan, const Graph& graph, const std::string& label);

}  // namespace partq
