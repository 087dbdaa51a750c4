// Conversions between the partq IR and ONNX protobuf messages (internal to partq_ir).
#pragma once

#include <onnx/onnx_pb.h>

#include <memory>
#include <string>
#include <string_view>

#include "partq/ir.hpp"

namespace partq::detail {

// onnx::TensorProto_DataType <-> DType; unsupported element types map to kUndefined.
DType dtype_from_onnx(int32_t elem_type);
int32_t dtype_to_onnx(DType dtype);

// `context` names the file / node in error messages.
Tensor tensor_from_proto(const onnx::TensorProto& proto, const std::string& context);
void tensor_to_proto(const Tensor& tensor, const std::string& name, onnx::TensorProto* proto);

// Reads a whole file; Error naming the path if it is missing or unreadable.
std::string read_file_bytes(const std::string& path);

// Graph -> ModelProto, without running the checker (shape inference uses it on graphs in between passes).
onnx::ModelProto graph_to_model(const Graph& graph);
// ModelProto (already checked and shape-inferred) -> Graph; `label` names the source in errors.
std::unique_ptr<Graph> graph_from_model(const onnx::ModelProto& model, const std::string& label);

// The newest default-domain opset the ONNX library partq links (1.12) knows, and the newest partq reads.
constexpr int64_t kCheckerOpset = 17;
constexpr int64_t kMaxOpset = 22;

// The version of the default-domain ("" / "ai.onnx") opset the model imports, -1 if it imports none.
int64_t default_domain_opset(const onnx::ModelProto& model);
// Rewrites a model of opset 18..kMaxOpset into its opset-17 forms, and an IR version above 8 to 8, so that
// libonnx 1.12 can check and shape-infer it; Error naming the node where an opset-17 form would not mean the
// same (onnx_newer_opsets.cpp lists the rewrites), or where the opset / IR version is beyond what partq
// reads.
void downgrade_to_checker_versions(onnx::ModelProto& model, const std::string& label);

}  // namespace partq::detail
