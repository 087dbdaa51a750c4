// ONNX import / export for the partq IR (libonnx 1.12 + protobuf).
//
// Import contract (load_onnx / load_onnx_from_bytes):
//   - the model must pass onnx::checker::check_model; ONNX shape inference (non-strict) is run and every
//   inferred
//     value_info dtype/shape is copied into the matching Value (graph inputs/outputs keep their declared
//     shapes, symbolic dims become -1);
//   - default-domain opset 1..22 is accepted (1..6 only with the legacy attributes canonicalize() can drop)
//   (Graph::opset records it), anything else is an Error naming it. libonnx 1.12 knows opsets up to 17 and IR
//   versions up to 8: a model of opset 18..22 is read through its opset-17 forms (Graph::opset 17,
//   Graph::file_opset the file's), refused naming the node where no such form means the same, and an IR
//   version 9..12 is read as 8 (they only added element types the checker then refuses);
//   - initializers become Values carrying `initializer`; a graph input that is also an initializer is NOT
//   listed
//     in Graph::inputs (it is a weight, not a feed);
//   - `Constant` nodes stay nodes (fold_constants in passes.hpp turns them into initializers);
//   - unnamed nodes get unique generated names ("<op_type>_<index>"); metadata_props go to Graph::metadata;
//   - tensors stored as external data are rejected with an Error (partq reads self-contained files only).
// Every failure is a partq::Error whose message names the file (or the label for in-memory bytes).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "partq/ir.hpp"

namespace partq {

// Reads, checks and shape-infers an ONNX model file. The returned Graph owns everything it refers to.
std::unique_ptr<Graph> load_onnx(const std::string& path);
// Same from a serialized ModelProto in memory; `label` names the source in error messages.
std::unique_ptr<Graph> load_onnx_from_bytes(std::string_view bytes, const std::string& label);

// Graph -> serialized ModelProto (opset import, metadata, value_info for known shapes), checked with the ONNX
// checker first; throws Error if the result does not pass.
std::string serialize_onnx(const Graph& graph);
// serialize_onnx, written to a temporary file beside `path` and renamed into place: a failure leaves no
// partial file behind.
void save_onnx(const Graph& graph, const std::string& path);

// Re-runs ONNX shape inference (non-strict) over the graph (round trip through a ModelProto) and refreshes
// every non-I/O Value's dtype/shape from it. Stale intermediate shapes are cleared first.
void infer_shapes(Graph& graph);

// Reads one serialized onnx TensorProto (the ONNX node-test format, e.g. test_data_set_0/input_0.pb), from
// raw_data or the typed fields. Supports float, double, float16, int64, int32, int8, uint8, bool.
Tensor load_tensor_pb(const std::string& path);
// The same from bytes; `label` names the source in error messages.
Tensor parse_tensor_pb(std::string_view bytes, const std::string& label);

}  // namespace partq
