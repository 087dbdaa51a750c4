// Asymmetric activations: the lower bounds the graph guarantees, the uint8 parameters made from them (per
// scale group), and their Q/DQ export read back.
#include <gtest/gtest.h>

#include <cmath>

#include "partq/onnx_io.hpp"
#include "partq/quant.hpp"
#include "partq/quant_qdq.hpp"
#include "quant_test_util.hpp"

namespace partq {
namespace {

// min over x of x * sigmoid(x), found numerically here (not the constant the code uses).
float silu_minimum() {
  float best = 0;
  for (int i = -40000; i <= 0; ++i) {
    const double x = i * 1e-4;
    best = std::min(best, static_cast<float>(x / (1 + std::exp(-x))));
  }
  return best;
}

// Concat(SiLU(convA x) = a, Relu(convB x) = r) -> convC: a bounded scale group.
// Concat(MaxPool(SiLU(convF x)) = p, convG x = c) -> convD: a group with one unbounded tensor (c).
// Add(a, c) -> convE: an unbounded sum. Add(a, s) -> convH: a bounded one.
struct BoundsGraph {
  test::TinyGraph t;
  Value *x, *a, *r, *cat_ar, *s, *p, *c, *cat_pc, *sum, *bounded_sum;
  BoundsGraph() {
    x = t.input("x", 4);
    a = t.silu("actA", t.conv("convA", x, 4));
    r = t.op("Relu", "relu", {t.conv("convB", x, 4)}, a->shape);
    cat_ar = t.op("Concat", "cat_ar", {a, r}, {1, 8, 4, 4});
    t.node("cat_ar")->attrs["axis"] = int64_t{1};
    s = t.silu("actF", t.conv("convF", x, 4));
    p = t.op("MaxPool", "pool", {s}, s->shape);
    t.node("pool")->attrs["kernel_shape"] = std::vector<int64_t>{1, 1};
    c = t.conv("convG", x, 4);
    cat_pc = t.op("Concat", "cat_pc", {p, c}, {1, 8, 4, 4});
    t.node("cat_pc")->attrs["axis"] = int64_t{1};
    sum = t.op("Add", "add", {a, c}, a->shape);
    bounded_sum = t.op("Add", "add_as", {a, s}, a->shape);
    t.output(t.conv("convC", cat_ar, 4));
    t.output(t.conv("convD", cat_pc, 4));
    t.output(t.conv("convE", sum, 4));
    t.output(t.conv("convH", bounded_sum, 4));
  }
};

TEST(ActivationBounds, FromTheOpsThatMakeTheValues) {
  BoundsGraph g;
  const auto bounds = activation_lower_bounds(g.t.graph());
  EXPECT_NEAR(bounds.at(g.a->name), silu_minimum(), 1e-5);
  EXPECT_EQ(bounds.at(g.p->name), bounds.at(g.a->name));  // MaxPool keeps its input's bound
  EXPECT_EQ(bounds.at(g.r->name), 0.f);
  EXPECT_EQ(bounds.at(g.cat_ar->name), bounds.at(g.a->name));           // the smaller of its inputs'
  EXPECT_EQ(bounds.at(g.bounded_sum->name), 2 * bounds.at(g.a->name));  // the sum of both bounds
  for (const Value* v : {g.x, g.c, g.cat_pc, g.sum})
    EXPECT_FALSE(bounds.count(v->name)) << v->name;
}

// The image: the graph does not bound it, but partq's preprocessing gives non-negative pixels under every
// preset, so the jobs' bounds (lower_bounds_for) start it at 0 and carry that through its MaxPool.
TEST(ActivationBounds, TheImageInputStartsAtZeroInTheAsymmetricMode) {
  test::TinyGraph t;
  Value* x = t.input("x", 3);
  Value* pooled = t.op("MaxPool", "pool", {x}, x->shape);
  t.node("pool")->attrs["kernel_shape"] = std::vector<int64_t>{1, 1};
  Value* y = t.conv("conv", pooled, 4);
  t.output(t.conv("conv2", t.op("Relu", "relu", {y}, y->shape), 4));
  EXPECT_FALSE(activation_lower_bounds(t.graph()).count("x"));
  const auto bounds = lower_bounds_for(t.graph(), true);
  EXPECT_EQ(bounds.at("x"), 0.f);
  EXPECT_EQ(bounds.at(pooled->name), 0.f);
  EXPECT_FALSE(bounds.count(y->name));
  EXPECT_TRUE(lower_bounds_for(t.graph(), false).empty());
  // A caller's own input bounds (here below 0) are carried the same way.
  EXPECT_EQ(activation_lower_bounds(t.graph(), {{"x", -2.f}}).at(pooled->name), -2.f);
}

// A squeeze-excitation style ReduceMean and a ReduceMax keep the bound of what they reduce; a ReduceSum
// (which can go below it) and a constant Pad (which adds its own value) do not.
TEST(ActivationBounds, ReduceMeanAndMaxKeepTheBoundSumAndConstantPadDoNot) {
  test::TinyGraph t;
  Value* x = t.input("x", 4);
  Value* r = t.op("Relu", "relu", {t.conv("conv", x, 4)}, {1, 4, 4, 4});
  Value* mean = t.op("ReduceMean", "mean", {r}, {1, 4, 1, 1});
  Value* max = t.op("ReduceMax", "max", {r}, {1, 4, 1, 1});
  Value* sum = t.op("ReduceSum", "sum", {r}, {1, 4, 1, 1});
  Value* padded = t.op("Pad", "pad", {r}, {1, 4, 6, 6});
  for (Value* v : {mean, max, sum, padded})
    t.output(v);
  const auto bounds = activation_lower_bounds(t.graph());
  EXPECT_EQ(bounds.at(mean->name), 0.f);
  EXPECT_EQ(bounds.at(max->name), 0.f);
  EXPECT_FALSE(bounds.count(sum->name));
  EXPECT_FALSE(bounds.count(padded->name));
}

TEST(ActivationParams, Uint8WhereTheWholeGroupIsBounded) {
  BoundsGraph g;
  const Graph& graph = g.t.graph();
  const QuantPlan plan = plan_quantization(graph);
  std::map<std::string, float> amax;
  for (const QuantActivation& a : plan.activations)
    amax[a.tensor] = 2.0f;
  const auto bounds = activation_lower_bounds(graph);
  const auto params = activation_params(plan, amax, bounds);
  // cat_ar's group (a, r, cat_ar) is bounded: uint8 over [silu min, 2].
  const QuantParams& pa = params.at(g.cat_ar->name);
  ASSERT_TRUE(pa.asymmetric());
  const float lo = bounds.at(g.a->name);
  EXPECT_FLOAT_EQ(pa.scales[0], (2.0f - lo) / 255);
  EXPECT_EQ(pa.zero_points[0], std::lround(-lo / pa.scales[0]));
  EXPECT_GT(pa.zero_points[0], 0);
  EXPECT_EQ(params.at(g.a->name).zero_points, pa.zero_points);
  // cat_pc's group holds convG's unbounded output: symmetric int8 for all of it, p and s included.
  for (const Value* v : {g.cat_pc, g.p, g.s, g.c, g.x, g.sum}) {
    ASSERT_TRUE(params.count(v->name)) << v->name;
    EXPECT_FALSE(params.at(v->name).asymmetric()) << v->name;
    EXPECT_FLOAT_EQ(params.at(v->name).scales[0], 2.0f / 127) << v->name;
  }
  // Without bounds everything is symmetric.
  for (const auto& [tensor, p] : activation_params(plan, amax))
    EXPECT_FALSE(p.asymmetric()) << tensor;
}

TEST(ActivationParams, ReluRangeGetsZeroPointZero) {
  const QuantParams p = QuantParams::asymmetric_from_range(0.f, 5.1f);
  EXPECT_EQ(p.zero_points, std::vector<int64_t>{0});
  EXPECT_FLOAT_EQ(p.scales[0], 0.02f);
}

TEST(QdqExport, AsymmetricActivationsAreUint8AndReadBack) {
  BoundsGraph g;
  const Graph& graph = g.t.graph();
  const QuantPlan plan = plan_quantization(graph);
  std::map<std::string, float> amax;
  float v = 1.0f;
  for (const QuantActivation& a : plan.activations)
    amax[a.tensor] = (v += 0.5f);
  const auto bounds = activation_lower_bounds(graph);
  const std::string path = test::temp_path("asymmetric.qdq.onnx");
  save_onnx(*insert_qdq(graph, plan, amax, bounds), path);  // through the ONNX checker
  const QdqModel model = read_qdq(*load_onnx(path));
  const auto want = activation_params(plan, amax, bounds);
  int asymmetric = 0;
  for (const QuantActivation& a : plan.activations) {
    SCOPED_TRACE(a.tensor);
    ASSERT_TRUE(model.activation_params.count(a.tensor));
    EXPECT_EQ(model.activation_params.at(a.tensor).scales, want.at(a.tensor).scales);
    EXPECT_EQ(model.activation_params.at(a.tensor).zero_points, want.at(a.tensor).zero_points);
    asymmetric += want.at(a.tensor).asymmetric();
  }
  EXPECT_GE(asymmetric, 3);  // a, r, cat_ar
}

}  // namespace
}  // namespace partq
