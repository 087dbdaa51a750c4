// Graph edits keep edges consistent; verify() catches broken graphs.
#include <gtest/gtest.h>

#include <algorithm>

#include "partq/error.hpp"
#include "partq/ir.hpp"

namespace partq {
namespace {

// x -> Relu(a) -> Sigmoid(b) -> y ; Add(a, a) -> z uses `a` twice.
struct Chain {
  Graph g;
  Value *x, *a, *b, *z;
  Node *relu, *sigmoid, *add;
  Chain() {
    x = g.add_value("x", DType::kFloat32, {1, 4});
    a = g.add_value("a");
    b = g.add_value("b");
    z = g.add_value("z");
    relu = g.add_node("Relu", {x}, {a});
    sigmoid = g.add_node("Sigmoid", {a}, {b}, "sig");
    add = g.add_node("Add", {a, a}, {z});
    g.inputs = {x};
    g.outputs = {b, z};
  }
};

TEST(Graph, AddNodeWiresEdges) {
  Chain c;
  c.g.verify();
  EXPECT_EQ(c.a->producer, c.relu);
  EXPECT_EQ(std::count(c.a->consumers.begin(), c.a->consumers.end(), c.add), 2);
  EXPECT_EQ(c.relu->name, "Relu");  // generated from the op type
  EXPECT_EQ(c.g.find_node("sig"), c.sigmoid);
  EXPECT_EQ(c.g.find_value("b"), c.b);
  EXPECT_EQ(c.g.find_value("nope"), nullptr);
  EXPECT_EQ(c.g.unique_node_name("sig"), "sig_1");
  EXPECT_EQ(c.g.unique_value_name("fresh"), "fresh");
  EXPECT_THROW(c.g.add_value("a"), Error);
  EXPECT_THROW(c.g.add_node("Relu", {c.x}, {c.a}), Error);  // a already has a producer
}

TEST(Graph, ReplaceAllUsesMovesEveryUseAndOutputs) {
  Chain c;
  Value* w = c.g.add_value("w");
  c.g.add_node("Neg", {c.x}, {w});
  c.g.replace_all_uses(c.a, w);
  EXPECT_TRUE(c.a->consumers.empty());
  EXPECT_EQ(c.add->inputs, (std::vector<Value*>{w, w}));
  EXPECT_EQ(c.sigmoid->inputs[0], w);
  EXPECT_EQ(w->consumers.size(), 3u);
  c.g.replace_all_uses(c.b, c.a);
  EXPECT_EQ(c.g.outputs[0], c.a);
  c.g.topological_sort();  // Neg was appended after its consumers
  c.g.verify();
}

TEST(Graph, EraseNodeAndRemoveUnusedValues) {
  Chain c;
  c.g.erase_node(c.add);
  c.g.outputs = {c.b};
  EXPECT_EQ(c.a->consumers, (std::vector<Node*>{c.sigmoid}));
  EXPECT_EQ(c.z->producer, nullptr);
  ASSERT_NE(c.g.find_value("z"), nullptr);  // kept until remove_unused_values
  c.g.remove_unused_values();
  EXPECT_EQ(c.g.find_value("z"), nullptr);
  EXPECT_EQ(c.g.nodes().size(), 2u);
  c.g.verify();
}

TEST(Graph, SetInputUpdatesConsumers) {
  Chain c;
  c.g.set_input(c.sigmoid, 0, c.x);
  EXPECT_EQ(std::count(c.a->consumers.begin(), c.a->consumers.end(), c.sigmoid), 0);
  EXPECT_EQ(std::count(c.x->consumers.begin(), c.x->consumers.end(), c.sigmoid), 1);
  Value* bias = c.g.add_initializer("bias", Tensor::from_float({1}, std::vector<float>{2.0f}));
  c.g.set_input(c.sigmoid, 2, bias);  // skips slot 1: an omitted optional input
  EXPECT_EQ(c.sigmoid->inputs.size(), 3u);
  EXPECT_EQ(c.sigmoid->input(1), nullptr);
  c.g.verify();
}

TEST(Graph, TopologicalSortAndCycles) {
  Graph g;
  Value* x = g.add_value("x");
  Value* a = g.add_value("a");
  Value* b = g.add_value("b");
  g.inputs = {x};
  g.add_node("Relu", {a}, {b}, "second");
  g.add_node("Relu", {x}, {a}, "first");
  g.outputs = {b};
  EXPECT_THROW(g.verify(), Error);  // consumer before producer
  g.topological_sort();
  EXPECT_EQ(g.nodes()[0]->name, "first");
  g.verify();

  Graph cyclic;
  Value* p = cyclic.add_value("p");
  Value* q = cyclic.add_value("q");
  cyclic.add_node("Relu", {q}, {p}, "n1");
  cyclic.add_node("Relu", {p}, {q}, "n2");
  try {
    cyclic.topological_sort();
    FAIL() << "expected a cycle error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cycle"), std::string::npos);
  }
}

