// Each op against a plain-loop reference on small graphs, in the plain layout (graph input) and in the NHWC
// layout (the input first goes through a 1x1 identity Conv, whose output the engine keeps NHWC).
#include <partq/error.hpp>
#include <partq/passes.hpp>

#include <algorithm>
#include <numeric>

#include "test_graphs.hpp"

namespace partq::test {
namespace {

// A 1x1 conv with identity weights: same values, but the engine now holds them in NHWC.
Value* to_nhwc(GraphBuilder& gb, Value* x, int64_t C) {
  Tensor w(DType::kFloat32, {C, C, 1, 1});
  for (int64_t c = 0; c < C; ++c)
    w.as<float>()[c * C + c] = 1.f;
  static int count = 0;
  return gb.op("Conv", {x, gb.constant("eye" + std::to_string(count++), w)},
               {{"kernel_shape", std::vector<int64_t>{1, 1}}});
}

// Element index helpers for NCHW tensors.
float at(const Tensor& t, int64_t n, int64_t c, int64_t h, int64_t w) {
  const Shape& s = t.shape;
  return t.as<float>()[((n * s[1] + c) * s[2] + h) * s[3] + w];
}
float& at(Tensor& t, int64_t n, int64_t c, int64_t h, int64_t w) {
  const Shape& s = t.shape;
  return t.as<float>()[((n * s[1] + c) * s[2] + h) * s[3] + w];
}

Tensor reference_pool(const Tensor& x, int64_t k, int64_t s, int64_t pad, bool max, bool include_pad) {
  const int64_t N = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3];
  const int64_t OH = (H + 2 * pad - k) / s + 1, OW = (W + 2 * pad - k) / s + 1;
  Tensor y(DType::kFloat32, {N, C, OH, OW});
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t oh = 0; oh < OH; ++oh)
        for (int64_t ow = 0; ow < OW; ++ow) {
          float m = -INFINITY, sum = 0;
          int count = 0;
          for (int64_t i = 0; i < k; ++i)
            for (int64_t j = 0; j < k; ++j) {
              int64_t h = oh * s - pad + i, w = ow * s - pad + j;
              if (h < 0 || h >= H || w < 0 || w >= W) continue;
              m = std::max(m, at(x, n, c, h, w));
              sum += at(x, n, c, h, w);
              ++count;
            }
          at(y, n, c, oh, ow) = max ? m : sum / (include_pad ? k * k : count);
        }
  return y;
}

class LayoutTest : public ::testing::TestWithParam<bool> {
 protected:
  bool nhwc() const { return GetParam(); }
  Value* in(GraphBuilder& gb, const Shape& s) {
    Value* x = gb.input("x", s);
    return nhwc() ? to_nhwc(gb, x, s[1]) : x;
  }
};

TEST_P(LayoutTest, MaxPoolSppf) {
  Tensor x = random_tensor({1, 8, 10, 10}, 11);
  GraphBuilder gb;
  gb.output(gb.op("MaxPool", {in(gb, x.shape)},
                  {{"kernel_shape", std::vector<int64_t>{5, 5}},
                   {"pads", std::vector<int64_t>{2, 2, 2, 2}},
                   {"strides", std::vector<int64_t>{1, 1}}}));
  expect_near(run_graph(gb.graph(), {x})[0], reference_pool(x, 5, 1, 2, true, false));
}

TEST_P(LayoutTest, AveragePoolWithAndWithoutPadding) {
  Tensor x = random_tensor({2, 4, 9, 9}, 12);
  for (int64_t include : {0, 1}) {
    GraphBuilder gb;
    gb.output(gb.op("AveragePool", {in(gb, x.shape)},
                    {{"kernel_shape", std::vector<int64_t>{3, 3}},
                     {"pads", std::vector<int64_t>{1, 1, 1, 1}},
                     {"strides", std::vector<int64_t>{2, 2}},
                     {"count_include_pad", include}}));
    expect_near(run_graph(gb.graph(), {x})[0], reference_pool(x, 3, 2, 1, false, include != 0));
  }
}

TEST_P(LayoutTest, GlobalAveragePool) {
  Tensor x = random_tensor({2, 5, 6, 7}, 13);
  GraphBuilder gb;
  gb.output(gb.op("GlobalAveragePool", {in(gb, x.shape)}));
  Tensor want(DType::kFloat32, {2, 5, 1, 1});
  for (int64_t n = 0; n < 2; ++n)
    for (int64_t c = 0; c < 5; ++c) {
      float s = 0;
      for (int64_t h = 0; h < 6; ++h)
        for (int64_t w = 0; w < 7; ++w)
          s += at(x, n, c, h, w);
      at(want, n, c, 0, 0) = s / 42;
    }
  expect_near(run_graph(gb.graph(), {x})[0], want);
}

