// The output-error proxies compare what an end-to-end selection reads, not the rows it selects.
#include <gtest/gtest.h>
#include <partq/engine.hpp>

#include "../../src/partial/proxy_outputs.hpp"

namespace partq::partial {
namespace {

struct Tail {
  std::unique_ptr<Graph> graph = std::make_unique<Graph>();
  Value *boxes = nullptr, *scores = nullptr;
};

Value* ints(Graph& g, std::vector<int64_t> v) {
  return g.add_initializer(g.unique_value_name("ints"),
                           Tensor::from_int64({static_cast<int64_t>(v.size())}, v));
}

Value* op(Graph& g, const std::string& type, std::vector<Value*> inputs,
          std::map<std::string, AttrValue> attrs = {}, int outputs = 1, int which = 0) {
  const std::string name = g.unique_node_name(type);
  std::vector<Value*> outs;
  for (int i = 0; i < outputs; ++i)
    outs.push_back(g.add_value(g.unique_value_name(name + "_out"),
                               i == 1 && type == "TopK" ? DType::kInt64 : DType::kFloat32));
  g.add_node(type, inputs, outs, name)->attrs = std::move(attrs);
  return outs[which];
}

// preds [1, 10, 6] -> boxes [1,10,4] and scores [1,10,2] -> the 3 best predictions' boxes and scores.
Tail end2end_tail() {
  Tail t;
  Graph& g = *t.graph;
  Value* preds = g.add_value("preds", DType::kFloat32, {1, 10, 6}, true);
  g.inputs.push_back(preds);
  t.boxes = op(g, "Slice", {preds, ints(g, {0}), ints(g, {4}), ints(g, {2})});
  t.scores = op(g, "Sigmoid", {op(g, "Slice", {preds, ints(g, {4}), ints(g, {6}), ints(g, {2})})});
  Value* best =
      op(g, "ReduceMax", {t.scores}, {{"axes", std::vector<int64_t>{-1}}, {"keepdims", int64_t{0}}});
  Value* index = op(g, "TopK", {best, ints(g, {3})}, {{"axis", int64_t{-1}}}, 2, 1);
  Value* rows = op(g, "Unsqueeze", {index, ints(g, {-1})});
  Value* picked_boxes =
      op(g, "GatherElements", {t.boxes, op(g, "Tile", {rows, ints(g, {1, 1, 4})})}, {{"axis", int64_t{1}}});
  Value* picked_scores =
      op(g, "GatherElements", {t.scores, op(g, "Tile", {rows, ints(g, {1, 1, 2})})}, {{"axis", int64_t{1}}});
  g.outputs.push_back(op(g, "Concat", {picked_boxes, picked_scores}, {{"axis", int64_t{-1}}}));
  return t;
}

TEST(ProxyOutputs, TheSelectionsInputsReplaceItsSelectedRows) {
  Tail t = end2end_tail();
  // The best score per prediction is computed from the scores: only boxes and scores are compared.
  EXPECT_EQ(selection_inputs(*t.graph), (std::vector<Value*>{t.boxes, t.scores}));
  const std::vector<std::string> names = cut_before_selection(*t.graph);
  EXPECT_EQ(names, (std::vector<std::string>{t.boxes->name, t.scores->name}));
  EXPECT_EQ(t.graph->outputs, (std::vector<Value*>{t.boxes, t.scores}));
  for (const auto& n : t.graph->nodes())
    EXPECT_TRUE(n->op_type == "Slice" || n->op_type == "Sigmoid") << n->op_type << " left in the graph";
  // The cut graph runs: [1,10,4] and [1,10,2], aligned prediction by prediction.
  const auto out = Engine::create(*t.graph)->run({Tensor(DType::kFloat32, {1, 10, 6})});
  EXPECT_EQ(out.at(0).shape, (Shape{1, 10, 4}));
  EXPECT_EQ(out.at(1).shape, (Shape{1, 10, 2}));
}

TEST(ProxyOutputs, AModelWithoutASelectionKeepsItsOutputs) {
  Graph g;
  Value* x = g.add_value("x", DType::kFloat32, {1, 10, 6}, true);
  g.inputs.push_back(x);
  g.outputs.push_back(op(g, "Sigmoid", {x}));
  const std::vector<Value*> before = g.outputs;
  EXPECT_TRUE(selection_inputs(g).empty());
  EXPECT_TRUE(cut_before_selection(g).empty());
  EXPECT_EQ(g.outputs, before);
  EXPECT_EQ(g.nodes().size(), 1u);
}

}  // namespace
}  // namespace partq::partial
