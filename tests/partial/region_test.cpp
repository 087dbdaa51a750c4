// changed_region on small graphs built in code: which nodes a flip re-runs and what they read.
#include <partq/engine_quant.hpp>
#include <partq/quant.hpp>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <random>

#include "../../src/partial/region.hpp"

namespace partq {
namespace {

Value* conv(Graph& g, Value* x, int64_t cin, int64_t cout, const std::string& name, int seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0, 0.3f);
  std::vector<float> w(static_cast<size_t>(cout * cin * 9));
  for (float& v : w)
    v = dist(rng);
  Value* wv = g.add_initializer(name + ".w", Tensor::from_float({cout, cin, 3, 3}, w));
  Value* y = g.add_value(name + ".y", DType::kFloat32, {1, cout, 8, 8}, true);
  Node* n = g.add_node("Conv", {x, wv}, {y}, name);
  n->attrs["pads"] = std::vector<int64_t>{1, 1, 1, 1};
  n->attrs["kernel_shape"] = std::vector<int64_t>{3, 3};
  return y;
}

// x -> c0 -> c1 -> c2 -> c3 -> y: a chain of four convs.
std::unique_ptr<Graph> chain() {
  auto g = std::make_unique<Graph>();
  Value* x = g->add_value("x", DType::kFloat32, {1, 4, 8, 8}, true);
  g->inputs.push_back(x);
  Value* v = x;
  for (int i = 0; i < 4; ++i)
    v = conv(*g, v, 4, 4, fmt::format("c{}", i), i);
  g->outputs.push_back(v);
  return g;
}

std::map<std::string, float> unit_amax(const Graph& g) {
  std::map<std::string, float> amax;
  for (const Value* v : g.values())
    amax[v->name] = 1.f;
  return amax;
}

EngineOptions only_int8(const Graph& g, const std::set<std::string>& int8) {
  PlacementOptions p;
  for (const auto& n : g.nodes())
    p.overrides[n->name] = int8.count(n->name) ? Precision::kInt8 : Precision::kFloat32;
  return int8_options_from_plan(plan_quantization(g, p), unit_amax(g));
}

const auto kAll = [](const std::string&) { return true; };

TEST(RegionTest, EnableOneReRunsFromTheFlippedLayerOn) {
  auto g = chain();
  const partial::Region r = partial::changed_region(*g, only_int8(*g, {}), only_int8(*g, {"c2"}), kAll);
  // c2's input (c1's output) becomes quantized: its producer c1 re-runs (it may requantize its output), then
  // c2 and everything after it.
  EXPECT_EQ(r.nodes, (std::set<std::string>{"c1", "c2", "c3"}));
  EXPECT_EQ(r.inputs, (std::vector<std::string>{"c0.y"}));
  EXPECT_TRUE(r.covers_outputs);
  EXPECT_NEAR(r.flops_fraction, 0.75, 1e-9);
}

TEST(RegionTest, IdenticalConfigurationsChangeNothing) {
  auto g = chain();
  const partial::Region r = partial::changed_region(*g, only_int8(*g, {"c1"}), only_int8(*g, {"c1"}), kAll);
  EXPECT_TRUE(r.nodes.empty());
  EXPECT_FALSE(r.covers_outputs);
}

TEST(RegionTest, AnUnrecordableBoundaryPullsItsProducerIn) {
  auto g = chain();
  const partial::Region r = partial::changed_region(*g, only_int8(*g, {}), only_int8(*g, {"c2"}),
                                                    [](const std::string& v) { return v != "c0.y"; });
  EXPECT_EQ(r.nodes, (std::set<std::string>{"c0", "c1", "c2", "c3"}));
  EXPECT_EQ(r.inputs, (std::vector<std::string>{"x"}));
}

TEST(RegionTest, ExtractedRegionReadsItsBoundaryAsGraphInputs) {
  auto g = chain();
  const partial::Region r = partial::changed_region(*g, only_int8(*g, {}), only_int8(*g, {"c3"}), kAll);
  auto sub = partial::extract_region(*g, r, {{1, 4, 8, 8}});
  ASSERT_EQ(sub->inputs.size(), 1u);
  EXPECT_EQ(sub->inputs[0]->name, "c1.y");
  EXPECT_EQ(sub->nodes().size(), 2u);  // c2 (re-quantizes its output) and c3
  EXPECT_EQ(sub->outputs[0]->name, "c3.y");
}

}  // namespace
}  // namespace partq