TEST_P(LayoutTest, AddPerChannelConstantAndSameShape) {
  Tensor x = random_tensor({2, 3, 4, 5}, 14);
  Tensor bias = random_tensor({3, 1, 1}, 15);
  GraphBuilder gb;
  Value* v = in(gb, x.shape);
  Value* y = gb.op("Add", {gb.constant("bias", bias), v});  // broadcast operand first: swapped internally
  gb.output(gb.op("Mul", {y, v}));
  Tensor want = x;
  for (int64_t n = 0; n < 2; ++n)
    for (int64_t c = 0; c < 3; ++c)
      for (int64_t h = 0; h < 4; ++h)
        for (int64_t w = 0; w < 5; ++w)
          at(want, n, c, h, w) = (at(x, n, c, h, w) + bias.as<float>()[c]) * at(x, n, c, h, w);
  expect_near(run_graph(gb.graph(), {x})[0], want);
}

TEST_P(LayoutTest, SubDivWithTheBroadcastOperandFirst) {
  Tensor x = random_tensor({1, 3, 4, 5}, 16, 0.5f, 1.5f);
  Tensor k = random_tensor({1, 3, 1, 1}, 17);
  GraphBuilder gb;
  Value* v = in(gb, x.shape);
  Value* c = gb.constant("k", k);
  gb.output(gb.op("Sub", {c, v}));
  gb.output(gb.op("Div", {c, v}));
  auto out = run_graph(gb.graph(), {x});
  Tensor sub = x, div = x;
  for (int64_t ch = 0; ch < 3; ++ch)
    for (int64_t h = 0; h < 4; ++h)
      for (int64_t w = 0; w < 5; ++w) {
        at(sub, 0, ch, h, w) = k.as<float>()[ch] - at(x, 0, ch, h, w);
        at(div, 0, ch, h, w) = k.as<float>()[ch] / at(x, 0, ch, h, w);
      }
  expect_near(out[0], sub);
  expect_near(out[1], div);
}

TEST_P(LayoutTest, PowScalarAndUnaryOps) {
  Tensor x = random_tensor({1, 4, 3, 3}, 18, 0.1f, 2.f);
  GraphBuilder gb;
  Value* v = in(gb, x.shape);
  gb.output(gb.op("Pow", {v, gb.constant("two", Tensor::scalar_float(2.f))}));
  gb.output(gb.op("Pow", {v, gb.constant("p", Tensor::scalar_float(1.5f))}));
  gb.output(gb.op("HardSigmoid", {v}, {{"alpha", 0.3f}, {"beta", 0.4f}}));
  gb.output(gb.op("Exp", {v}));
  gb.output(gb.op("Sqrt", {v}));
  gb.output(gb.op("Neg", {v}));
  gb.output(gb.op("Tanh", {v}));
  auto out = run_graph(gb.graph(), {x});
  expect_near(out[0], map_tensor(x, [](float a) { return a * a; }));
  expect_near(out[1], map_tensor(x, [](float a) { return std::pow(a, 1.5f); }));
  expect_near(out[2], map_tensor(x, [](float a) { return std::clamp(0.3f * a + 0.4f, 0.f, 1.f); }));
  expect_near(out[3], map_tensor(x, [](float a) { return std::exp(a); }));
  expect_near(out[4], map_tensor(x, [](float a) { return std::sqrt(a); }));
  expect_near(out[5], map_tensor(x, [](float a) { return -a; }));
  expect_near(out[6], map_tensor(x, [](float a) { return std::tanh(a); }));
}

TEST_P(LayoutTest, ConcatChannels) {
  Tensor x = random_tensor({2, 3, 4, 5}, 19);
  GraphBuilder gb;
  Value* v = in(gb, x.shape);
  gb.output(gb.op("Concat", {v, gb.op("Relu", {v}), v}, {{"axis", int64_t{1}}}));
  Tensor want(DType::kFloat32, {2, 9, 4, 5});
  for (int64_t n = 0; n < 2; ++n)
    for (int64_t c = 0; c < 9; ++c)
      for (int64_t h = 0; h < 4; ++h)
        for (int64_t w = 0; w < 5; ++w) {
          float a = at(x, n, c % 3, h, w);
          at(want, n, c, h, w) = (c / 3 == 1) ? std::max(a, 0.f) : a;
        }
  expect_near(run_graph(gb.graph(), {x})[0], want);
}

TEST_P(LayoutTest, ResizeNearestAsymmetricFloorByScalesAndSizes) {
  Tensor x = random_tensor({1, 3, 4, 5}, 20);
  for (bool sizes : {false, true}) {
    GraphBuilder gb;
    Value* roi = gb.constant("roi", Tensor::from_float({0}, std::vector<float>{}));
    std::map<std::string, AttrValue> attrs = {{"mode", std::string("nearest")},
                                              {"coordinate_transformation_mode", std::string("asymmetric")},
                                              {"nearest_mode", std::string("floor")}};
    if (sizes)
      gb.output(gb.op("Resize",
                      {in(gb, x.shape), roi, gb.constant("sc", Tensor::from_float({0}, std::vector<float>{})),
                       gb.ints("sizes", {1, 3, 8, 10})},
                      attrs));
    else
      gb.output(gb.op(
          "Resize",
          {in(gb, x.shape), roi, gb.constant("sc", Tensor::from_float({4}, std::vector<float>{1, 1, 2, 2}))},
          attrs));
    Tensor want(DType::kFloat32, {1, 3, 8, 10});
    for (int64_t c = 0; c < 3; ++c)
      for (int64_t h = 0; h < 8; ++h)
        for (int64_t w = 0; w < 10; ++w)
          at(want, 0, c, h, w) = at(x, 0, c, h / 2, w / 2);
    expect_near(run_graph(gb.graph(), {x})[0], want);
  }
}

