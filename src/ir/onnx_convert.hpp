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

}  // namespace partq::detail
