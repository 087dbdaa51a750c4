// The Q/DQ placement rules as selector tables (ONNX Runtime QDQ style): each rule's selector is a pure
// predicate on one node that returns what it matched; one action (apply_match) records a match in the state.
// plan_quantization runs the rules to a fixed point (they only ever add quantized tensors, so it terminates).
#pragma once

#include <map>
#include <optional>
#include <set>
#include <span>
#include <utility>
#include <vector>

#include "partq/ir.hpp"
#include "partq/quant.hpp"

namespace partq::quant_detail {

struct PlacementState {
  const Graph& graph;
  std::set<const Node*> decode;                               // detection-head decode: no rule touches it
  std::map<const Node*, Precision> precision{};               // every quantizable node
  std::map<const Value*, std::set<const Node*>> quantized{};  // tensor -> nodes reading it quantized
  std::vector<std::pair<const Value*, const Value*>> same_scale{};

  bool is_int8(const Node* node) const {
    auto it = precision.find(node);
    return it != precision.end() && it->second == Precision::kInt8;
  }
};

// What a selector matched on one node: the inputs the node reads quantized, the tensors that share a scale.
struct RuleMatch {
  std::vector<const Value*> quantized_inputs;
  std::vector<std::pair<const Value*, const Value*>> same_scale;
};

struct PlacementRule {
  const char* name;
  std::optional<RuleMatch> (*select)(const Node& node, const PlacementState& state);
};

// int8 quantizable node, residual Add, Concat sharing a scale, MaxPool / Resize sharing a scale.
std::span<const PlacementRule> placement_rules();

// The action: records the match; returns whether the state changed.
bool apply_match(PlacementState& state, const Node& node, const RuleMatch& match);

}  // namespace partq::quant_detail
