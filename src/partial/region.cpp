#include "region.hpp"

#include <partq/error.hpp>
#include <partq/passes.hpp>
#include <partq/pipeline.hpp>

#include <algorithm>
#include <map>

namespace partq::partial {

namespace {

float scale_of(const EngineOptions& o, const std::string& tensor) {
  auto it = o.activation_scales.find(tensor);
  return it == o.activation_scales.end() ? 0.f : it->second;
}

const std::vector<std::string>* readers_of(const EngineOptions& o, const std::string& tensor) {
  auto it = o.quantized_consumers.find(tensor);
  return it == o.quantized_consumers.end() ? nullptr : &it->second;
}

bool quantization_differs(const EngineOptions& a, const EngineOptions& b, const std::string& tensor) {
  if (scale_of(a, tensor) != scale_of(b, tensor)) return true;
  const auto *ra = readers_of(a, tensor), *rb = readers_of(b, tensor);
  if (!ra || !rb) return ra != rb;
  return *ra != *rb;
}

}  // namespace

Region changed_region(const Graph& graph, const EngineOptions& baseline, const EngineOptions& flipped,
                      const std::function<bool(const std::string&)>& recordable) {
  std::set<const Node*> dirty;
  auto mark_value = [&](const Value* v) {
    if (v->producer) dirty.insert(v->producer);
    for (const Node* c : v->consumers)
      dirty.insert(c);
  };
  for (const auto& n : graph.nodes())
    if (baseline.plan.of(n->name) != flipped.plan.of(n->name)) dirty.insert(n.get());
  std::set<std::string> tensors;
  for (const auto* o : {&baseline, &flipped})
    for (const auto& [t, s] : o->activation_scales)
      tensors.insert(t);
  for (const std::string& t : tensors)
    if (quantization_differs(baseline, flipped, t))
      if (const Value* v = graph.find_value(t)) mark_value(v);

  // Forward closure in graph (topological) order, then pull in producers of boundary values the baseline
  // cannot record, until the boundary is recordable.
  for (bool grew = true; grew;) {
    grew = false;
    for (const auto& n : graph.nodes()) {
      if (dirty.count(n.get())) continue;
      for (const Value* in : n->inputs)
        if (in && in->producer && dirty.count(in->producer)) {
          dirty.insert(n.get());
          break;
        }
    }
    for (const auto& n : graph.nodes()) {
      if (!dirty.count(n.get())) continue;
      for (const Value* in : n->inputs)
        if (in && !in->is_constant() && in->producer && !dirty.count(in->producer) && !recordable(in->name)) {
          dirty.insert(in->producer);
          grew = true;
        }
    }
  }

  Region r;
  std::set<const Value*> boundary;
  double total = 0, inside = 0;
  for (const auto& n : graph.nodes()) {
    const double f = static_cast<double>(describe_layer(*n).flops);
    total += f;
    if (!dirty.count(n.get())) continue;
    inside += f;
    r.nodes.insert(n->name);
    for (const Value* in : n->inputs)
      if (in && !in->is_constant() && !graph.size_inputs.count(in->name) &&
          (!in->producer || !dirty.count(in->producer)) && boundary.insert(in).second)
        r.inputs.push_back(in->name);
  }
  for (const Value* out : graph.outputs)
    if (!out->producer || !dirty.count(out->producer)) r.covers_outputs = false;
  r.flops_fraction = total > 0 ? inside / total : 0;
  return r;
}

std::unique_ptr<Graph> extract_region(const Graph& graph, const Region& region,
                                      const std::vector<Shape>& input_shapes) {
  if (!region.covers_outputs) fail("internal: the region does not compute every graph output");
  if (input_shapes.size() != region.inputs.size()) fail("internal: region input shapes mismatch");
  std::unique_ptr<Graph> g = graph.clone();
  std::vector<Node*> outside;
  for (const auto& n : g->nodes())
    if (!region.nodes.count(n->name)) outside.push_back(n.get());
  for (Node* n : outside)
    g->erase_node(n);
  g->inputs.clear();
  // The region has no image input to take the size from: the value partq feeds becomes a constant.
  for (const std::string& name : graph.size_inputs)
    if (Value* v = g->find_value(name))
      v->initializer = std::make_shared<const Tensor>(size_input_value(graph, *graph.find_value(name)));
  g->size_inputs.clear();
  for (size_t i = 0; i < region.inputs.size(); ++i) {
    Value* v = g->find_value(region.inputs[i]);
    if (!v) fail("internal: region input '{}' is not in the graph", region.inputs[i]);
    v->producer = nullptr;
    v->dtype = DType::kFloat32;
    v->shape = input_shapes[i];
    v->has_shape = true;
    g->inputs.push_back(v);
  }
  g->remove_unused_values();
  g->verify();
  return g;
}

}  // namespace partq::partial
