// Engine facade behaviour: taps, errors, precision plan, batch re-specialisation, describe().
#include <partq/error.hpp>
#include <partq/passes.hpp>

#include "test_graphs.hpp"

namespace partq::test {
namespace {

// x -> Conv(3x3) -> SiLU -> Conv(1x1) -> Relu -> Reshape [N, -1]; with fixed weights.
struct TinyNet {
  GraphBuilder gb;
  Tensor w1 = random_tensor({8, 3, 3, 3}, 51), b1 = random_tensor({8}, 52),
         w2 = random_tensor({4, 8, 1, 1}, 53);
  TinyNet() {
    Value* x = gb.input("x", {1, 3, 6, 6});
    Value* c1 = gb.op(
        "Conv", {x, gb.constant("w1", w1), gb.constant("b1", b1)},
        {{"kernel_shape", std::vector<int64_t>{3, 3}}, {"pads", std::vector<int64_t>{1, 1, 1, 1}}}, "conv1");
    Value* s = gb.op("Sigmoid", {c1}, {}, "sig1");
    Value* m = gb.op("Mul", {c1, s}, {}, "silu1");
    Value* c2 =
        gb.op("Conv", {m, gb.constant("w2", w2)}, {{"kernel_shape", std::vector<int64_t>{1, 1}}}, "conv2");
    Value* r = gb.op("Relu", {c2}, {}, "relu2");
    gb.output(gb.op("Reshape", {r, gb.ints("shape", {1, -1})}, {}, "flat"));
  }
  std::string value_of(const std::string& node) { return gb.graph().find_node(node)->outputs[0]->name; }
};

TEST(Engine, TapSeesDenseNchwValuesOfIntermediateTensors) {
  TinyNet net;
  Tensor x = random_tensor({1, 3, 6, 6}, 54);
  auto engine = Engine::create(net.gb.graph());
  Tensor tapped;
  int calls = 0;
  engine->set_tap(net.value_of("silu1"), [&](const std::string&, const Tensor& t) {
    tapped = t;
    ++calls;
  });
  engine->run({x});
  EXPECT_EQ(calls, 1);
  ConvParams p;
  p.pads = {1, 1, 1, 1};
  Tensor want = map_tensor(reference_conv(x, net.w1, &net.b1, p), [](float v) { return v * sigmoid(v); });
  expect_near(tapped, want);

  engine->clear_taps();
  engine->run({x});
  EXPECT_EQ(calls, 1);
}

TEST(Engine, ValuesTapSeesTheSameValuesInTheEngineLayout) {
  TinyNet net;
  Tensor x = random_tensor({1, 3, 6, 6}, 55);
  auto engine = Engine::create(net.gb.graph());
  Tensor nchw;
  std::vector<float> native;
  Shape native_shape;
  engine->set_tap(net.value_of("silu1"), [&](const std::string&, const Tensor& t) { nchw = t; });
  engine->run({x});
  engine->set_values_tap(net.value_of("silu1"),
                         [&](const std::string&, std::span<const float> v, const Shape& s) {
                           native.assign(v.begin(), v.end());
                           native_shape = s;
                         });
  engine->run({x});
  ASSERT_EQ(static_cast<int64_t>(native.size()), nchw.numel());
  // The conv output is kept NHWC: the values tap states that order, and element (n, c, h, w) of the NCHW
  // tap is element (n, h, w, c) of it.
  ASSERT_EQ(native_shape, (Shape{1, 6, 6, 8}));
  auto a = nchw.as<float>();
  const auto& b = native;
  for (int64_t c = 0; c < 8; ++c)
    for (int64_t h = 0; h < 6; ++h)
      for (int64_t w = 0; w < 6; ++w)
        ASSERT_EQ(a[(c * 6 + h) * 6 + w], b[(h * 6 + w) * 8 + c]);
}

TEST(Engine, TapOnAFusedAwayValueIsAnErrorUnlessFusionIsOff) {
  TinyNet net;
  auto fused = Engine::create(net.gb.graph());
  try {
    fused->set_tap(net.value_of("conv1"), [](const std::string&, const Tensor&) {});
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("fuse"), std::string::npos) << e.what();
  }
  EXPECT_THROW(fused->set_tap("no_such_value", [](const std::string&, const Tensor&) {}), Error);

