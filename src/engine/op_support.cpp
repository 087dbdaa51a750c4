#include "op_support.hpp"

#include <partq/engine.hpp>
#include <partq/error.hpp>

#include <fmt/format.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "ops/registry.hpp"

namespace partq {

namespace {

bool default_domain(const Node& n) {
  return n.domain.empty() || n.domain == "ai.onnx";
}

// Ops that exporters put in a detector only for its NMS post-processing, in the ONNX domain or as TensorRT /
// ONNX Runtime plugins ("domain.Op": the part after the last dot). The top-k selection of an NMS-free head
// (TopK, GatherElements, ArgMax) runs in the engine.
bool post_processing(const std::string& qualified_op) {
  static const std::set<std::string> ops = {
      "NonMaxSuppression", "GatherND",         "NonZero",        "ScatterND",
      "ScatterElements",   "EfficientNMS_TRT", "BatchedNMS_TRT", "BatchedNMSDynamic_TRT"};
  const size_t dot = qualified_op.rfind('.');
  return ops.count(dot == std::string::npos ? qualified_op : qualified_op.substr(dot + 1)) != 0;
}

constexpr const char* kPostProcessingHint =
    "; it looks like NMS post-processing exported into the model: partq runs the detector without it and "
    "does the NMS itself, so export the model without its post-processing (an NMS-free head's own TopK "
    "selection, as YOLOv10 / YOLO26 export it, runs as it is; docs/detectors.md lists the output layouts "
    "partq decodes)";

}  // namespace

std::map<std::string, std::vector<std::string>> unsupported_ops(const Graph& graph) {
  std::map<std::string, std::vector<std::string>> missing;
  for (const auto& n : graph.nodes())
    if (!default_domain(*n) || !engine::find_op(n->op_type))
      missing[default_domain(*n) ? n->op_type : n->domain + "." + n->op_type].push_back(n->name);
  return missing;
}

void engine::check_ops_supported(const Graph& graph) {
  const std::map<std::string, std::vector<std::string>> missing = unsupported_ops(graph);
  if (missing.empty()) return;
  size_t count = 0;
  bool looks_like_post_processing = false;
  for (const auto& [op, nodes] : missing) {
    count += nodes.size();
    looks_like_post_processing = looks_like_post_processing || post_processing(op);
  }
  const std::string hint = looks_like_post_processing ? kPostProcessingHint : "";
  if (count == 1) {
    const Node& n = *graph.find_node(missing.begin()->second.front());
    if (!default_domain(n))
      fail("node '{}' (op {}): not supported by the engine: domain '{}'{}", n.name, n.op_type, n.domain,
           hint);
    fail("node '{}' (op {}): not supported by the engine{}", n.name, n.op_type, hint);
  }
  std::vector<std::string> parts;
  for (const auto& [op, nodes] : missing) {
    std::string names;
    for (size_t i = 0; i < nodes.size() && i < 3; ++i)
      names += fmt::format("{}'{}'", i ? ", " : "", nodes[i]);
    if (nodes.size() > 3) names += fmt::format(" and {} more", nodes.size() - 3);
    parts.push_back(fmt::format("{} ({})", op, names));
  }
  fail("{} nodes of ops not supported by the engine: {}{}", count, fmt::join(parts, ", "), hint);
}

}  // namespace partq
