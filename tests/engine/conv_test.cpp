// Conv against a plain-loop reference over the geometry yolo exports use (groups, depthwise, asymmetric pads,
// strides, dilation, no bias), alone and with fused activations (fused == unfused == reference).
#include <fmt/format.h>

#include "test_graphs.hpp"

namespace partq::test {
namespace {

struct ConvCase {
  int64_t n, ic, oc, h, w, k;
  ConvParams p;
  bool bias = true;
  std::string name() const {
    return fmt::format("conv_n{}ic{}oc{}_h{}w{}_k{}_g{}_s{}_d{}_p{}{}{}{}{}", n, ic, oc, h, w, k, p.group,
                       p.strides[0], p.dilations[0], p.pads[0], p.pads[1], p.pads[2], p.pads[3],
                       bias ? "" : "_nobias");
  }
};

void PrintTo(const ConvCase& c, std::ostream* os) {
  *os << c.name();
}

ConvParams params(int64_t group, int64_t stride, int64_t dil, std::vector<int64_t> pads) {
  ConvParams p;
  p.group = group;
  p.strides = {stride, stride};
  p.dilations = {dil, dil};
  p.pads = std::move(pads);
  return p;
}

class ConvTest : public ::testing::TestWithParam<ConvCase> {};

TEST_P(ConvTest, MatchesReference) {
  const ConvCase& c = GetParam();
  Tensor x = random_tensor({c.n, c.ic, c.h, c.w}, 1);
  Tensor w = random_tensor({c.oc, c.ic / c.p.group, c.k, c.k}, 2);
  Tensor b = random_tensor({c.oc}, 3);
  GraphBuilder gb;
  Value* in = gb.input("x", x.shape);
  std::vector<Value*> ins = {in, gb.constant("w", w)};
  if (c.bias) ins.push_back(gb.constant("b", b));
  gb.output(gb.op("Conv", ins, conv_attrs(c.p, w.shape)));
  auto out = run_graph(gb.graph(), {x});
  expect_near(out[0], reference_conv(x, w, c.bias ? &b : nullptr, c.p));
}

// Conv -> activation, fused (one oneDNN primitive with a post-op) and unfused, both against the reference.
TEST_P(ConvTest, FusedActivationsMatchUnfused) {
  const ConvCase& c = GetParam();
  Tensor x = random_tensor({c.n, c.ic, c.h, c.w}, 4);
  Tensor w = random_tensor({c.oc, c.ic / c.p.group, c.k, c.k}, 5);
  Tensor b = random_tensor({c.oc}, 6);
  Tensor conv = reference_conv(x, w, &b, c.p);
  struct Act {
    std::string op;
    std::function<float(float)> f;
  };
  std::vector<Act> acts = {{"SiLU", [](float v) { return v * sigmoid(v); }},
                           {"Relu", [](float v) { return std::max(v, 0.f); }},
                           {"LeakyRelu", [](float v) { return v > 0 ? v : 0.1f * v; }},
                           {"Sigmoid", [](float v) { return sigmoid(v); }},
                           {"HardSwish", [](float v) { return v * std::clamp(v / 6.f + 0.5f, 0.f, 1.f); }},
                           {"Clip", [](float v) { return std::clamp(v, 0.f, 6.f); }}};
  for (const Act& act : acts) {
    GraphBuilder gb;
    Value* y = gb.op("Conv", {gb.input("x", x.shape), gb.constant("w", w), gb.constant("b", b)},
                     conv_attrs(c.p, w.shape));
    Value* z;
    if (act.op == "SiLU")
      z = gb.op("Mul", {y, gb.op("Sigmoid", {y})});
    else if (act.op == "LeakyRelu")
      z = gb.op("LeakyRelu", {y}, {{"alpha", 0.1f}});
    else if (act.op == "Clip")
      z = gb.op("Clip",
                {y, gb.constant("lo", Tensor::scalar_float(0)), gb.constant("hi", Tensor::scalar_float(6))});
    else
      z = gb.op(act.op, {y});
    gb.output(z);
    auto fused_engine = Engine::create(gb.graph(), {.fuse = true});
    auto plain_engine = Engine::create(gb.graph(), {.fuse = false});
    EXPECT_NE(fused_engine->describe().find("Conv+"), std::string::npos) << act.op << "\n"
                                                                         << fused_engine->describe();
    EXPECT_EQ(plain_engine->describe().find("Conv+"), std::string::npos) << act.op;
    Tensor want = map_tensor(conv, act.f);
    SCOPED_TRACE(act.op);
    expect_near(fused_engine->run({x})[0], want);
    expect_near(plain_engine->run({x})[0], want);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Engine, ConvTest,
    ::testing::Values(ConvCase{1, 8, 16, 10, 12, 3, params(1, 1, 1, {1, 1, 1, 1})},
                      ConvCase{1, 3, 16, 20, 20, 6, params(1, 2, 1, {2, 2, 2, 2})},  // yolov5 v6 stem
                      ConvCase{2, 16, 8, 9, 7, 1, params(1, 1, 1, {0, 0, 0, 0})},
                      ConvCase{1, 8, 8, 11, 13, 3, params(1, 2, 1, {0, 1, 1, 0})},     // asymmetric pads
                      ConvCase{1, 8, 12, 12, 12, 3, params(1, 1, 2, {2, 2, 2, 2})},    // dilation
                      ConvCase{1, 8, 12, 10, 10, 3, params(2, 1, 1, {1, 1, 1, 1})},    // groups
                      ConvCase{1, 16, 16, 10, 10, 3, params(16, 2, 1, {1, 1, 1, 1})},  // depthwise
                      ConvCase{1, 8, 8, 10, 10, 3, params(1, 1, 1, {1, 1, 1, 1}), false}),
    [](const ::testing::TestParamInfo<ConvCase>& info) { return info.param.name(); });

}  // namespace
}  // namespace partq::test