TEST_P(LayoutTest, ResizeLinearHalfPixel) {
  Tensor x = random_tensor({1, 2, 3, 4}, 21);
  GraphBuilder gb;
  gb.output(gb.op("Resize",
                  {in(gb, x.shape), gb.constant("roi", Tensor::from_float({0}, std::vector<float>{})),
                   gb.constant("sc", Tensor::from_float({4}, std::vector<float>{1, 1, 2, 2}))},
                  {{"mode", std::string("linear")}}));
  Tensor want(DType::kFloat32, {1, 2, 6, 8});
  auto coord = [](int64_t o, int64_t in) { return std::clamp((o + 0.5) / 2 - 0.5, 0.0, double(in - 1)); };
  for (int64_t c = 0; c < 2; ++c)
    for (int64_t oh = 0; oh < 6; ++oh)
      for (int64_t ow = 0; ow < 8; ++ow) {
        double ch = coord(oh, 3), cw = coord(ow, 4);
        int64_t h0 = int64_t(ch), w0 = int64_t(cw), h1 = std::min<int64_t>(h0 + 1, 2),
                w1 = std::min<int64_t>(w0 + 1, 3);
        double lh = ch - h0, lw = cw - w0;
        at(want, 0, c, oh, ow) =
            float((1 - lh) * ((1 - lw) * at(x, 0, c, h0, w0) + lw * at(x, 0, c, h0, w1)) +
                  lh * ((1 - lw) * at(x, 0, c, h1, w0) + lw * at(x, 0, c, h1, w1)));
      }
  expect_near(run_graph(gb.graph(), {x})[0], want);
}

// The yolov5 Detect head: [N, 3*K, H, W] -> Reshape [N,3,K,H,W] -> Transpose(0,1,3,4,2) -> Split last dim.
TEST_P(LayoutTest, DetectHeadReshapeTransposeSplit) {
  const int64_t K = 7, H = 3, W = 4;
  Tensor x = random_tensor({1, 3 * K, H, W}, 22);
  GraphBuilder gb;
  Value* r = gb.op("Reshape", {in(gb, x.shape), gb.ints("shape", {1, 3, K, H, W})});
  Value* t = gb.op("Transpose", {r}, {{"perm", std::vector<int64_t>{0, 1, 3, 4, 2}}});
  auto parts = gb.ops("Split", {t, gb.ints("split", {2, 2, 3})}, 3, {{"axis", int64_t{4}}});
  for (Value* p : parts)
    gb.output(p);
  auto out = run_graph(gb.graph(), {x});
  const int64_t sizes[] = {2, 2, 3}, starts[] = {0, 2, 4};
  for (int part = 0; part < 3; ++part) {
    Tensor want(DType::kFloat32, {1, 3, H, W, sizes[part]});
    auto wv = want.as<float>();
    for (int64_t a = 0; a < 3; ++a)
      for (int64_t h = 0; h < H; ++h)
        for (int64_t w = 0; w < W; ++w)
          for (int64_t k = 0; k < sizes[part]; ++k)
            wv[((a * H + h) * W + w) * sizes[part] + k] = at(x, 0, a * K + starts[part] + k, h, w);
    expect_near(out[part], want);
  }
}

TEST_P(LayoutTest, SliceWithStepsLikeTheYoloxFocusStem) {
  Tensor x = random_tensor({1, 3, 6, 8}, 23);
  GraphBuilder gb;
  gb.output(gb.op("Slice", {in(gb, x.shape), gb.ints("st", {1, 0}), gb.ints("en", {1000, -1}),
                            gb.ints("ax", {2, 3}), gb.ints("sp", {2, 3})}));
  Tensor want(DType::kFloat32, {1, 3, 3, 3});
  for (int64_t c = 0; c < 3; ++c)
    for (int64_t h = 0; h < 3; ++h)
      for (int64_t w = 0; w < 3; ++w)
        at(want, 0, c, h, w) = at(x, 0, c, 1 + 2 * h, 3 * w);
  expect_near(run_graph(gb.graph(), {x})[0], want);
}

