// Any model as the engine runs it: an FP32 model as is, a Q/DQ model (partq's export or another tool's) as
// its float graph plus INT8 engine options recovered from its QuantizeLinear / DequantizeLinear nodes.
#include <partq/error.hpp>
#include <partq/pipeline.hpp>
#include <partq/ptq.hpp>

#include "ptq_plan.hpp"

namespace partq {

PreparedModel prepare_model(const std::string& path) {
  PreparedModel model;
  model.graph = load_model(path);
  if (!ptq::graph_has_qdq(*model.graph)) return model;

  ptq::QdqFacts qdq = ptq::read_qdq_facts(*model.graph, path);
  model.graph = std::move(qdq.graph);
  model.int8 = true;
  model.int8_nodes = static_cast<int>(qdq.int8_nodes.size());
  model.quantized_tensors = static_cast<int>(qdq.activation_scales.size());
  // The engine runs exactly the nodes the Q/DQ marked (data input and weight quantized) in INT8, with the
  // file's activation scales; everything else stays float as the Q/DQ graph computes it.
  for (const std::string& node : qdq.int8_nodes)
    model.engine_options.plan.per_node[node] = Precision::kInt8;
  model.engine_options.activation_scales = std::move(qdq.activation_scales);
  model.engine_options.activation_zero_points = std::move(qdq.activation_zero_points);
  model.engine_options.quantized_consumers = std::move(qdq.consumers);
  // The file's weight scales as they are: another tool's may be per tensor, 7-bit (reduce_range) or
  // otherwise not the max|w| / 127 per channel partq would compute.
  model.engine_options.weight_scales = std::move(qdq.weight_scales);
  return model;
}

}  // namespace partq
