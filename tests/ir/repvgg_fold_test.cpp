// fold_repvgg_branches: RepVGG blocks built in code (conv+BN branches, identity BN / identity X, Adds) give
// the same outputs through partq::Engine before and after folding, and blocks that are not safe stay as they
// are.
#include <fmt/format.h>

#include "../engine/test_graphs.hpp"
#include "partq/onnx_io.hpp"
#include "partq/passes.hpp"
#include "test_util.hpp"

namespace partq::test {
namespace {

enum class Identity { kNone, kBatchNorm, kInput };

struct BlockSpec {
  int64_t n = 2, c = 8, m = 8, h = 9, w = 7, stride = 1, group = 1;
  Identity identity = Identity::kNone;
  bool identity_first =
      false;  // Add(identity, Add(conv1, conv3)) rather than Add(Add(conv3, conv1), identity)
  std::string name() const {
    static const char* ids[] = {"none", "bn", "x"};
    return fmt::format("c{}m{}_s{}_g{}_id_{}{}", c, m, stride, group, ids[static_cast<int>(identity)],
                       identity_first ? "_first" : "");
  }
};

void PrintTo(const BlockSpec& s, std::ostream* os) {
  *os << s.name();
}

// BatchNormalization of `x` (channels) with random parameters drawn from `seed`.
Value* add_batchnorm(GraphBuilder& gb, Value* x, int64_t channels, unsigned seed, const std::string& name) {
  return gb.op("BatchNormalization",
               {x, gb.constant(name + ".gamma", random_tensor({channels}, seed, 0.5f, 2.f)),
                gb.constant(name + ".beta", random_tensor({channels}, seed + 1)),
                gb.constant(name + ".mean", random_tensor({channels}, seed + 2, -0.5f, 0.5f)),
                gb.constant(name + ".var", random_tensor({channels}, seed + 3, 0.2f, 2.f))},
               {{"epsilon", 1e-3f}}, name);
}

// Conv(k x k, pads k/2) -> BatchNormalization, the training-time form of a RepVGG branch.
Value* add_conv_bn(GraphBuilder& gb, Value* x, const BlockSpec& s, int64_t k, unsigned seed,
                   const std::string& name) {
  ConvParams p;
  p.group = s.group;
  p.strides = {s.stride, s.stride};
  p.pads = std::vector<int64_t>(4, k / 2);
  const Shape ws = {s.m, s.c / s.group, k, k};
  Value* conv =
      gb.op("Conv", {x, gb.constant(name + ".w", random_tensor(ws, seed))}, conv_attrs(p, ws), name);
  return add_batchnorm(gb, conv, s.m, seed + 10, name + ".bn");
}

// One block of `s` reading `x`; returns the value after the block's ReLU.
Value* add_block(GraphBuilder& gb, Value* x, const BlockSpec& s, unsigned seed, const std::string& name) {
  Value* b3 = add_conv_bn(gb, x, s, 3, seed, name + ".conv3");
  Value* b1 = add_conv_bn(gb, x, s, 1, seed + 100, name + ".conv1");
  Value* id = nullptr;
  if (s.identity == Identity::kBatchNorm) id = add_batchnorm(gb, x, s.c, seed + 200, name + ".id");
  if (s.identity == Identity::kInput) id = x;
  Value* sum;
  if (!id)
    sum = gb.op("Add", {b3, b1}, {}, name + ".add");
  else if (s.identity_first)
    sum = gb.op("Add", {id, gb.op("Add", {b1, b3}, {}, name + ".add0")}, {}, name + ".add1");
  else
    sum = gb.op("Add", {gb.op("Add", {b3, b1}, {}, name + ".add0"), id}, {}, name + ".add1");
  return gb.op("Relu", {sum}, {}, name + ".relu");
}

// What prepare_graph does around the pass; returns the number of blocks folded.
int prepare(Graph& g) {
  fold_batchnorm(g);
  const int folded = fold_repvgg_branches(g);
  remove_dead_nodes(g);
  g.verify();
  return folded;
}

class RepVggFold : public ::testing::TestWithParam<BlockSpec> {};

TEST_P(RepVggFold, OneConvSameOutputs) {
  const BlockSpec& s = GetParam();
  GraphBuilder gb;
  Value* x = gb.input("x", {s.n, s.c, s.h, s.w});
  gb.output(add_block(gb, x, s, 7, "block"));
  const Tensor input = random_tensor({s.n, s.c, s.h, s.w}, 99);
  const Tensor before = run_graph(gb.graph(), {input})[0];

  Graph& g = gb.graph();
  EXPECT_EQ(prepare(g), 1);
  auto ops = op_counts(g);
  EXPECT_EQ(ops["Conv"], 1);
  EXPECT_EQ(ops["Add"], 0);
  EXPECT_EQ(ops["BatchNormalization"], 0);
  EXPECT_EQ(g.nodes().size(), 2u);  // Conv, Relu
  const Node* conv = g.find_node("block.conv3");
  ASSERT_NE(conv, nullptr);
  EXPECT_EQ(conv->input(0), x);
  EXPECT_EQ(conv->input(1)->initializer->shape, (Shape{s.m, s.c / s.group, 3, 3}));
  EXPECT_EQ(conv->attr_int("group", 1), s.group);
  EXPECT_EQ(conv->attr_ints("strides"), (std::vector<int64_t>{s.stride, s.stride}));
  const Tensor after = run_graph(g, {input})[0];
  expect_near(after, before, 1e-4f);
  EXPECT_EQ(fold_repvgg_branches(g), 0);  // nothing left
}

INSTANTIATE_TEST_SUITE_P(
    Blocks, RepVggFold,
    ::testing::Values(BlockSpec{.identity = Identity::kBatchNorm},                          // 3 branches
                      BlockSpec{.identity = Identity::kBatchNorm, .identity_first = true},  // other nesting
                      BlockSpec{.c = 4, .m = 8, .stride = 2},                               // 2 branches, s2
                      BlockSpec{.c = 6, .m = 6, .h = 8, .w = 8, .stride = 2, .group = 3},   // grouped, s2
                      BlockSpec{.group = 2, .identity = Identity::kBatchNorm},              // grouped + BN id
                      BlockSpec{
                          .group = 4, .identity = Identity::kInput, .identity_first = true},  // grouped + x
                      BlockSpec{.group = 8, .identity = Identity::kBatchNorm}),               // depthwise
    [](const ::testing::TestParamInfo<BlockSpec>& info) { return info.param.name(); });

// A RepVGG stage: a stride-2 two-branch block, then two stride-1 three-branch blocks.
TEST(RepVggFoldStage, EveryBlockFolds) {
  GraphBuilder gb;
  Value* x = gb.input("x", {1, 4, 12, 10});
  Value* v = add_block(gb, x, BlockSpec{.c = 4, .m = 8, .stride = 2}, 1, "b0");
  v = add_block(gb, v, BlockSpec{.identity = Identity::kBatchNorm}, 2, "b1");
  v = add_block(gb, v, BlockSpec{.group = 2, .identity = Identity::kBatchNorm}, 3, "b2");
  gb.output(v);
  const Tensor input = random_tensor({1, 4, 12, 10}, 5);
  const Tensor before = run_graph(gb.graph(), {input})[0];
  EXPECT_EQ(prepare(gb.graph()), 3);
  EXPECT_EQ(op_counts(gb.graph())["Conv"], 3);
  EXPECT_EQ(op_counts(gb.graph())["Add"], 0);
  expect_near(run_graph(gb.graph(), {input})[0], before, 1e-4f);
}

// A branch whose output is read elsewhere too: that branch can't be folded away.
TEST(RepVggFoldSafety, BranchWithAnotherConsumerIsLeftAlone) {
  for (const char* shared : {"block.conv3", "block.conv1", "block.id", "block.add0"}) {
    SCOPED_TRACE(shared);
    GraphBuilder gb;
    Value* x = gb.input("x", {1, 8, 6, 6});
    gb.output(add_block(gb, x, BlockSpec{.identity = Identity::kBatchNorm}, 11, "block"));
    Graph& g = gb.graph();
    fold_batchnorm(g);  // the Convs now produce their BNs' outputs
    Value* branch = g.find_node(shared)->outputs[0];
    Node* extra = g.add_node("Sigmoid", {branch}, {g.add_value("extra")}, "extra");
    g.outputs.push_back(extra->outputs[0]);
    const Tensor input = random_tensor({1, 8, 6, 6}, 12);
    const auto before = run_graph(g, {input});
    const auto ops_before = op_counts(g);
    const int folded = fold_repvgg_branches(g);
    g.verify();
    if (std::string(shared) == "block.add0" || std::string(shared) == "block.id") {
      // The inner Add (3x3 + 1x1) is a whole two-branch block itself; only the outer Add can't take in the
      // shared identity / inner sum.
      EXPECT_EQ(folded, 1);
      EXPECT_EQ(op_counts(g)["Add"], 1);
      EXPECT_EQ(op_counts(g)["Conv"], 1);
    } else {
      EXPECT_EQ(folded, 0);
      EXPECT_EQ(op_counts(g), ops_before);
    }
    const auto after = run_graph(g, {input});
    ASSERT_EQ(after.size(), 2u);
    expect_near(after[0], before[0], 1e-4f);
    expect_near(after[1], before[1], 1e-4f);
  }
}

// Shapes the identity or the 1x1 branch can't be folded into: left alone.
TEST(RepVggFoldSafety, MismatchedBranchesAreLeftAlone) {
  struct Case {
    const char* what;
    std::function<void(Graph&)> edit;
  } cases[] = {
      {"1x1 reads another tensor",
       [](Graph& g) { g.set_input(g.find_node("block.conv1"), 0, g.find_node("pre")->outputs[0]); }},
      {"1x1 with another stride",
       [](Graph& g) {
         g.find_node("block.conv1")->attrs["strides"] = std::vector<int64_t>{2, 2};
       }},
      {"3x3 dilated",
       [](Graph& g) {
         g.find_node("block.conv3")->attrs["dilations"] = std::vector<int64_t>{2, 2};
       }},
      {"3x3 without padding",
       [](Graph& g) {
         g.find_node("block.conv3")->attrs["pads"] = std::vector<int64_t>{0, 0, 0, 0};
       }},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    GraphBuilder gb;
    Value* x = gb.input("x", {1, 8, 6, 6});
    Value* pre = gb.op("Relu", {x}, {}, "pre");
    gb.output(add_block(gb, x, BlockSpec{}, 21, "block"));
    gb.output(pre);
    Graph& g = gb.graph();
    fold_batchnorm(g);
    c.edit(g);
    g.topological_sort();
    EXPECT_EQ(fold_repvgg_branches(g), 0);
    g.verify();
  }
}

// The detectors partq ships with have no such blocks: the pass leaves them unchanged.
TEST(RepVggFoldModels, YoloModelsUnchanged) {
  for (const char* file : {"yolov5n.onnx", "yolox_nano.onnx"}) {
    SCOPED_TRACE(file);
    auto g = load_onnx(model_path(file));
    canonicalize(*g);
    fold_constants(*g);
    fold_batchnorm(*g);
    const auto ops = op_counts(*g);
    EXPECT_EQ(fold_repvgg_branches(*g), 0);
    EXPECT_EQ(op_counts(*g), ops);
  }
}

}  // namespace
}  // namespace partq::test