// The yolox Focus stem: rows then columns, each a Slice of the Slice before. The engine reads the second
// Slice straight out of the source (one strided copy per chain); a first Slice with a second reader stays.
TEST_P(LayoutTest, SliceOfSliceReadsTheSourceOnce) {
  Tensor x = random_tensor({2, 3, 6, 20}, 29);
  GraphBuilder gb;
  Value* v = in(gb, x.shape);
  auto slice = [&](Value* src, int64_t start, int64_t axis, const std::string& k) {
    return gb.op("Slice", {src, gb.ints("s" + k, {start}), gb.ints("e" + k, {1000}), gb.ints("a" + k, {axis}),
                           gb.ints("p" + k, {2})});
  };
  Value* rows0 = slice(v, 0, 2, "r0");
  Value* rows1 = slice(v, 1, 2, "r1");  // read by two column Slices: it stays
  std::vector<Value*> parts = {slice(rows0, 0, -1, "c00"), slice(rows1, 0, 3, "c10"),
                               slice(rows1, 1, 3, "c11")};
  gb.output(gb.op("Concat", parts, {{"axis", int64_t{1}}}));
  auto engine = Engine::create(gb.graph());
  const std::string d = engine->describe();
  size_t copies = 0;
  for (size_t p = d.find("strided_copy"); p != std::string::npos; p = d.find("strided_copy", p + 1))
    ++copies;
  EXPECT_EQ(copies, 4u) << d;  // rows0+c00 as one, rows1, c10, c11
  Tensor want(DType::kFloat32, {2, 9, 3, 10});
  for (int64_t n = 0; n < 2; ++n)
    for (int64_t c = 0; c < 9; ++c)
      for (int64_t h = 0; h < 3; ++h)
        for (int64_t w = 0; w < 10; ++w) {
          const int64_t part = c / 3, r = part == 0 ? 0 : 1, col = part == 2 ? 1 : 0;
          at(want, n, c, h, w) = at(x, n, c % 3, 2 * h + r, 2 * w + col);
        }
  expect_near(engine->run({x})[0], want, 0);
  // Without fusion every Slice output exists (taps can read it); same result.
  auto unfused = Engine::create(gb.graph(), {.fuse = false});
  expect_near(unfused->run({x})[0], want, 0);
}

// numpy.pad's rule for one index: constant -> -1, edge -> clamp, reflect -> mirror without the edge.
int64_t numpy_pad_index(int64_t i, int64_t n, const std::string& mode) {
  if (i >= 0 && i < n) return i;
  if (mode == "constant") return -1;
  if (mode == "edge") return i < 0 ? 0 : n - 1;
  while (i < 0 || i >= n)
    i = i < 0 ? -i : 2 * (n - 1) - i;
  return i;
}

TEST_P(LayoutTest, PadConstantEdgeReflectAndCrop) {
  Tensor x = random_tensor({1, 3, 5, 6}, 21);
  for (const std::string mode : {"constant", "edge", "reflect"}) {
    SCOPED_TRACE(mode);
    // begin N C H W, end N C H W: the constant also pads a channel; W loses its last column (a negative pad
    // crops)
    const int64_t c_pad = mode == "constant" ? 1 : 0;
    const std::vector<int64_t> pads{0, c_pad, 2, 1, 0, 0, 1, -1};
    GraphBuilder gb;
    std::vector<Value*> inputs{in(gb, x.shape), gb.ints("pads", pads)};
    if (mode == "constant") inputs.push_back(gb.constant("value", Tensor::scalar_float(0.5f)));
    gb.output(gb.op("Pad", inputs, {{"mode", mode}}));
    const Tensor got = run_graph(gb.graph(), {x})[0];
    ASSERT_EQ(got.shape, (Shape{1, 3 + c_pad, 8, 6}));
    Tensor want(DType::kFloat32, got.shape);
    for (int64_t c = 0; c < 3 + c_pad; ++c)
      for (int64_t h = 0; h < 8; ++h)
        for (int64_t w = 0; w < 6; ++w) {
          const int64_t ci = numpy_pad_index(c - c_pad, 3, mode), hi = numpy_pad_index(h - 2, 5, mode),
                        wi = numpy_pad_index(w - 1, 6, mode);
          at(want, 0, c, h, w) = ci < 0 || hi < 0 || wi < 0 ? 0.5f : at(x, 0, ci, hi, wi);
        }
    expect_near(got, want);
  }
}

// ReduceMean over H, W (a squeeze-excitation block) and ReduceMax over C, read in the input's own layout.
TEST_P(LayoutTest, ReduceMeanOverSpaceAndMaxOverChannels) {
  Tensor x = random_tensor({2, 3, 4, 5}, 41);
  GraphBuilder gb;
  Value* v = in(gb, x.shape);
  gb.output(gb.op("ReduceMean", {v}, {{"axes", std::vector<int64_t>{2, 3}}}));
  gb.output(gb.op("ReduceMax", {v}, {{"axes", std::vector<int64_t>{1}}, {"keepdims", int64_t{0}}}));
  const auto got = run_graph(gb.graph(), {x});
  Tensor mean(DType::kFloat32, {2, 3, 1, 1}), max(DType::kFloat32, {2, 4, 5});
  for (int64_t n = 0; n < 2; ++n) {
    for (int64_t c = 0; c < 3; ++c) {
      double sum = 0;
      for (int64_t h = 0; h < 4; ++h)
        for (int64_t w = 0; w < 5; ++w)
          sum += at(x, n, c, h, w);
      at(mean, n, c, 0, 0) = static_cast<float>(sum / 20);
    }
    for (int64_t h = 0; h < 4; ++h)
      for (int64_t w = 0; w < 5; ++w)
        max.as<float>()[(n * 4 + h) * 5 + w] =
            std::max({at(x, n, 0, h, w), at(x, n, 1, h, w), at(x, n, 2, h, w)});
  }
  expect_near(got[0], mean);
  expect_near(got[1], max);
}

