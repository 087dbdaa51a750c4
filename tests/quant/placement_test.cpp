// Placement rules on tiny graphs built in code: each test builds the smallest graph that exercises one rule.
#include <gtest/gtest.h>

#include <algorithm>

#include "partq/error.hpp"
#include "partq/quant.hpp"
#include "quant_test_util.hpp"

namespace partq {
namespace {

using test::TinyGraph;
using Strings = std::vector<std::string>;

Strings activation_names(const QuantPlan& plan) {
  Strings out;
  for (const auto& a : plan.activations)
    out.push_back(a.tensor);
  return out;
}

int group_of(const QuantPlan& plan, const std::string& tensor) {
  const QuantActivation* a = plan.find_activation(tensor);
  EXPECT_NE(a, nullptr) << tensor << " is not quantized";
  return a ? a->group : -1;
}

TEST(Placement, ConvChainQuantizesEachDataInputOnce) {
  TinyGraph t;
  Value* x = t.input("x", 4);
  Value* a = t.op("Relu", "relu", {t.conv("convA", x, 8)}, {1, 8, 4, 4});
  t.output(t.conv("convB", a, 8));
  const QuantPlan plan = plan_quantization(t.graph());

  ASSERT_EQ(plan.nodes.size(), 2u);
  EXPECT_EQ(plan.int8_node_count(), 2);
  EXPECT_EQ(plan.nodes[0].data_input, "x");
  EXPECT_EQ(plan.nodes[0].weight, "convA.weight");
  EXPECT_EQ(plan.nodes[0].weight_axis, 0);
  EXPECT_EQ(activation_names(plan), (Strings{"x", "relu_out"}));
  EXPECT_EQ(plan.find_activation("relu_out")->consumers, (Strings{"convB"}));
  EXPECT_NE(group_of(plan, "x"), group_of(plan, "relu_out"));
  // The last conv's output is a graph output: nothing reads it quantized, and no node is "decode" here.
  EXPECT_EQ(plan.find_activation("convB_out"), nullptr);
  EXPECT_TRUE(plan.decode_nodes.empty());
}

TEST(Placement, ResidualAddQuantizesBothInputs) {
  TinyGraph t;
  Value* a = t.silu("actA", t.conv("convA", t.input("x", 4), 4));
  Value* b = t.silu("actB", t.conv("convB", a, 4));
  Value* sum = t.op("Add", "residual", {a, b}, {1, 4, 4, 4});
  Value* biased = t.op("Add", "bias_add", {sum, t.constant("bias", 1.0f)}, {1, 4, 4, 4});
  t.output(t.conv("convC", biased, 4));
  const QuantPlan plan = plan_quantization(t.graph());

  // actA feeds convB and the Add: one quantized tensor with both readers.
  EXPECT_EQ(plan.find_activation("actA/Mul_out")->consumers, (Strings{"convB", "residual"}));
  EXPECT_EQ(plan.find_activation("actB/Mul_out")->consumers, (Strings{"residual"}));
  // An Add with a constant is a bias, not a residual: its inputs stay float; its output is convC's data
  // input.
  EXPECT_EQ(plan.find_activation("residual_out"), nullptr);
  EXPECT_EQ(plan.find_activation("bias_add_out")->consumers, (Strings{"convC"}));
  // Residual inputs keep their own scales (TensorRT fuses the add into the conv producing one of them).
  EXPECT_NE(group_of(plan, "actA/Mul_out"), group_of(plan, "actB/Mul_out"));
}

TEST(Placement, AddOfActivationsFarFromInt8ConvsStaysFloat) {
  TinyGraph t;
  Value* x = t.input("x", 4);
  Value* y = t.input("y", 4);
  Value* sum = t.op("Add", "add_inputs", {x, y}, {1, 4, 4, 4});
  t.output(t.conv("conv", t.op("Relu", "relu", {sum}, {1, 4, 4, 4}), 4));
  const QuantPlan plan = plan_quantization(t.graph());
  // The Add is fed by graph inputs and feeds a Relu (not a scale-preserving op) before the conv.
  EXPECT_EQ(activation_names(plan), (Strings{"relu_out"}));
}

TEST(Placement, ConcatOfTwoConvsSharesOneGroup) {
  TinyGraph t;
  Value* x = t.input("x", 4);
  Value* a = t.silu("actA", t.conv("convA", x, 4));
  Value* b = t.silu("actB", t.conv("convB", x, 4));
  Value* cat = t.op("Concat", "concat", {a, b}, {1, 8, 4, 4});
  t.node("concat")->attrs["axis"] = int64_t{1};
  t.output(t.conv("convC", cat, 4));
  const QuantPlan plan = plan_quantization(t.graph());

  EXPECT_EQ(group_of(plan, "actA/Mul_out"), group_of(plan, "concat_out"));
  EXPECT_EQ(group_of(plan, "actB/Mul_out"), group_of(plan, "concat_out"));
  EXPECT_NE(group_of(plan, "x"), group_of(plan, "concat_out"));
  EXPECT_EQ(plan.find_activation("actA/Mul_out")->consumers, (Strings{"concat"}));
  const auto groups = plan.groups();
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(groups[0].nodes, (Strings{"convA", "convB"}));  // x: one scale read by both
  EXPECT_EQ(groups[1].tensors, (Strings{"actA/Mul_out", "actB/Mul_out", "concat_out"}));
  EXPECT_EQ(groups[1].nodes, (Strings{"convC"}));
}

TEST(Placement, MaxPoolAndResizeJoinTheConcatGroup) {
  TinyGraph t;
  Value* y = t.silu("act", t.conv("convA", t.input("x", 4), 4));
  Value* pooled = t.op("MaxPool", "pool", {y}, {1, 4, 4, 4});
  t.node("pool")->attrs["kernel_shape"] = std::vector<int64_t>{3, 3};
  t.node("pool")->attrs["pads"] = std::vector<int64_t>{1, 1, 1, 1};
  Value* cat = t.op("Concat", "concat", {y, pooled}, {1, 8, 4, 4});
  t.node("concat")->attrs["axis"] = int64_t{1};
  Value* scales =
      t.graph().add_initializer("scales", Tensor::from_float({4}, std::vector<float>{1, 1, 2, 2}));
  Value* up = t.op("Resize", "resize", {cat, nullptr, scales}, {1, 8, 8, 8});
  t.output(t.conv("convB", up, 4));
  const QuantPlan plan = plan_quantization(t.graph());

  const int g = group_of(plan, "resize_out");
  EXPECT_EQ(group_of(plan, "concat_out"), g);
  EXPECT_EQ(group_of(plan, "pool_out"), g);
  EXPECT_EQ(group_of(plan, "act/Mul_out"), g);
  EXPECT_EQ(plan.find_activation("act/Mul_out")->consumers, (Strings{"pool", "concat"}));
  EXPECT_EQ(plan.find_activation("concat_out")->consumers, (Strings{"resize"}));
}

TEST(Placement, DecodeLikeTailAfterTheLastConvStaysFloat) {
  TinyGraph t;
  Value* feat = t.silu("act", t.conv("convA", t.input("x", 4), 4));
  Value* head = t.conv("head", feat, 6);
  Value* sig = t.op("Sigmoid", "sig", {head}, {1, 6, 4, 4});
  Value* xy = t.op("Mul", "xy_scale", {sig, t.constant("two", 2.0f)}, {1, 6, 4, 4});
  Value* grid = t.op("Add", "grid_add", {xy, t.constant("grid", 0.5f)}, {1, 6, 4, 4});
  Value* wh = t.op("Pow", "wh_pow", {sig, t.constant("pow2", 2.0f)}, {1, 6, 4, 4});
  Value* both = t.op("Add", "two_branches", {grid, wh}, {1, 6, 4, 4});  // looks residual, but is decode math
  Value* cat = t.op("Concat", "out_concat", {both, sig}, {1, 12, 4, 4});
  t.node("out_concat")->attrs["axis"] = int64_t{1};
  t.output(cat);
  const QuantPlan plan = plan_quantization(t.graph());

  EXPECT_EQ(plan.decode_nodes,
            (Strings{"sig", "xy_scale", "grid_add", "wh_pow", "two_branches", "out_concat"}));
  EXPECT_EQ(plan.int8_node_count(), 2);  // the head conv itself is int8
  EXPECT_EQ(activation_names(plan), (Strings{"x", "act/Mul_out"}));
}

// YOLOv8's DFL: the box branch's 4x16 bins go through a Softmax, then a 1x1 conv with weights 0..15 takes
// the expectation. That conv is decode arithmetic and stays float by default; a conv after a Sigmoid does
// not.
TEST(Placement, ConvOverASoftmaxDistributionStaysFloat) {
  TinyGraph t;
  Value* feat = t.silu("act", t.conv("convA", t.input("x", 4), 16));
  Value* bins = t.op("Transpose", "to_bins", {feat}, {1, 16, 4, 4});
  Value* dist = t.op("Softmax", "dfl_softmax", {bins}, {1, 16, 4, 4});
  Value* view = t.op("Reshape", "dfl_view", {dist, t.constant("shape", 0.f)}, {1, 16, 4, 4});
  Value* dfl = t.conv("dfl", view, 1);
  Value* scores = t.conv("cls", t.op("Sigmoid", "sig", {feat}, {1, 16, 4, 4}), 2);
  t.output(dfl);
  t.output(scores);
  const QuantPlan plan = plan_quantization(t.graph());

  const QuantNode* d = plan.find_node("dfl");
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->precision, Precision::kFloat32);
  EXPECT_NE(d->reason.find("dfl_softmax"), std::string::npos) << d->reason;
  EXPECT_EQ(plan.find_node("convA")->precision, Precision::kInt8);
  EXPECT_EQ(plan.find_node("cls")->precision, Precision::kInt8);
  EXPECT_EQ(plan.find_activation("dfl_view_out"), nullptr);  // no Q/DQ before the float DFL conv
  // It is a default, not a blocker: an override can still make it int8.
  const QuantPlan forced = plan_quantization(t.graph(), {.overrides = {{"dfl", Precision::kInt8}}});
  EXPECT_EQ(forced.find_node("dfl")->precision, Precision::kInt8);
}

TEST(Placement, KeepFirstConvFloat) {
  TinyGraph t;
  Value* a = t.op("Relu", "relu", {t.conv("stem", t.input("x", 3), 8)}, {1, 8, 4, 4});
  t.output(t.conv("convB", a, 8));
  const QuantPlan plan = plan_quantization(t.graph(), {.keep_first_conv_float = true});

  EXPECT_EQ(plan.find_node("stem")->precision, Precision::kFloat32);
  EXPECT_EQ(plan.find_node("stem")->reason, "--keep-first-conv-float");
  EXPECT_EQ(plan.find_node("convB")->precision, Precision::kInt8);
  EXPECT_EQ(activation_names(plan), (Strings{"relu_out"}));
}

TEST(Placement, OverridesFlipNodesAndAreChecked) {
  TinyGraph t;
  Value* x = t.input("x", 4);
  Value* a = t.op("Relu", "relu", {t.conv("convA", x, 8)}, {1, 8, 4, 4});
  t.output(t.conv("convB", a, 8));
  const QuantPlan plan = plan_quantization(t.graph(), {.overrides = {{"convB", Precision::kFloat32}}});
  EXPECT_EQ(plan.find_node("convB")->precision, Precision::kFloat32);
  EXPECT_EQ(plan.find_node("convB")->reason, "forced float by override");
  EXPECT_EQ(activation_names(plan), (Strings{"x"}));  // nothing int8 reads relu_out any more

  EXPECT_THROW(plan_quantization(t.graph(), {.overrides = {{"no_such_conv", Precision::kFloat32}}}), Error);
  EXPECT_THROW(plan_quantization(t.graph(), {.overrides = {{"relu", Precision::kInt8}}}), Error);
}

TEST(Placement, NonConstantWeightStaysFloatAndCannotBeForced) {
  TinyGraph t;
  Value* x = t.input("x", 4);
  Value* y = t.input("y", 4);
  t.output(t.op("MatMul", "attention", {x, y}, {1, 4, 4, 4}));
  const QuantPlan plan = plan_quantization(t.graph());
  EXPECT_EQ(plan.find_node("attention")->precision, Precision::kFloat32);
  EXPECT_EQ(plan.find_node("attention")->reason, "weight not constant");
  EXPECT_TRUE(plan.activations.empty());
  try {
    plan_quantization(t.graph(), {.overrides = {{"attention", Precision::kInt8}}});
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'attention' cannot run int8: weight not constant"),
              std::string::npos)
        << e.what();
  }
}

