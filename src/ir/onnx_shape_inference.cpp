// infer_shapes: refresh every intermediate Value's dtype/shape with ONNX shape inference.
#include <onnx/shape_inference/implementation.h>

#include <set>

#include "onnx_convert.hpp"
#include "partq/error.hpp"
#include "partq/onnx_io.hpp"

namespace partq {

void infer_shapes(Graph& graph) {
  std::set<const Value*> io(graph.inputs.begin(), graph.inputs.end());
  io.insert(graph.outputs.begin(), graph.outputs.end());
  // Intermediate shapes may be stale (a pass or set_batch changed what they depend on): forget them so the
  // model handed to ONNX carries only the graph I/O shapes.
  for (Value* v : graph.values()) {
    if (v->is_constant() || io.count(v) || !v->producer) continue;
    v->dtype = DType::kUndefined;
    v->shape.clear();
    v->has_shape = false;
  }
  onnx::ModelProto model = detail::graph_to_model(graph);
  try {
    onnx::ShapeInferenceOptions options{/*check_type=*/false, /*error_mode=*/0,
                                        /*enable_data_propagation=*/true};
    onnx::shape_inference::InferShapes(model, onnx::OpSchemaRegistry::Instance(), options);
  } catch (const std::exception& e) {
    fail("graph '{}': ONNX shape inference failed: {}", graph.name, e.what());
  }
  auto apply = [](const onnx::ValueInfoProto& info, Value* v) {
    if (!info.type().has_tensor_type()) return;
    const auto& tt = info.type().tensor_type();
    v->dtype = detail::dtype_from_onnx(tt.elem_type());
    if (!tt.has_shape()) return;
    v->shape.clear();
    for (const auto& dim : tt.shape().dim())
      v->shape.push_back(dim.has_dim_value() ? dim.dim_value() : -1);
    v->has_shape = true;
  };
  for (const auto& info : model.graph().value_info()) {
    Value* v = graph.find_value(info.name());
    if (v && !v->is_constant() && !io.count(v)) apply(info, v);
  }
  // Graph outputs keep what they declare; ones that declare nothing take the inferred type and shape.
  for (const auto& info : model.graph().output()) {
    Value* v = graph.find_value(info.name());
    if (v && !v->is_constant() && (v->dtype == DType::kUndefined || !v->has_shape)) apply(info, v);
  }
}

}  // namespace partq
