// ONNX ModelProto -> Graph: parse, check, infer shapes, convert.
#include <onnx/checker.h>
#include <onnx/shape_inference/implementation.h>

#include "onnx_convert.hpp"
#include "partq/error.hpp"
#include "partq/onnx_io.hpp"

namespace partq {
namespace detail {

namespace {

constexpr int64_t kMinOpset = 1;

// Copies dtype and shape from an ONNX ValueInfo (symbolic or missing dims become -1).
void apply_value_info(const onnx::ValueInfoProto& info, Value* v) {
  if (!info.has_type() || !info.type().has_tensor_type()) return;
  const auto& tt = info.type().tensor_type();
  const DType dtype = dtype_from_onnx(tt.elem_type());
  if (dtype != DType::kUndefined) v->dtype = dtype;
  if (!tt.has_shape()) return;
  Shape shape;
  for (const auto& dim : tt.shape().dim())
    shape.push_back(dim.has_dim_value() ? dim.dim_value() : -1);
  v->shape = std::move(shape);
  v->has_shape = true;
}

AttrValue convert_attribute(const onnx::AttributeProto& a, const std::string& context) {
  using A = onnx::AttributeProto;
  switch (a.type()) {
    case A::INT:
      return a.i();
    case A::FLOAT:
      return a.f();
    case A::STRING:
      return a.s();
    case A::INTS:
      return std::vector<int64_t>(a.ints().begin(), a.ints().end());
    case A::FLOATS:
      return std::vector<float>(a.floats().begin(), a.floats().end());
    case A::STRINGS:
      return std::vector<std::string>(a.strings().begin(), a.strings().end());
    case A::TENSOR:
      return tensor_from_proto(a.t(), fmt::format("{} attribute '{}'", context, a.name()));
    case A::GRAPH:
    case A::GRAPHS:
      fail("{}: attribute '{}' holds a subgraph; control flow (If/Loop/Scan) is not supported", context,
           a.name());
    default:
      fail("{}: attribute '{}' has type {}, which partq does not support", context, a.name(),
           A::AttributeType_Name(a.type()));
  }
}

}  // namespace

std::unique_ptr<Graph> graph_from_model(const onnx::ModelProto& model, const std::string& label) {
  auto graph = std::make_unique<Graph>();
  const onnx::GraphProto& g = model.graph();
  graph->name = g.name();
  graph->ir_version = model.ir_version();
  graph->producer_name = model.producer_name();
  for (const auto& prop : model.metadata_props())
    graph->metadata[prop.key()] = prop.value();

  const int64_t opset = default_domain_opset(model);
  if (opset < 0) fail("{}: model imports no default-domain (ai.onnx) opset", label);
  if (opset < kMinOpset || opset > kMaxOpset)
    fail("{}: default-domain opset {} is not supported (partq accepts {}..{})", label, opset, kMinOpset,
         kMaxOpset);
  graph->opset = opset;

  if (g.sparse_initializer_size() > 0) fail("{}: sparse initializers are not supported", label);
  for (const auto& init : g.initializer())
    graph->add_initializer(init.name(), tensor_from_proto(init, label));
  for (const auto& in : g.input()) {
    if (Value* existing = graph->find_value(in.name())) {
      // An input that is also an initializer is a weight with a default value, not a feed.
      if (existing->is_constant()) continue;
      fail("{}: graph input '{}' is declared twice", label, in.name());
    }
    Value* v = graph->add_value(in.name());
    apply_value_info(in, v);
    graph->inputs.push_back(v);
  }

  // Create every node output first so nodes may reference values produced later in the file; the graph is
  // sorted at the end.
  std::vector<std::vector<Value*>> node_outputs(g.node_size());
  for (int i = 0; i < g.node_size(); ++i) {
    const auto& n = g.node(i);
    int last = n.output_size() - 1;
    while (last >= 0 && n.output(last).empty())
      --last;  // trailing omitted optional outputs
    for (int k = 0; k <= last; ++k) {
      const std::string& out_name = n.output(k);
      // A non-trailing omitted output still needs a Value; give it a private name.
      const std::string name = out_name.empty()
                                   ? graph->unique_value_name(fmt::format("{}_unused_output_{}", n.name(), k))
                                   : out_name;
      if (graph->find_value(name)) fail("{}: value '{}' is produced twice", label, name);
      node_outputs[i].push_back(graph->add_value(name));
    }
  }
  for (int i = 0; i < g.node_size(); ++i) {
    const auto& n = g.node(i);
    const std::string base = n.name().empty() ? n.op_type() : n.name();
    const std::string node_name = graph->unique_node_name(base);
    const std::string context = fmt::format("{}: node '{}' ({})", label, node_name, n.op_type());
    std::vector<Value*> inputs;
    for (const auto& in_name : n.input()) {
      if (in_name.empty()) {
        inputs.push_back(nullptr);
        continue;
      }
      Value* v = graph->find_value(in_name);
      if (!v) fail("{}: uses value '{}', which nothing defines", context, in_name);
      inputs.push_back(v);
    }
    while (!inputs.empty() && inputs.back() == nullptr)
      inputs.pop_back();
    Node* node = graph->add_node(n.op_type(), inputs, node_outputs[i], node_name);
    node->domain = n.domain() == "ai.onnx" ? "" : n.domain();
    for (const auto& a : n.attribute()) {
      if (!a.ref_attr_name().empty()) fail("{}: attribute references are not supported", context);
      node->attrs[a.name()] = convert_attribute(a, context);
    }
  }

  for (const auto& info : g.value_info())
    if (Value* v = graph->find_value(info.name()); v && !v->is_constant()) apply_value_info(info, v);
  for (const auto& out : g.output()) {
    Value* v = graph->find_value(out.name());
    if (!v) fail("{}: graph output '{}' is not produced by any node", label, out.name());
    if (!v->is_constant()) apply_value_info(out, v);
    graph->outputs.push_back(v);
  }
  graph->topological_sort();
  graph->verify();
  return graph;
}

}  // namespace detail

std::unique_ptr<Graph> load_onnx_from_bytes(std::string_view bytes, const std::string& label) {
  onnx::ModelProto model;
  if (bytes.size() > static_cast<size_t>(INT32_MAX) ||
      !model.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())))
    fail("{}: not a valid ONNX model (protobuf parse failed: truncated or corrupt file)", label);
  if (!model.has_graph()) fail("{}: not a valid ONNX model (no graph; truncated or not an ONNX file)", label);
  for (const auto& init : model.graph().initializer())
    if (init.data_location() == onnx::TensorProto::EXTERNAL)
      fail(
          "{}: initializer '{}' stores its data in an external file; partq reads only self-contained ONNX "
          "files",
          label, init.name());
  const int64_t file_opset = detail::default_domain_opset(model);
  detail::downgrade_to_checker_versions(model, label);
  try {
    onnx::checker::check_model(model);
  } catch (const std::exception& e) {
    fail("{}: ONNX checker rejected the model: {}", label, e.what());
  }
  try {
    onnx::ShapeInferenceOptions options{/*check_type=*/false, /*error_mode=*/0,
                                        /*enable_data_propagation=*/true};
    onnx::shape_inference::InferShapes(model, onnx::OpSchemaRegistry::Instance(), options);
  } catch (const std::exception& e) {
    fail("{}: ONNX shape inference failed: {}", label, e.what());
  }
  auto graph = detail::graph_from_model(model, label);
  if (file_opset > graph->opset) graph->file_opset = file_opset;
  return graph;
}

std::unique_ptr<Graph> load_onnx(const std::string& path) {
  return load_onnx_from_bytes(detail::read_file_bytes(path), path);
}

}  // namespace partq
