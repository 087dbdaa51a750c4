#include <partq/engine.hpp>
#include <partq/error.hpp>
#include <partq/onnx_io.hpp>
#include <partq/passes.hpp>
#include <partq/pipeline.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <set>

#include "ptq_plan.hpp"

namespace partq {
namespace {

int64_t dims_product(const Shape& shape, size_t from) {
  int64_t n = 1;
  for (size_t i = from; i < shape.size(); ++i)
    n *= shape[i];
  return n;
}

bool known(const Value* v) {
  return v && v->has_shape && shape_numel(v->shape) >= 0;
}

}  // namespace

// Multiply-adds of one image (batch dim excluded), counted as 2 FLOPs each.
LayerSummary describe_layer(const Node& node) {
  LayerSummary layer{.node = node.name, .op_type = node.op_type};
  const Value* weight = node.input(1);
  if (weight && weight->initializer) layer.params += weight->initializer->numel();
  if (const Value* bias = node.input(2); bias && bias->initializer)
    layer.params += bias->initializer->numel();
  const Value* out = node.outputs.empty() ? nullptr : node.outputs.front();
  if (node.op_type == "Conv" || node.op_type == "ConvTranspose") {
    if (!weight || !weight->has_shape || weight->shape.size() < 3) return layer;
    const Shape& w = weight->shape;
    const int64_t group = node.attr_int("group", 1);
    const int64_t kernel = dims_product(w, 2);
    const bool transpose = node.op_type == "ConvTranspose";
    const int64_t in_per_group = transpose ? w[0] / group : w[1];
    const int64_t out_channels = transpose ? w[1] * group : w[0];
    layer.detail = fmt::format("{} {}->{} g{}", fmt::join(std::vector<int64_t>(w.begin() + 2, w.end()), "x"),
                               transpose ? w[0] : w[1] * group, out_channels, group);
    if (auto strides = node.attr_ints("strides"); !strides.empty() && strides[0] != 1)
      layer.detail += fmt::format(" s{}", strides[0]);
    // For ConvTranspose every input pixel scatters the kernel: count over the input spatial size.
    const Value* spatial = transpose ? node.input(0) : out;
    if (known(spatial) && spatial->shape.size() >= 3)
      layer.flops = 2 * in_per_group * kernel * out_channels * dims_product(spatial->shape, 2);
  } else if (node.op_type == "Gemm" || node.op_type == "MatMul") {
    if (weight && weight->has_shape && weight->shape.size() >= 2 && known(out)) {
      const Shape& w = weight->shape;
      const bool trans_b = node.op_type == "Gemm" && node.attr_int("transB", 0) != 0;
      const int64_t k = trans_b ? w[w.size() - 1] : w[w.size() - 2];
      layer.detail = fmt::format("{}", shape_str(w));
      layer.flops = 2 * k * dims_product(out->shape, 1);
    }
  }
  return layer;
}

namespace {

std::vector<TensorInfo> infos(const std::vector<Value*>& values) {
  std::vector<TensorInfo> result;
  for (const Value* v : values)
    result.push_back({v->name, v->dtype, v->shape});
  return result;
}

}  // namespace

ModelSummary inspect_model(const std::string& path) {
  // The graph as the engine sees it (Conv+BN folded), so the layer list is what a quantizer would touch.
  auto graph = load_onnx(path);
  ModelSummary summary{.path = path,
                       .opset = graph->file_opset ? graph->file_opset : graph->opset,
                       .read_as_opset = graph->file_opset ? graph->opset : 0,
                       .producer = graph->producer_name};
  prepare_graph(*graph);
  summary.inputs = infos(graph->inputs);
  for (const std::string& name : graph->size_inputs)
    summary.size_inputs[name] = size_input_meaning(*graph->find_value(name));
  summary.outputs = infos(graph->outputs);
  summary.metadata = graph->metadata;
  summary.nodes = static_cast<int64_t>(graph->nodes().size());
  for (const auto& node : graph->nodes())
    ++summary.op_counts[node->op_type];
  if (ptq::graph_has_qdq(*graph)) {
    // Describe the network the engine runs: the Q/DQ read as an INT8 plan, as prepare_model does.
    ptq::QdqFacts facts = ptq::read_qdq_facts(*graph, path);
    summary.qdq =
        ModelSummary::Qdq{.int8_layers = static_cast<int64_t>(facts.int8_nodes.size()),
                          .quantized_tensors = static_cast<int64_t>(facts.activation_scales.size())};
    graph = std::move(facts.graph);
  }
  for (const auto& node : graph->nodes()) {
    if (node->op_type == "Conv" || node->op_type == "ConvTranspose" || node->op_type == "Gemm" ||
        node->op_type == "MatMul") {
      LayerSummary layer = describe_layer(*node);
      summary.flops += layer.flops;
      summary.quantizable.push_back(std::move(layer));
    }
  }
  // Parameters are the learned tensors of the layers; constants that folding produced (anchor grids,
  // strides) are not parameters.
  for (const auto& node : graph->nodes()) {
    static const std::set<std::string> kLayers = {"Conv",   "ConvTranspose",      "Gemm",
                                                  "MatMul", "BatchNormalization", "PRelu"};
    if (!kLayers.count(node->op_type)) continue;
    for (size_t i = 1; i < node->inputs.size(); ++i)
      if (const Value* v = node->inputs[i]; v && v->initializer && is_floating(v->initializer->dtype))
        summary.params += v->initializer->numel();
  }
  summary.preset = recognise_preset(model_signature(*graph));
  summary.unsupported_ops = unsupported_ops(*graph);
  return summary;
}

nlohmann::json to_json(const ModelSummary& s) {
  auto tensors = [](const std::vector<TensorInfo>& list) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& t : list)
      out.push_back({{"name", t.name}, {"dtype", dtype_name(t.dtype)}, {"shape", t.shape}});
    return out;
  };
  nlohmann::json layers = nlohmann::json::array();
  for (const auto& l : s.quantizable)
    layers.push_back({{"node", l.node},
                      {"op", l.op_type},
                      {"detail", l.detail},
                      {"params", l.params},
                      {"flops", l.flops}});
  return {{"model", s.path},
          {"opset", s.opset},
          {"read_as_opset", s.read_as_opset ? nlohmann::json(s.read_as_opset) : nlohmann::json()},
          {"producer", s.producer},
          {"inputs", tensors(s.inputs)},
          {"size_inputs", s.size_inputs},
          {"outputs", tensors(s.outputs)},
          {"nodes", s.nodes},
          {"op_counts", s.op_counts},
          {"params", s.params},
          {"flops", s.flops},
          {"gflops", s.flops / 1e9},
          {"preset", s.preset ? nlohmann::json(*s.preset) : nlohmann::json()},
          {"metadata", s.metadata},
          {"unsupported_ops", s.unsupported_ops},
          {"qdq", s.qdq ? nlohmann::json{{"int8_layers", s.qdq->int8_layers},
                                         {"quantized_tensors", s.qdq->quantized_tensors}}
                        : nlohmann::json()},
          {"quantizable_layers", layers}};
}