TEST_P(LayoutTest, LoneBatchNormalization) {
  Tensor x = random_tensor({2, 3, 4, 4}, 24);
  Tensor scale = random_tensor({3}, 25), bias = random_tensor({3}, 26), mean = random_tensor({3}, 27);
  Tensor var = random_tensor({3}, 28, 0.5f, 2.f);
  GraphBuilder gb;
  Value* v = gb.op("Relu", {in(gb, x.shape)});  // not foldable into the identity conv
  gb.output(gb.op(
      "BatchNormalization",
      {v, gb.constant("s", scale), gb.constant("b", bias), gb.constant("m", mean), gb.constant("v", var)},
      {{"epsilon", 1e-3f}}));
  Tensor want = x;
  for (int64_t n = 0; n < 2; ++n)
    for (int64_t c = 0; c < 3; ++c)
      for (int64_t h = 0; h < 4; ++h)
        for (int64_t w = 0; w < 4; ++w) {
          float r = std::max(at(x, n, c, h, w), 0.f);
          at(want, n, c, h, w) =
              (r - mean.as<float>()[c]) / std::sqrt(var.as<float>()[c] + 1e-3f) * scale.as<float>()[c] +
              bias.as<float>()[c];
        }
  expect_near(run_graph(gb.graph(), {x})[0], want);
}

INSTANTIATE_TEST_SUITE_P(Engine, LayoutTest, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "nhwc" : "plain";
                         });

// A zero Pad of H and W in front of a Conv becomes the Conv's own pads (fold_pad_into_conv, which the engine
// runs too); Pads it must leave alone (another value, reflect, a channel pad, a reader other than a Conv)
// stay and still compute.
TEST(Ops, ZeroPadFoldsIntoTheConvAfterIt) {
  const Tensor x = random_tensor({1, 2, 6, 7}, 31), w = random_tensor({3, 2, 3, 3}, 32);
  const std::vector<int64_t> pads{0, 0, 1, 2, 0, 0, 0, 1};  // top 1, left 2, bottom 0, right 1
  auto build = [&](GraphBuilder& gb, const std::string& mode, float value, std::vector<int64_t> p,
                   bool pool) {
    Value* padded = gb.op("Pad",
                          {gb.input("x", x.shape), gb.ints("pads", std::move(p)),
                           gb.constant("value", Tensor::scalar_float(value))},
                          {{"mode", mode}});
    gb.output(gb.op(
        "Conv", {padded, gb.constant("w", w)},
        {{"kernel_shape", std::vector<int64_t>{3, 3}}, {"pads", std::vector<int64_t>{1, 1, 1, 1}}}, "conv"));
    if (pool) gb.output(gb.op("MaxPool", {padded}, {{"kernel_shape", std::vector<int64_t>{2, 2}}}));
  };
  auto pad_nodes = [](const Graph& g) {
    return std::count_if(g.nodes().begin(), g.nodes().end(),
                         [](const auto& n) { return n->op_type == "Pad"; });
  };
  {
    GraphBuilder gb;
    build(gb, "constant", 0.f, pads, false);
    auto folded = gb.graph().clone();
    EXPECT_EQ(fold_pad_into_conv(*folded), 1);
    EXPECT_EQ(pad_nodes(*folded), 0);
    EXPECT_EQ(folded->find_node("conv")->attr_ints("pads"), (std::vector<int64_t>{2, 3, 1, 2}));
    expect_near(run_graph(gb.graph(), {x})[0], reference_conv(x, w, nullptr, {.pads = {2, 3, 1, 2}}));
  }
  {  // 0.5 around the image is not a conv padding
    GraphBuilder gb;
    build(gb, "constant", 0.5f, pads, false);
    EXPECT_EQ(fold_pad_into_conv(*gb.graph().clone()), 0);
    Tensor padded(DType::kFloat32, {1, 2, 7, 10});
    for (int64_t c = 0; c < 2; ++c)
      for (int64_t h = 0; h < 7; ++h)
        for (int64_t v = 0; v < 10; ++v)
          at(padded, 0, c, h, v) = h >= 1 && v >= 2 && v < 9 ? at(x, 0, c, h - 1, v - 2) : 0.5f;
    expect_near(run_graph(gb.graph(), {x})[0], reference_conv(padded, w, nullptr, {.pads = {1, 1, 1, 1}}));
  }
  for (const bool pool : {false, true}) {  // reflect; a MaxPool reading the padded tensor too
    GraphBuilder gb;
    build(gb, pool ? "constant" : "reflect", 0.f, pads, pool);
    EXPECT_EQ(fold_pad_into_conv(*gb.graph().clone()), 0);
  }
  {  // a channel pad
    GraphBuilder gb;
    build(gb, "constant", 0.f, {0, 1, 0, 0, 0, 0, 0, 0}, false);
    EXPECT_EQ(fold_pad_into_conv(*gb.graph().clone()), 0);
  }
}

