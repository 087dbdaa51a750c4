// Graph::verify (structural consistency) and Graph::topological_sort.
#include <algorithm>
#include <queue>
#include <unordered_map>
#include <unordered_set>

#include "partq/error.hpp"
#include "partq/ir.hpp"

namespace partq {

void Graph::topological_sort() {
  std::unordered_map<const Node*, size_t> index;
  for (size_t i = 0; i < nodes_.size(); ++i)
    index[nodes_[i].get()] = i;
  // In-degree counts producer edges inside the graph; ties resolve by the current position so an already
  // sorted graph keeps its order.
  std::vector<size_t> pending(nodes_.size(), 0);
  for (size_t i = 0; i < nodes_.size(); ++i)
    for (Value* in : nodes_[i]->inputs)
      if (in && in->producer && index.count(in->producer)) ++pending[i];
  std::priority_queue<size_t, std::vector<size_t>, std::greater<>> ready;
  for (size_t i = 0; i < nodes_.size(); ++i)
    if (pending[i] == 0) ready.push(i);
  std::vector<size_t> order;
  order.reserve(nodes_.size());
  while (!ready.empty()) {
    const size_t i = ready.top();
    ready.pop();
    order.push_back(i);
    for (Value* out : nodes_[i]->outputs) {
      if (!out) continue;
      for (Node* user : out->consumers) {
        auto it = index.find(user);
        if (it != index.end() && --pending[it->second] == 0) ready.push(it->second);
      }
    }
  }
  if (order.size() != nodes_.size()) {
    for (size_t i = 0; i < nodes_.size(); ++i)
      if (pending[i] != 0) fail("graph '{}' has a cycle through node '{}'", name, nodes_[i]->name);
  }
  std::vector<std::unique_ptr<Node>> sorted;
  sorted.reserve(nodes_.size());
  for (size_t i : order)
    sorted.push_back(std::move(nodes_[i]));
  nodes_ = std::move(sorted);
}

void Graph::verify() const {
  std::unordered_set<const Value*> owned_values;
  for (const auto& v : values_) {
    owned_values.insert(v.get());
    auto it = value_by_name_.find(v->name);
    if (it == value_by_name_.end() || it->second != v.get())
      fail("graph '{}': value '{}' is missing from the name index", name, v->name);
  }
  if (value_by_name_.size() != values_.size()) fail("graph '{}': value name index is stale", name);

  std::unordered_map<const Node*, size_t> position;
  for (size_t i = 0; i < nodes_.size(); ++i) {
    const Node* n = nodes_[i].get();
    position[n] = i;
    auto it = node_by_name_.find(n->name);
    if (it == node_by_name_.end() || it->second != n)
      fail("graph '{}': node '{}' is missing from the name index (duplicate name?)", name, n->name);
  }
  if (node_by_name_.size() != nodes_.size()) fail("graph '{}': node name index is stale", name);

  for (const auto& node : nodes_) {
    const Node* n = node.get();
    for (const Value* in : n->inputs) {
      if (!in) continue;
      if (!owned_values.count(in))
        fail("node '{}' ({}): input is not a value of this graph", n->name, n->op_type);
      const auto uses_here = std::count(n->inputs.begin(), n->inputs.end(), in);
      const auto recorded = std::count(in->consumers.begin(), in->consumers.end(), n);
      if (uses_here != recorded)
        fail("node '{}' ({}): uses '{}' {} time(s) but the value records {} use(s)", n->name, n->op_type,
             in->name, uses_here, recorded);
      if (in->producer) {
        auto p = position.find(in->producer);
        if (p == position.end())
          fail("node '{}' ({}): input '{}' is produced by a node that is not in the graph", n->name,
               n->op_type, in->name);
        if (p->second >= position[n])
          fail("node '{}' ({}): input '{}' is produced by '{}', which comes later (not topologically sorted)",
               n->name, n->op_type, in->name, in->producer->name);
      } else if (!in->is_constant() && std::find(inputs.begin(), inputs.end(), in) == inputs.end()) {
        fail("node '{}' ({}): input '{}' has no producer and is neither a graph input nor an initializer",
             n->name, n->op_type, in->name);
      }
    }
    for (const Value* out : n->outputs) {
      if (!out) fail("node '{}' ({}): has a null output", n->name, n->op_type);
      if (!owned_values.count(out))
        fail("node '{}' ({}): output is not a value of this graph", n->name, n->op_type);
      if (out->producer != n)
        fail("node '{}' ({}): output '{}' names a different producer", n->name, n->op_type, out->name);
      if (std::count(n->outputs.begin(), n->outputs.end(), out) != 1)
        fail("node '{}' ({}): output '{}' is listed twice", n->name, n->op_type, out->name);
      if (out->is_constant())
        fail("node '{}' ({}): output '{}' is an initializer", n->name, n->op_type, out->name);
    }
  }

  for (const auto& v : values_) {
    if (v->producer && !position.count(v->producer))
      fail("value '{}': its producer is not a node of this graph", v->name);
    if (v->producer && std::count(v->producer->outputs.begin(), v->producer->outputs.end(), v.get()) != 1)
      fail("value '{}': producer '{}' does not list it as an output", v->name, v->producer->name);
    for (const Node* user : v->consumers) {
      if (!position.count(user)) fail("value '{}': consumer is not a node of this graph", v->name);
      if (std::find(user->inputs.begin(), user->inputs.end(), v.get()) == user->inputs.end())
        fail("value '{}': consumer '{}' does not use it", v->name, user->name);
    }
  }

  std::unordered_set<const Value*> seen_inputs;
  for (const Value* in : inputs) {
    if (!in || !owned_values.count(in)) fail("graph '{}': a graph input is not a value of this graph", name);
    if (in->producer) fail("graph input '{}' is produced by node '{}'", in->name, in->producer->name);
    if (in->is_constant()) fail("graph input '{}' is an initializer", in->name);
    if (!seen_inputs.insert(in).second) fail("graph input '{}' is listed twice", in->name);
  }
  for (const Value* out : outputs) {
    if (!out || !owned_values.count(out))
      fail("graph '{}': a graph output is not a value of this graph", name);
    if (!out->producer && !out->is_constant() && !seen_inputs.count(out))
      fail("graph output '{}' has no producer", out->name);
  }
}

}  // namespace partq
