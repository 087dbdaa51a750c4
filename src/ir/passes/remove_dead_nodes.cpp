// remove_dead_nodes: drop nodes whose outputs never reach a graph output.
#include <unordered_set>

#include "partq/passes.hpp"

namespace partq {

bool remove_dead_nodes(Graph& graph) {
  // Walk backwards from the graph outputs; nodes are topologically sorted, so one reverse sweep marks every
  // node some live node (or output) depends on.
  std::unordered_set<const Node*> live;
  std::unordered_set<const Value*> needed(graph.outputs.begin(), graph.outputs.end());
  const auto& nodes = graph.nodes();
  for (auto it = nodes.rbegin(); it != nodes.rend(); ++it) {
    const Node* n = it->get();
    bool used = false;
    for (const Value* out : n->outputs)
      used = used || needed.count(out);
    if (!used) continue;
    live.insert(n);
    for (const Value* in : n->inputs)
      if (in) needed.insert(in);
  }
  std::vector<Node*> dead;
  for (const auto& n : nodes)
    if (!live.count(n.get())) dead.push_back(n.get());
  for (auto it = dead.rbegin(); it != dead.rend(); ++it)
    graph.erase_node(*it);
  const size_t values_before = graph.values().size();
  graph.remove_unused_values();
  return !dead.empty() || graph.values().size() != values_before;
}

}  // namespace partq