TEST(Ops, BroadcastOnBothSides) {
  Tensor a = random_tensor({2, 1, 4, 1}, 30), b = random_tensor({1, 3, 1, 5}, 31);
  GraphBuilder gb;
  gb.output(gb.op("Add", {gb.input("a", a.shape), gb.input("b", b.shape)}));
  Tensor want(DType::kFloat32, {2, 3, 4, 5});
  for (int64_t n = 0; n < 2; ++n)
    for (int64_t c = 0; c < 3; ++c)
      for (int64_t h = 0; h < 4; ++h)
        for (int64_t w = 0; w < 5; ++w)
          at(want, n, c, h, w) = a.as<float>()[n * 4 + h] + b.as<float>()[c * 5 + w];
  expect_near(run_graph(gb.graph(), {a, b})[0], want);
}

TEST(Ops, ConstantShapeSubgraphIsEvaluatedAtCompileTime) {
  // x -> Shape -> Gather(0) -> Unsqueeze -> Concat([-1]) -> Reshape(x): flattens per batch item.
  Tensor x = random_tensor({2, 3, 4}, 32);
  GraphBuilder gb;
  Value* in = gb.input("x", x.shape);
  Value* shape = gb.op("Shape", {in});
  Value* n = gb.op("Gather", {shape, gb.constant("zero", Tensor::from_int64({}, std::vector<int64_t>{0}))});
  Value* n1 = gb.op("Unsqueeze", {n, gb.ints("axes", {0})});
  Value* target = gb.op("Concat", {n1, gb.ints("minus1", {-1})}, {{"axis", int64_t{0}}});
  gb.output(gb.op("Reshape", {in, target}));
  auto engine = Engine::create(gb.graph());
  std::vector<Tensor> out = engine->run({x});
  EXPECT_EQ(out[0].shape, (Shape{2, 12}));
  EXPECT_EQ(out[0].to_float(), x.to_float());
  EXPECT_EQ(engine->describe().find("Shape"), std::string::npos) << engine->describe();
  EXPECT_EQ(engine->describe().find("Gather"), std::string::npos) << engine->describe();
}

// How a dynamic-axis YOLO export builds its grid from the feature map's shape (PyTorch's arange / meshgrid /
// expand: Range, Expand through Equal / Where / ConstantOfShape): with the batch given, all of it is computed
// while compiling, and the grid added to the conv output is the one the loops below make.
TEST(Ops, DynamicExportGridIsComputedAtCompileTime) {
  const int64_t H = 3, W = 4;
  Tensor x = random_tensor({2, 2, H, W}, 33);
  GraphBuilder gb;
  Value* in = gb.input("x", {-1, 2, H, W});
  Value* shape = gb.op("Shape", {in});
  auto dim = [&](int64_t d) {
    return gb.op("Gather", {shape, gb.constant(std::string("d").append(std::to_string(d)),
                                               Tensor::from_int64({}, std::vector<int64_t>{d}))});
  };
  Value *h = dim(2), *w = dim(3);
  Value* zero = gb.constant("zero", Tensor::from_int64({}, std::vector<int64_t>{0}));
  Value* one = gb.constant("one", Tensor::from_int64({}, std::vector<int64_t>{1}));
  Value* ys = gb.op("Unsqueeze", {gb.op("Range", {zero, h, one}), gb.ints("ax1", {1})});  // [H,1]
  Value* xs = gb.op("Unsqueeze", {gb.op("Range", {zero, w, one}), gb.ints("ax0", {0})});  // [1,W]
  Value* hw = gb.op(
      "Concat", {gb.op("Unsqueeze", {h, gb.ints("a0", {0})}), gb.op("Unsqueeze", {w, gb.ints("a1", {0})})},
      {{"axis", int64_t{0}}});
  Tensor one_value = Tensor::from_int64({1}, std::vector<int64_t>{1});
  Value* target =
      gb.op("Where", {gb.op("Equal", {hw, gb.ints("minus1", {-1})}),
                      gb.op("ConstantOfShape", {gb.op("Shape", {hw})}, {{"value", one_value}}), hw});
  Value* gx = gb.op("Unsqueeze", {gb.op("Expand", {xs, target}), gb.ints("ax2", {2})});
  Value* gy = gb.op("Unsqueeze", {gb.op("Expand", {ys, target}), gb.ints("ax2b", {2})});
  Value* grid =
      gb.op("Cast", {gb.op("Concat", {gx, gy}, {{"axis", int64_t{2}}})}, {{"to", int64_t{1}}});  // [H,W,2]
  gb.output(gb.op("Add", {gb.op("Transpose", {in}, {{"perm", std::vector<int64_t>{0, 2, 3, 1}}}), grid}));
  auto engine = Engine::create(gb.graph(), {.batch = 2});
  const Tensor got = engine->run({x})[0];
  ASSERT_EQ(got.shape, (Shape{2, H, W, 2}));
  Tensor want(DType::kFloat32, got.shape);
  for (int64_t n = 0; n < 2; ++n)
    for (int64_t i = 0; i < H; ++i)
      for (int64_t j = 0; j < W; ++j)
        for (int64_t c = 0; c < 2; ++c)
          want.as<float>()[((n * H + i) * W + j) * 2 + c] =
              at(x, n, c, i, j) + static_cast<float>(c == 0 ? j : i);
  expect_near(got, want);
  for (const char* op : {"Range", "Expand", "Where", "Equal"})
    EXPECT_EQ(engine->describe().find(op), std::string::npos) << op << "\n" << engine->describe();
}

