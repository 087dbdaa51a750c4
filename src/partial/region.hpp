// The part of a model a precision flip can change. Between a baseline configuration and a flipped one (two
// EngineOptions of the same graph), a node must be re-run when its precision differs, when it produces or
// reads a tensor whose quantization differs (scale or set of quantized readers), or when it reads the output
// of a node that is re-run. Everything else computes exactly what the baseline computed, so the region can
// run on its boundary tensors recorded from one baseline pass instead of the whole model running again.
#pragma once

#include <partq/engine.hpp>
#include <partq/ir.hpp>

#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace partq::partial {

struct Region {
  std::set<std::string> nodes;      // node names to re-run
  std::vector<std::string> inputs;  // boundary: values the region reads but does not compute (graph order)
  bool covers_outputs = true;       // every graph output is computed inside the region
  double flops_fraction = 0;        // the region's share of the graph's Conv / Gemm / MatMul FLOPs
};

// `recordable(value)`: whether the baseline engine can record that value (a value fused away inside a
// compiled step cannot); a boundary value that is not pulls its producer into the region.
Region changed_region(const Graph& graph, const EngineOptions& baseline, const EngineOptions& flipped,
                      const std::function<bool(const std::string&)>& recordable);

// The region as a graph of its own: its boundary values become graph inputs (with the shapes given, in
// region.inputs order), its outputs are the graph's outputs. Needs region.covers_outputs.
std::unique_ptr<Graph> extract_region(const Graph& graph, const Region& region,
                                      const std::vector<Shape>& input_shapes);

}  // namespace partq::partial