TEST(Placement, WeightAxisFollowsTheOutputChannels) {
  Graph g;
  g.opset = 13;
  Value* x = g.add_value("x", DType::kFloat32, {2, 3});
  g.inputs.push_back(x);
  auto w = [&](const std::string& name, Shape s) {
    return g.add_initializer(
        name, Tensor::from_float(s, std::vector<float>(static_cast<size_t>(shape_numel(s)), 1.0f)));
  };
  auto add = [&](const std::string& type, const std::string& name, std::vector<Value*> in, Shape s) {
    Value* out = g.add_value(name + "_out", DType::kFloat32, s);
    return g.add_node(type, in, {out}, name);
  };
  add("Gemm", "gemm_t", {x, w("wt", {5, 3})}, {2, 5})->attrs["transB"] = int64_t{1};
  add("Gemm", "gemm", {x, w("w", {3, 5})}, {2, 5});
  add("MatMul", "matmul", {x, w("wm", {3, 5})}, {2, 5});
  Value* img = g.add_value("img", DType::kFloat32, {1, 4, 2, 2});
  g.inputs.push_back(img);
  add("ConvTranspose", "deconv", {img, w("wd", {4, 6, 2, 2})}, {1, 6, 4, 4});
  for (const char* o : {"gemm_t_out", "gemm_out", "matmul_out", "deconv_out"})
    g.outputs.push_back(g.find_value(o));

  const QuantPlan plan = plan_quantization(g);
  EXPECT_EQ(plan.find_node("gemm_t")->weight_axis, 0);
  EXPECT_EQ(plan.find_node("gemm")->weight_axis, 1);
  EXPECT_EQ(plan.find_node("matmul")->weight_axis, 1);
  EXPECT_EQ(plan.find_node("deconv")->weight_axis, 1);
  EXPECT_EQ(plan.int8_node_count(), 4);
}