TEST(Ops, GatherRuntimeData) {
  Tensor x = random_tensor({3, 4, 2}, 33);
  GraphBuilder gb;
  gb.output(gb.op(
      "Gather",
      {gb.input("x", x.shape), gb.constant("idx", Tensor::from_int64({2}, std::vector<int64_t>{3, -4}))},
      {{"axis", int64_t{1}}}));
  Tensor want(DType::kFloat32, {3, 2, 2});
  for (int64_t i = 0; i < 3; ++i)
    for (int64_t k = 0; k < 2; ++k) {
      want.as<float>()[(i * 2 + 0) * 2 + k] = x.as<float>()[(i * 4 + 3) * 2 + k];
      want.as<float>()[(i * 2 + 1) * 2 + k] = x.as<float>()[(i * 4 + 0) * 2 + k];
    }
  expect_near(run_graph(gb.graph(), {x})[0], want);
}

TEST(Ops, SoftmaxLastAxis) {
  Tensor x = random_tensor({2, 3, 5}, 34, -3.f, 3.f);
  GraphBuilder gb;
  gb.output(gb.op("Softmax", {gb.input("x", x.shape)}, {{"axis", int64_t{-1}}}));
  Tensor want = x;
  auto v = want.as<float>();
  for (int64_t r = 0; r < 6; ++r) {
    float sum = 0;
    for (int64_t k = 0; k < 5; ++k)
      sum += std::exp(v[r * 5 + k]);
    for (int64_t k = 0; k < 5; ++k)
      v[r * 5 + k] = std::exp(v[r * 5 + k]) / sum;
  }
  expect_near(run_graph(gb.graph(), {x})[0], want);
}

TEST(Ops, GemmTransBAlphaBetaAndMatMulBatched) {
  Tensor a = random_tensor({3, 4}, 35), b = random_tensor({5, 4}, 36), c = random_tensor({5}, 37);
  GraphBuilder gb;
  gb.output(gb.op("Gemm", {gb.input("a", a.shape), gb.constant("b", b), gb.constant("c", c)},
                  {{"transB", int64_t{1}}, {"alpha", 0.5f}, {"beta", 2.f}}));
  Tensor want(DType::kFloat32, {3, 5});
  for (int64_t i = 0; i < 3; ++i)
    for (int64_t j = 0; j < 5; ++j) {
      float s = 0;
      for (int64_t k = 0; k < 4; ++k)
        s += a.as<float>()[i * 4 + k] * b.as<float>()[j * 4 + k];
      want.as<float>()[i * 5 + j] = 0.5f * s + 2.f * c.as<float>()[j];
    }
  expect_near(run_graph(gb.graph(), {a})[0], want);

  Tensor x = random_tensor({2, 3, 4}, 38), y = random_tensor({4, 6}, 39);
  GraphBuilder gm;
  gm.output(gm.op("MatMul", {gm.input("x", x.shape), gm.input("y", y.shape)}));
  Tensor want2(DType::kFloat32, {2, 3, 6});
  for (int64_t n = 0; n < 2; ++n)
    for (int64_t i = 0; i < 3; ++i)
      for (int64_t j = 0; j < 6; ++j) {
        float s = 0;
        for (int64_t k = 0; k < 4; ++k)
          s += x.as<float>()[(n * 3 + i) * 4 + k] * y.as<float>()[k * 6 + j];
        want2.as<float>()[(n * 3 + i) * 6 + j] = s;
      }
  expect_near(run_graph(gm.graph(), {x, y})[0], want2);
}

TEST(Ops, IntegerShapeArithmeticAndConcat) {
  GraphBuilder gb;
  Value* a = gb.input("a", {3}, DType::kInt64);
  Value* s = gb.op("Mul", {a, gb.ints("k", {2, 3, 4})});
  gb.output(gb.op("Concat", {s, a}, {{"axis", int64_t{0}}}));
  auto out = run_graph(gb.graph(), {Tensor::from_int64({3}, std::vector<int64_t>{1, 2, 3})});
  EXPECT_EQ(out[0].dtype, DType::kInt64);
  EXPECT_EQ(out[0].to_int64(), (std::vector<int64_t>{2, 6, 12, 1, 2, 3}));
}