  auto unfused = Engine::create(net.gb.graph(), {.fuse = false});
  int calls = 0;
  unfused->set_tap(net.value_of("conv1"), [&](const std::string&, const Tensor& t) {
    EXPECT_EQ(t.shape, (Shape{1, 8, 6, 6}));
    ++calls;
  });
  unfused->run({random_tensor({1, 3, 6, 6}, 55)});
  EXPECT_EQ(calls, 1);
}

TEST(Engine, FusedAndUnfusedGiveTheSameOutputs) {
  TinyNet net;
  Tensor x = random_tensor({1, 3, 6, 6}, 56);
  auto a = Engine::create(net.gb.graph(), {.fuse = true})->run({x});
  auto b = Engine::create(net.gb.graph(), {.fuse = false})->run({x});
  EXPECT_EQ(a[0].shape, (Shape{1, 144}));
  expect_near(a[0], b[0]);
}

// A YOLO-style detection head: Conv -> Reshape -> Transpose -> Sigmoid -> Split -> (a few columns rewritten)
// -> Concat -> Reshape. Fused, the sigmoid runs in the conv, the transpose reads the conv's NHWC output and
// the Concat works in place on the Split's source; the outputs must not change.
struct DetectHead {
  GraphBuilder gb;
  Tensor w = random_tensor({18, 8, 1, 1}, 61), b = random_tensor({18}, 62);
  DetectHead() {
    Value* x = gb.input("x", {2, 8, 5, 5});
    Value* c = gb.op("Conv", {x, gb.constant("w", w), gb.constant("b", b)},
                     {{"kernel_shape", std::vector<int64_t>{1, 1}}}, "head_conv");
    Value* r = gb.op("Reshape", {c, gb.ints("shape5", {2, 3, 6, 5, 5})}, {}, "head_reshape");
    Value* t = gb.op("Transpose", {r}, {{"perm", std::vector<int64_t>{0, 1, 3, 4, 2}}}, "head_transpose");
    Value* s = gb.op("Sigmoid", {t}, {}, "head_sigmoid");
    auto parts = gb.ops("Split", {s, gb.ints("sizes", {2, 2, 2})}, 3, {{"axis", int64_t{-1}}}, "head_split");
    Value* xy = gb.op("Mul", {parts[0], gb.constant("two", Tensor::scalar_float(2.f))}, {}, "head_mul");
    Value* wh = gb.op("Pow", {parts[1], gb.constant("exp", Tensor::scalar_float(2.f))}, {}, "head_pow");
    Value* cat = gb.op("Concat", {xy, wh, parts[2]}, {{"axis", int64_t{-1}}}, "head_concat");
    gb.output(gb.op("Reshape", {cat, gb.ints("shape3", {2, 75, 6})}, {}, "head_flat"));
  }
};

TEST(Engine, DetectHeadFusionsKeepTheOutputs) {
  DetectHead head;
  Tensor x = random_tensor({2, 8, 5, 5}, 63);
  auto fused = Engine::create(head.gb.graph(), {.fuse = true});
  auto a = fused->run({x});
  auto b = Engine::create(head.gb.graph(), {.fuse = false})->run({x});
  ASSERT_EQ(a[0].shape, (Shape{2, 75, 6}));
  expect_near(a[0], b[0]);
  // A plain-loop reference of one output row: anchor 1, cell (h 2, w 3) of image 1.
  auto xs = x.as<const float>();
  auto out = a[0].as<const float>();
  for (int64_t k = 0; k < 6; ++k) {
    const int64_t oc = 1 * 6 + k;
    double acc = head.b.as<const float>()[oc];
    for (int64_t ic = 0; ic < 8; ++ic)
      acc += xs[((1 * 8 + ic) * 5 + 2) * 5 + 3] * head.w.as<const float>()[oc * 8 + ic];
    const float sg = sigmoid(static_cast<float>(acc));
    const float want = k < 2 ? 2 * sg : k < 4 ? sg * sg : sg;
    EXPECT_NEAR(out[(1 * 75 + 1 * 25 + 2 * 5 + 3) * 6 + k], want, 1e-4f) << "column " << k;
  }
  // The fusions did apply: the sigmoid is in the conv, the conv output is never copied to NCHW, the Concat
  // works in place, and the transposed value is no longer observable.
  EXPECT_NE(fused->describe().find("Conv+Sigmoid"), std::string::npos) << fused->describe();
  EXPECT_NE(fused->describe().find("concat_in_place"), std::string::npos) << fused->describe();
  EXPECT_EQ(fused->describe().find("[2,18,5,5] ["), std::string::npos) << fused->describe();  // plain copy
  EXPECT_THROW(fused->set_tap(head.gb.graph().find_node("head_transpose")->outputs[0]->name,
                              [](const std::string&, const Tensor&) {}),
               Error);
}

TEST(Engine, UnsupportedOpNamesNodeAndOp) {
  GraphBuilder gb;
  gb.output(gb.op("Foo", {gb.input("x", {1, 2})}, {}, "/model.3/Foo"));
  try {
    Engine::create(gb.graph());
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "node '/model.3/Foo' (op Foo): not supported by the engine");
  }
}