TEST(Graph, VerifyCatchesBrokenEdges) {
  {
    Chain c;
    c.a->consumers.pop_back();  // Add uses `a` twice but only one use recorded
    EXPECT_THROW(c.g.verify(), Error);
  }
  {
    Chain c;
    c.b->producer = c.relu;  // producer does not list it
    EXPECT_THROW(c.g.verify(), Error);
  }
  {
    Chain c;
    Value* dangling = c.g.add_value("dangling");
    c.g.set_input(c.sigmoid, 1, dangling);  // no producer, not an input or initializer
    EXPECT_THROW(c.g.verify(), Error);
  }
  {
    Chain c;
    c.g.inputs.push_back(c.b);  // a produced value listed as a graph input
    EXPECT_THROW(c.g.verify(), Error);
  }
  {
    Chain c;
    c.sigmoid->name = "renamed_by_hand";  // name index is now stale
    EXPECT_THROW(c.g.verify(), Error);
  }
}

TEST(Graph, CloneIsDeepAndIndependent) {
  Chain c;
  c.relu->attrs["alpha"] = 0.5f;
  c.g.metadata["k"] = "v";
  c.g.add_initializer("w", Tensor::from_float({2}, std::vector<float>{1, 2}));
  auto copy = c.g.clone();
  copy->verify();
  EXPECT_EQ(copy->nodes().size(), 3u);
  EXPECT_EQ(copy->metadata.at("k"), "v");
  Node* relu = copy->find_node("Relu");
  ASSERT_NE(relu, nullptr);
  EXPECT_NE(relu, c.relu);
  EXPECT_EQ(relu->attr_float("alpha", 0), 0.5f);
  EXPECT_EQ(relu->inputs[0], copy->find_value("x"));
  EXPECT_EQ(copy->inputs[0], copy->find_value("x"));
  EXPECT_EQ(copy->find_value("w")->initializer, c.g.find_value("w")->initializer);  // shared, immutable
  copy->erase_node(copy->find_node("Add"));
  EXPECT_EQ(c.g.nodes().size(), 3u);
  c.g.verify();
}

TEST(Node, TypedAttributes) {
  Chain c;
  c.relu->attrs["i"] = int64_t{3};
  c.relu->attrs["s"] = std::string("x");
  c.relu->attrs["is"] = std::vector<int64_t>{1, 2};
  EXPECT_EQ(c.relu->attr_int("i", 0), 3);
  EXPECT_EQ(c.relu->attr_int("missing", 7), 7);
  EXPECT_EQ(c.relu->attr_string("s", ""), "x");
  EXPECT_EQ(c.relu->attr_ints("is"), (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(c.relu->attr_tensor("missing"), nullptr);
  try {
    c.relu->attr_float("i", 0);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("Relu"), std::string::npos) << e.what();
  }
}

TEST(Tensor, ConversionsAndShapes) {
  Tensor t = Tensor::from_int64({2, 2}, std::vector<int64_t>{1, -2, 3, 4});
  EXPECT_EQ(t.numel(), 4);
  EXPECT_EQ(t.to_float(), (std::vector<float>{1, -2, 3, 4}));
  Tensor z(DType::kUInt8, {3});
  EXPECT_EQ(z.bytes.size(), 3u);
  EXPECT_EQ(shape_str({1, 3, -1}), "[1,3,-1]");
  EXPECT_EQ(shape_numel({2, -1}), -1);
  EXPECT_EQ(shape_numel({}), 1);
  EXPECT_EQ(dtype_size(DType::kFloat16), 2u);
  EXPECT_STREQ(dtype_name(DType::kInt8), "int8");
}

}  // namespace
}  // namespace partq