TEST(Placement, PlanJsonRoundTrip) {
  TinyGraph t;
  Value* x = t.input("x", 4);
  Value* a = t.silu("actA", t.conv("convA", x, 4));
  Value* b = t.silu("actB", t.conv("convB", x, 4));
  Value* cat = t.op("Concat", "concat", {a, b}, {1, 8, 4, 4});
  t.output(t.conv("convC", cat, 4));
  const QuantPlan plan = plan_quantization(t.graph(), {.keep_first_conv_float = false,
                                                       .overrides = {{"convB", Precision::kFloat32}},
                                                       .weight_max_code = kReducedRangeMaxCode});
  const std::string path = test::temp_path("plan.json");
  write_quant_plan(path, plan);
  const QuantPlan back = read_quant_plan(path);
  EXPECT_EQ(to_json(back), to_json(plan));
  EXPECT_EQ(back.find_node("convB")->reason, "forced float by override");
  EXPECT_EQ(back.weight_max_code, kReducedRangeMaxCode);
  EXPECT_EQ(back.model_fingerprint, model_fingerprint(t.graph()));
  EXPECT_NO_THROW(check_plan_matches(back, t.graph(), path));

  nlohmann::json broken = to_json(plan);
  broken["nodes"][0]["precision"] = "int4";
  EXPECT_THROW(quant_plan_from_json(broken, "broken.json"), Error);
  broken = to_json(plan);
  broken["activations"][0]["tensor"] = "not_in_this_model";
  EXPECT_THROW(check_plan_matches(quant_plan_from_json(broken, "b.json"), t.graph(), "b.json"), Error);
  broken = to_json(plan);
  broken.erase("weight_max_code");  // a plan written before the field existed: 8-bit weights
  EXPECT_EQ(quant_plan_from_json(broken, "old.json").weight_max_code, 127);
  broken["weight_max_code"] = 200;
  EXPECT_THROW(quant_plan_from_json(broken, "broken.json"), Error);
}

TEST(Placement, DescribePlanListsNodesGroupsAndReasons) {
  TinyGraph t;
  Value* a = t.op("Relu", "relu", {t.conv("stem", t.input("x", 3), 8)}, {1, 8, 4, 4});
  t.output(t.conv("convB", a, 8));
  const std::string text = describe_plan(plan_quantization(t.graph(), {.keep_first_conv_float = true}));
  EXPECT_NE(text.find("quantizable nodes: 2 (1 int8, 8-bit weights)"), std::string::npos) << text;
  EXPECT_NE(text.find("(--keep-first-conv-float)"), std::string::npos) << text;
  EXPECT_NE(text.find("quantized tensors: 1 in 1 scale groups"), std::string::npos) << text;
}

}  // namespace
}  // namespace partq