// An exporter's NMS brings several ops the engine does not run: all of them are named in one message, with
// the advice to export the detector without its post-processing.
TEST(Engine, EveryUnsupportedOpIsNamedAtOnceAndNmsGetsAHint) {
  GraphBuilder gb;
  Value* x = gb.input("x", {1, 4});
  gb.output(gb.op("NonZero", {x}, {}, "nonzero_a"));
  gb.output(gb.op("NonZero", {gb.op("Relu", {x})}, {}, "nonzero_b"));
  gb.output(gb.op("NonMaxSuppression", {x}, {}, "/nms"));
  try {
    Engine::create(gb.graph());
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_NE(
        m.find(
            "3 nodes of ops not supported by the engine: NonMaxSuppression ('/nms'), NonZero ('nonzero_a', "
            "'nonzero_b')"),
        std::string::npos)
        << m;
    EXPECT_NE(m.find("export the model without its post-processing"), std::string::npos) << m;
  }
  GraphBuilder other;  // no hint for an op that is not post-processing
  other.output(other.op("Foo", {other.input("x", {1, 2})}, {}, "foo"));
  other.output(other.op("Bar", {other.input("y", {1, 2})}, {}, "bar"));
  try {
    Engine::create(other.graph());
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "2 nodes of ops not supported by the engine: Bar ('bar'), Foo ('foo')");
  }
}

TEST(Engine, UnsupportedAttributeNamesNode) {
  GraphBuilder gb;
  gb.output(
      gb.op("Resize",
            {gb.input("x", {1, 1, 2, 2}), gb.constant("roi", Tensor::from_float({0}, std::vector<float>{})),
             gb.constant("sc", Tensor::from_float({4}, std::vector<float>{1, 1, 2, 2}))},
            {{"mode", std::string("cubic")}}, "up"));
  try {
    Engine::create(gb.graph());
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("node 'up' (op Resize)"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("cubic"), std::string::npos) << e.what();
  }
}

TEST(Engine, Int8PlannedNodeIsRefusedForNow) {
  TinyNet net;
  EngineOptions options;
  options.plan.per_node["conv2"] = Precision::kInt8;
  EXPECT_THROW(Engine::create(net.gb.graph(), options), Error);
  options.plan.per_node["conv2"] = Precision::kFloat32;
  EXPECT_NO_THROW(Engine::create(net.gb.graph(), options));
}

TEST(Engine, WrongInputShapeIsAnError) {
  TinyNet net;
  auto engine = Engine::create(net.gb.graph());
  EXPECT_THROW(engine->run({random_tensor({1, 3, 5, 6}, 57)}), Error);
  EXPECT_THROW(engine->run({}), Error);
}

