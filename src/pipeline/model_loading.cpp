#include <partq/error.hpp>
#include <partq/onnx_io.hpp>
#include <partq/passes.hpp>
#include <partq/pipeline.hpp>

#include <algorithm>
#include <cctype>
#include <optional>
#include <utility>
#include <vector>

namespace partq {

namespace {

// Ultralytics writes the image size it exported at into the metadata ("imgsz": "[640, 640]", or one number),
// also for an export with dynamic height and width: that size is the one the model is meant to run at.
std::optional<std::pair<int64_t, int64_t>> exported_image_size(const Graph& graph) {
  const auto it = graph.metadata.find("imgsz");
  if (it == graph.metadata.end()) return std::nullopt;
  std::vector<int64_t> dims;
  const std::string& s = it->second;
  for (size_t i = 0; i < s.size();) {
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) {
      ++i;
      continue;
    }
    size_t end = i;
    while (end < s.size() && std::isdigit(static_cast<unsigned char>(s[end])))
      ++end;
    dims.push_back(std::stoll(s.substr(i, std::min<size_t>(end - i, 9))));
    i = end;
  }
  if (dims.size() == 1) dims.push_back(dims[0]);
  if (dims.size() != 2 || dims[0] < 1 || dims[1] < 1) return std::nullopt;
  return std::pair{dims[0], dims[1]};
}

bool has_dynamic_image_size(const Graph& graph) {
  if (graph.inputs.empty()) return false;
  const Shape& s = graph.inputs.front()->shape;
  return s.size() == 4 && (s[2] < 1 || s[3] < 1);
}

}  // namespace

void prepare_graph(Graph& graph) {
  // The image first: the commands feed it as the one input (a marked size input is fed by partq).
  if (mark_size_inputs(graph))
    std::stable_partition(graph.inputs.begin(), graph.inputs.end(),
                          [&](const Value* v) { return !graph.size_inputs.count(v->name); });
  if (has_dynamic_image_size(graph))
    if (const auto size = exported_image_size(graph)) set_input_size(graph, size->first, size->second);
  promote_float16(graph);  // the other passes and the engine compute in float32
  canonicalize(graph);
  fold_constants(graph);
  fold_batchnorm(graph);
  fold_repvgg_branches(graph);  // needs the conv+BN folded first
  fold_pad_into_conv(graph);
  remove_dead_nodes(graph);
}

std::unique_ptr<Graph> load_model(const std::string& path) {
  auto graph = load_onnx(path);
  prepare_graph(*graph);
  return graph;
}

ModelSignature model_signature(const Graph& graph) {
  ModelSignature signature;
  if (!graph.inputs.empty()) signature.input_shape = graph.inputs.front()->shape;
  if (!graph.outputs.empty()) signature.output_shape = graph.outputs.front()->shape;
  for (const Value* out : graph.outputs) {
    signature.output_shapes.push_back(out->shape);
    signature.integer_outputs.push_back(out->dtype == DType::kInt64 || out->dtype == DType::kInt32);
  }
  signature.boxes = box_encoding(graph);
  signature.metadata = graph.metadata;
  return signature;
}

Preset resolve_preset(const Graph& graph, const std::optional<std::string>& name) {
  if (graph.inputs.size() > 1 + graph.size_inputs.size()) {
    std::vector<std::string> ins;
    for (const Value* in : graph.inputs)
      ins.push_back(fmt::format("'{}' {}", in->name, shape_str(in->shape)));
    fail(
        "the model reads {} inputs ({}); partq runs detectors whose one input is the image, plus the size "
        "inputs of an exported post-processing, which partq feeds itself: a DETR's target size (RT-DETR / "
        "D-FINE / DEIM export_onnx.py's orig_target_sizes [N,2]) and PaddleDetection's im_shape / "
        "scale_factor [N,2]. Export the model without its other inputs",
        graph.inputs.size(), fmt::join(ins, ", "));
  }
  if (!graph.inputs.empty()) {
    const Value* in = graph.inputs.front();
    if (has_dynamic_image_size(graph))
      fail(
          "model input '{}' {} has a dynamic height / width; give it the size the model is meant to run at "
          "first: partq convert MODEL --input-size HxW -o FIXED.onnx",
          in->name, shape_str(in->shape));
  }
  std::string chosen;
  if (name) {
    chosen = *name;
  } else if (auto recognised = recognise_preset(model_signature(graph))) {
    chosen = *recognised;
  } else {
    std::vector<std::string> outs;
    for (const Value* out : graph.outputs)
      outs.push_back(fmt::format("'{}' {}", out->name, shape_str(out->shape)));
    fail(
        "cannot tell which detector family this model is (outputs: {}); pass --preset ({}); "
        "docs/detectors.md lists the layouts partq decodes",
        outs.empty() ? std::string("none") : fmt::format("{}", fmt::join(outs, ", ")),
        fmt::join(preset_names(), ", "));
  }
  Preset preset = preset_by_name(chosen);
  if (graph.inputs.empty()) fail("model has no input");
  const Shape& in = graph.inputs.front()->shape;
  if (in.size() != 4 || in[1] != 3)
    fail("model input '{}' is {}, expected an NCHW image [N,3,H,W]", graph.inputs.front()->name,
         shape_str(in));
  if (in[2] > 0 && in[3] > 0) {
    preset.input_h = static_cast<int>(in[2]);
    preset.input_w = static_cast<int>(in[3]);
  }
  preset.num_classes = metadata_class_count(graph.metadata);
  return preset;
}

}  // namespace partq
