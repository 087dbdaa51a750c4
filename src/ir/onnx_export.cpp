// Graph -> ONNX ModelProto, checked and written atomically.
#include <onnx/checker.h>
#include <onnx/shape_inference/implementation.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>

#include "onnx_convert.hpp"
#include "partq/error.hpp"
#include "partq/onnx_io.hpp"

namespace partq {
namespace detail {

namespace {

// The lowest IR version that may import a given default-domain opset (onnx/docs/Versioning.md).
int64_t min_ir_version_for_opset(int64_t opset) {
  if (opset <= 8) return 3;
  if (opset == 9) return 4;
  if (opset == 10) return 5;
  if (opset == 11) return 6;
  if (opset <= 14) return 7;
  return 8;
}

void fill_value_info(const Value& v, onnx::ValueInfoProto* info) {
  info->set_name(v.name);
  auto* tt = info->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(dtype_to_onnx(v.dtype));
  if (!v.has_shape) return;
  auto* shape = tt->mutable_shape();
  for (int64_t d : v.shape) {
    auto* dim = shape->add_dim();
    if (d >= 0) dim->set_dim_value(d);
  }
}

void fill_attribute(const std::string& name, const AttrValue& value, onnx::AttributeProto* a) {
  using A = onnx::AttributeProto;
  a->set_name(name);
  std::visit(
      [&](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, int64_t>) {
          a->set_type(A::INT);
          a->set_i(v);
        } else if constexpr (std::is_same_v<T, float>) {
          a->set_type(A::FLOAT);
          a->set_f(v);
        } else if constexpr (std::is_same_v<T, std::string>) {
          a->set_type(A::STRING);
          a->set_s(v);
        } else if constexpr (std::is_same_v<T, std::vector<int64_t>>) {
          a->set_type(A::INTS);
          for (int64_t x : v)
            a->add_ints(x);
        } else if constexpr (std::is_same_v<T, std::vector<float>>) {
          a->set_type(A::FLOATS);
          for (float x : v)
            a->add_floats(x);
        } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
          a->set_type(A::STRINGS);
          for (const auto& x : v)
            a->add_strings(x);
        } else {
          a->set_type(A::TENSOR);
          tensor_to_proto(v, "", a->mutable_t());
        }
      },
      value);
}

}  // namespace

onnx::ModelProto graph_to_model(const Graph& graph) {
  onnx::ModelProto model;
  model.set_ir_version(std::max(graph.ir_version, min_ir_version_for_opset(graph.opset)));
  model.set_producer_name(graph.producer_name.empty() ? "partq" : graph.producer_name);
  auto* opset = model.add_opset_import();
  opset->set_domain("");
  opset->set_version(graph.opset);
  std::set<std::string> other_domains;
  for (const auto& n : graph.nodes())
    if (!n->domain.empty()) other_domains.insert(n->domain);
  for (const auto& domain : other_domains) {
    auto* imp = model.add_opset_import();
    imp->set_domain(domain);
    imp->set_version(1);
  }
  for (const auto& [key, value] : graph.metadata) {
    auto* prop = model.add_metadata_props();
    prop->set_key(key);
    prop->set_value(value);
  }

  onnx::GraphProto* g = model.mutable_graph();
  g->set_name(graph.name.empty() ? "partq" : graph.name);
  for (const Value* in : graph.inputs)
    fill_value_info(*in, g->add_input());
  std::set<const Value*> io(graph.inputs.begin(), graph.inputs.end());
  io.insert(graph.outputs.begin(), graph.outputs.end());
  for (const Value* v : graph.values()) {
    if (v->is_constant()) {
      tensor_to_proto(*v->initializer, v->name, g->add_initializer());
    } else if (!io.count(v) && v->producer && v->dtype != DType::kUndefined) {
      fill_value_info(*v, g->add_value_info());
    }
  }
  for (const auto& n : graph.nodes()) {
    onnx::NodeProto* p = g->add_node();
    p->set_name(n->name);
    p->set_op_type(n->op_type);
    if (!n->domain.empty()) p->set_domain(n->domain);
    for (const Value* in : n->inputs)
      p->add_input(in ? in->name : "");
    for (const Value* out : n->outputs)
      p->add_output(out ? out->name : "");
    for (const auto& [key, value] : n->attrs)
      fill_attribute(key, value, p->add_attribute());
  }
  for (const Value* out : graph.outputs)
    fill_value_info(*out, g->add_output());
  return model;
}

}  // namespace detail

std::string serialize_onnx(const Graph& graph) {
  onnx::ModelProto model = detail::graph_to_model(graph);
  // Graph outputs need a type (and shape) to pass the checker; when the IR does not know one, let ONNX shape
  // inference supply it rather than refuse a graph that is otherwise fine.
  const bool outputs_incomplete = std::any_of(graph.outputs.begin(), graph.outputs.end(), [](const Value* v) {
    return v->dtype == DType::kUndefined || !v->has_shape;
  });
  if (outputs_incomplete) {
    try {
      onnx::shape_inference::InferShapes(model);
    } catch (const std::exception& e) {
      fail("graph '{}': ONNX shape inference failed: {}", graph.name, e.what());
    }
    for (const auto& out : model.graph().output())
      if (!out.type().tensor_type().has_shape() || out.type().tensor_type().elem_type() == 0)
        fail("graph '{}': the type or shape of graph output '{}' is unknown and ONNX cannot infer it",
             graph.name, out.name());
  }
  try {
    onnx::checker::check_model(model);
  } catch (const std::exception& e) {
    fail("graph '{}' does not form a valid ONNX model: {}", graph.name, e.what());
  }
  std::string bytes;
  if (!model.SerializeToString(&bytes))
    fail("graph '{}': protobuf serialization failed (model over 2 GiB?)", graph.name);
  return bytes;
}

void save_onnx(const Graph& graph, const std::string& path) {
  const std::string bytes = serialize_onnx(graph);
  namespace fs = std::filesystem;
  const fs::path target(path);
  const fs::path tmp = target.parent_path() / fmt::format(".{}.tmp{}", target.filename().string(), getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) fail("{}: cannot open '{}' for writing", path, tmp.string());
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.close();
    if (!out) {
      std::error_code ec;
      fs::remove(tmp, ec);
      fail("{}: write failed (disk full?)", path);
    }
  }
  std::error_code ec;
  fs::rename(tmp, target, ec);
  if (ec) {
    fs::remove(tmp, ec);
    fail("{}: cannot move the written file into place: {}", path, ec.message());
  }
}

}  // namespace partq