TEST(Engine, BatchTwoEqualsTwoRunsOfBatchOne) {
  TinyNet net;
  auto one = Engine::create(net.gb.graph());
  auto two = Engine::create(net.gb.graph(), {.batch = 2});
  EXPECT_EQ(one->batch(), 1);
  EXPECT_EQ(two->batch(), 2);
  EXPECT_EQ(two->inputs()[0].shape, (Shape{2, 3, 6, 6}));
  Tensor x0 = random_tensor({1, 3, 6, 6}, 58), x1 = random_tensor({1, 3, 6, 6}, 59);
  Tensor both(DType::kFloat32, {2, 3, 6, 6});
  std::copy(x0.bytes.begin(), x0.bytes.end(), both.bytes.begin());
  std::copy(x1.bytes.begin(), x1.bytes.end(), both.bytes.begin() + x0.bytes.size());
  Tensor y = two->run({both})[0];
  ASSERT_EQ(y.shape, (Shape{2, 144}));
  std::vector<float> y0 = one->run({x0})[0].to_float(), y1 = one->run({x1})[0].to_float(), yy = y.to_float();
  for (size_t i = 0; i < 144; ++i) {
    EXPECT_NEAR(yy[i], y0[i], 1e-5f);
    EXPECT_NEAR(yy[144 + i], y1[i], 1e-5f);
  }
}

// A DETR exported with its post-processor reads the target image size as a second input; partq feeds the
// image input's own width and height there (one row per image of the batch), and the caller only the image.
TEST(Engine, TheImageSizeInputIsFedByTheEngine) {
  GraphBuilder gb;
  Value* x = gb.input("images", {1, 3, 8, 12});
  Value* sizes = gb.input("orig_target_sizes", {1, 2}, DType::kInt64);
  Value* peak = gb.op("ReduceMax", {x}, {{"axes", std::vector<int64_t>{1, 2, 3}}, {"keepdims", int64_t{0}}});
  // [N, 2] sizes times each image's [N, 1] peak.
  Value* scaled = gb.op(
      "Mul",
      {gb.op("Cast", {sizes}, {{"to", int64_t{1}}}), gb.op("Unsqueeze", {peak, gb.ints("peak_axis", {1})})},
      {}, "scale");
  gb.output(gb.op("Unsqueeze", {scaled, gb.ints("axis", {2})}, {}, "out"));
  Graph& g = gb.graph();
  EXPECT_TRUE(mark_size_inputs(g));
  EXPECT_EQ(g.size_inputs, (std::set<std::string>{"orig_target_sizes"}));
  auto engine = Engine::create(g, {.batch = 2});
  ASSERT_EQ(engine->inputs().size(), 1u);
  EXPECT_EQ(engine->inputs()[0].name, "images");
  Tensor images(DType::kFloat32, {2, 3, 8, 12});
  images.as<float>()[5] = 2.f;                // image 0's max
  images.as<float>()[3 * 8 * 12 + 7] = 0.5f;  // image 1's max
  const Tensor y = engine->run({images})[0];
  ASSERT_EQ(y.shape, (Shape{2, 2, 1}));
  EXPECT_EQ(y.to_float(), (std::vector<float>{24.f, 16.f, 6.f, 4.f}));  // (width, height) x max
  // Another second input (an open-vocabulary detector's text tokens) is not marked: the caller feeds it.
  GraphBuilder other;
  other.input("images", {1, 3, 8, 12});
  other.output(other.op("Identity", {other.input("text_tokens", {1, 2})}, {}, "id"));
  EXPECT_FALSE(mark_size_inputs(other.graph()));
  EXPECT_EQ(Engine::create(other.graph())->inputs().size(), 2u);
}

TEST(Engine, DescribeListsStepsWithOneDnnImplementations) {
  TinyNet net;
  auto engine = Engine::create(net.gb.graph(), {.threads = 1});
  std::string d = engine->describe();
  EXPECT_NE(d.find("Conv+Swish"), std::string::npos) << d;
  EXPECT_NE(d.find("conv1+sig1+silu1"), std::string::npos) << d;
  EXPECT_NE(d.find("Conv+Relu"), std::string::npos) << d;
  EXPECT_NE(d.find("1 threads"), std::string::npos) << d;
  EXPECT_EQ(d.find("ref:"), std::string::npos) << "a reference (slow) oneDNN kernel was chosen:\n" << d;
}

TEST(Engine, RunsRepeatedlyWithTheSameResult) {
  TinyNet net;
  auto engine = Engine::create(net.gb.graph());
  Tensor x = random_tensor({1, 3, 6, 6}, 60);
  auto a = engine->run({x});
  auto b = engine->run({x});
  EXPECT_EQ(a[0].bytes, b[0].bytes);
}

}  // namespace
}  // namespace partq::test
