#include "proxy_outputs.hpp"

#include <partq/passes.hpp>

#include <algorithm>
#include <set>

namespace partq::partial {

namespace {

// Whether `target` is computed from `v` (v is an ancestor of target).
bool feeds(const Value* v, const Value* target) {
  std::vector<const Value*> stack = {target};
  std::set<const Value*> seen;
  while (!stack.empty()) {
    const Value* x = stack.back();
    stack.pop_back();
    if (x == v) return true;
    if (!x->producer || !seen.insert(x).second) continue;
    for (const Value* in : x->producer->inputs)
      if (in) stack.push_back(in);
  }
  return false;
}

}  // namespace

std::vector<Value*> selection_inputs(const Graph& graph) {
  // The selection: every node that depends on a TopK (its indices pick the rows), and the TopKs.
  std::set<const Node*> selection;
  for (const auto& n : graph.nodes()) {  // topological order: producers first
    bool in = n->op_type == "TopK";
    for (const Value* v : n->inputs)
      in = in || (v && v->producer && selection.count(v->producer));
    if (in) selection.insert(n.get());
  }
  std::vector<Value*> read;
  for (const auto& n : graph.nodes()) {
    if (!selection.count(n.get())) continue;
    for (Value* v : n->inputs)
      if (v && !v->initializer && !(v->producer && selection.count(v->producer)) && is_floating(v->dtype) &&
          std::find(read.begin(), read.end(), v) == read.end())
        read.push_back(v);
  }
  // A tensor computed from another one read (the per-prediction best score from the class scores) adds
  // nothing the other does not carry.
  std::vector<Value*> independent;
  for (Value* v : read)
    if (std::none_of(read.begin(), read.end(), [&](const Value* u) { return u != v && feeds(u, v); }))
      independent.push_back(v);
  return independent;
}

std::vector<std::string> cut_before_selection(Graph& graph) {
  const std::vector<Value*> inputs = selection_inputs(graph);
  if (inputs.empty()) return {};
  graph.outputs.assign(inputs.begin(), inputs.end());
  remove_dead_nodes(graph);
  std::vector<std::string> names;
  for (const Value* v : inputs)
    names.push_back(v->name);
  return names;
}

}  // namespace partq::partial