// An NMS-free head's TopK: equal scores go to the lower index (ONNX Runtime, torch.topk), NaN ranks first
// when picking the largest and last when picking the smallest; int64 data along axis 0.
TEST(Ops, TopKTiesGoToTheLowerIndexAndNanRanksAboveNumbers) {
  const float nan = std::nanf("");
  Tensor x(DType::kFloat32, {1, 6});
  std::vector<float> xs = {3.f, 1.f, 3.f, nan, 2.f, 1.f};
  std::copy(xs.begin(), xs.end(), x.as<float>().begin());
  for (int64_t largest : {1, 0}) {
    GraphBuilder gb;
    auto outs = gb.ops("TopK", {gb.input("x", x.shape), gb.ints("k", {4})}, 2, {{"largest", largest}});
    gb.output(outs[0]);
    gb.output(outs[1]);
    auto got = run_graph(gb.graph(), {x});
    const std::vector<int64_t> want_idx =
        largest ? std::vector<int64_t>{3, 0, 2, 4} : std::vector<int64_t>{1, 5, 4, 0};
    EXPECT_EQ(got[1].to_int64(), want_idx) << "largest=" << largest;
    for (size_t j = 0; j < 4; ++j) {
      const float want = xs[want_idx[j]], value = got[0].as<float>()[j];
      EXPECT_TRUE(std::isnan(want) ? std::isnan(value) : value == want) << j;
    }
  }
  GraphBuilder gi;
  auto outs =
      gi.ops("TopK", {gi.input("x", {3, 2}, DType::kInt64), gi.ints("k", {2})}, 2, {{"axis", int64_t{0}}});
  gi.output(outs[0]);
  gi.output(outs[1]);
  auto got = run_graph(gi.graph(), {Tensor::from_int64({3, 2}, std::vector<int64_t>{5, -1, 7, 4, 5, 9})});
  EXPECT_EQ(got[0].to_int64(), (std::vector<int64_t>{7, 9, 5, 4}));
  EXPECT_EQ(got[1].to_int64(), (std::vector<int64_t>{1, 2, 0, 1}));
}

// GatherElements with fewer rows and columns of indices than data, on each axis, negative indices included.
TEST(Ops, GatherElementsPicksAlongEachAxis) {
  Tensor x = random_tensor({3, 4}, 40);
  auto at = [&](int64_t r, int64_t c) { return x.as<float>()[r * 4 + c]; };
  const Tensor idx = Tensor::from_int64({2, 3}, std::vector<int64_t>{2, 0, -1, 1, 1, 0});
  for (int64_t axis : {0, 1}) {
    GraphBuilder gb;
    gb.output(gb.op("GatherElements", {gb.input("x", x.shape), gb.constant("idx", idx)}, {{"axis", axis}}));
    const Tensor got = run_graph(gb.graph(), {x})[0];
    ASSERT_EQ(got.shape, (Shape{2, 3}));
    for (int64_t i = 0; i < 2; ++i)
      for (int64_t j = 0; j < 3; ++j) {
        int64_t k = idx.to_int64()[i * 3 + j];
        if (k < 0) k += axis == 0 ? 3 : 4;
        EXPECT_EQ(got.as<float>()[i * 3 + j], axis == 0 ? at(k, j) : at(i, k))
            << axis << " " << i << " " << j;
      }
  }
  GraphBuilder bad;
  bad.output(bad.op("GatherElements", {bad.input("x", x.shape), bad.input("i", {2, 3}, DType::kInt64)},
                    {{"axis", int64_t{1}}}, "ge"));
  try {
    run_graph(bad.graph(), {x, Tensor::from_int64({2, 3}, std::vector<int64_t>{0, 1, 4, 0, 0, 0})});
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "node 'ge' (op GatherElements): index 4 out of range [-4, 4)");
  }
}

// Mod on integers: fmod = 0 takes the divisor's sign (Python %), fmod = 1 the dividend's (C %); float Mod
// needs fmod = 1.
TEST(Ops, ModFollowsTheSignOfItsFmodAttribute) {
  const Tensor a = Tensor::from_int64({4}, std::vector<int64_t>{7, -7, 7, -7});
  const Tensor b = Tensor::from_int64({4}, std::vector<int64_t>{3, 3, -3, -3});
  for (int64_t fmod : {0, 1}) {
    GraphBuilder gb;
    gb.output(gb.op("Mod", {gb.input("a", {4}, DType::kInt64), gb.input("b", {4}, DType::kInt64)},
                    {{"fmod", fmod}}));
    EXPECT_EQ(run_graph(gb.graph(), {a, b})[0].to_int64(),
              fmod ? std::vector<int64_t>({1, -1, 1, -1}) : std::vector<int64_t>({1, 2, -2, -1}));
  }
  GraphBuilder gf;
  gf.output(gf.op("Mod", {gf.input("a", {2}), gf.input("b", {2})}, {}, "m"));
  EXPECT_THROW(Engine::create(gf.graph()), Error);
}

}  // namespace
}  // namespace partq::test