std::string format_summary(const ModelSummary& s) {
  const std::string read_as =
      s.read_as_opset ? fmt::format(" (read through its opset-{} forms)", s.read_as_opset) : "";
  std::string out = fmt::format("model     {}\nopset     {}{}   producer {}\n", s.path, s.opset, read_as,
                                s.producer.empty() ? "?" : s.producer);
  for (const auto& t : s.inputs) {
    const auto fed = s.size_inputs.find(t.name);
    out += fmt::format("input     {} {} {}{}\n", t.name, dtype_name(t.dtype), shape_str(t.shape),
                       fed == s.size_inputs.end() ? "" : fmt::format("   (partq feeds {})", fed->second));
  }
  for (const auto& t : s.outputs)
    out += fmt::format("output    {} {} {}\n", t.name, dtype_name(t.dtype), shape_str(t.shape));
  out += fmt::format("preset    {}\n", s.preset.value_or("(not recognised; pass --preset)"));
  if (s.unsupported_ops.empty()) {
    out += "engine    runs every op\n";
  } else {
    std::vector<std::string> parts;
    for (const auto& [op, nodes] : s.unsupported_ops)
      parts.push_back(fmt::format("{} ({} node{})", op, nodes.size(), nodes.size() == 1 ? "" : "s"));
    out += fmt::format("engine    cannot run {}\n", fmt::join(parts, ", "));
  }
  if (s.qdq)
    out += fmt::format(
        "int8      Q/DQ model: {} of {} layers INT8, {} activation tensors quantized (--quant lists the "
        "plan)\n",
        s.qdq->int8_layers, s.quantizable.size(), s.qdq->quantized_tensors);
  out += fmt::format(
      "params    {:L} ({:.2f} M)\nFLOPs     {:.2f} G per image (Conv/Gemm/MatMul, 2 per multiply-add)\n",
      s.params, s.params / 1e6, s.flops / 1e9);
  out += fmt::format("nodes     {}:", s.nodes);
  for (const auto& [op, count] : s.op_counts)
    out += fmt::format(" {} {}", op, count);
  out += fmt::format("\n\nquantizable layers ({}):\n", s.quantizable.size());
  out += fmt::format("  {:<4} {:<36} {:<14} {:<22} {:>9} {:>9}\n", "#", "node", "op", "shape", "params",
                     "MFLOPs");
  for (size_t i = 0; i < s.quantizable.size(); ++i) {
    const auto& l = s.quantizable[i];
    out += fmt::format("  {:<4} {:<36} {:<14} {:<22} {:>9} {:>9.1f}\n", i, l.node, l.op_type, l.detail,
                       l.params, l.flops / 1e6);
  }
  return out;
}

}  // namespace partq
