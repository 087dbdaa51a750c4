// describe_plan: the plan as text for `partq inspect --quant`.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "partq/quant.hpp"

namespace partq {

std::string describe_plan(const QuantPlan& plan) {
  std::map<std::string, int> group_of;
  for (const auto& a : plan.activations)
    group_of[a.tensor] = a.group;
  std::string out = fmt::format("quantizable nodes: {} ({} int8, {}-bit weights)\n", plan.nodes.size(),
                                plan.int8_node_count(), plan.weight_max_code == kReducedRangeMaxCode ? 7 : 8);
  out +=
      fmt::format("  {:<5} {:<40} {:<14} {:<6} {}\n", "group", "node", "op", "prec", "data input / reason");
  for (const auto& n : plan.nodes) {
    auto it = group_of.find(n.data_input);
    const std::string group = it != group_of.end() ? std::to_string(it->second) : "-";
    out +=
        fmt::format("  {:<5} {:<40} {:<14} {:<6} {}{}\n", group, n.name, n.op_type,
                    precision_name(n.precision), n.data_input, n.reason.empty() ? "" : " (" + n.reason + ")");
  }
  const auto groups = plan.groups();
  out += fmt::format("quantized tensors: {} in {} scale groups; shared groups:\n", plan.activations.size(),
                     groups.size());
  for (const auto& g : groups)
    if (g.tensors.size() > 1) out += fmt::format("  group {}: {}\n", g.id, fmt::join(g.tensors, ", "));
  out += fmt::format("detection-head decode (float): {} nodes\n", plan.decode_nodes.size());
  return out;
}

}  // namespace partq
