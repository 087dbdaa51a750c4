// A YOLO-style two-level detection head: per level Conv -> Reshape [N,A,K,H,W] -> Transpose(0,1,3,4,2) ->
// (Sigmoid) -> Split -> a few columns rewritten -> Concat -> Reshape [N,A*H*W,K], then one Concat of the
// levels along axis 1. Fused, level 0's 1x1 conv writes the transposed layout itself (in chunks of pixels),
// level 1's 3x3 conv is transposed by a copy as before, and both land straight in their slices of the final
// Concat output; the outputs must be the same bits as the unfused engine's (whole conv, Transpose copy,
// Concat copy).
#include <partq/error.hpp>

#include <cmath>
#include <cstring>

#include "forced_cpu_paths.hpp"
#include "test_graphs.hpp"

namespace partq::test {
namespace {

constexpr int64_t kAnchors = 3, kBox = 85;  // YOLO's 3 anchors x (4 box + 1 object + 80 classes)
// Level 0: a 1x1 conv at 130 x 130, 17 MiB of output per image (the chunked conv is used from 16 MiB on);
// level 1: a 3x3 stride-2 conv at 65 x 65.
constexpr int64_t kH0 = 130, kW0 = 130, kH1 = 65, kW1 = 65, kIn = 8;

struct Level {
  Tensor w, b;
  ConvParams p;
  int64_t h = 0, w_out = 0;
};

struct TwoLevelHead {
  GraphBuilder gb;
  int64_t n;
  Level levels[2];
  Value* flat[2] = {nullptr, nullptr};
  static constexpr int64_t kRows0 = kAnchors * kH0 * kW0, kRows = kRows0 + kAnchors * kH1 * kW1;

  // `sigmoid`: the head's activation after the transpose (fused into the conv); `flat0_output`: level 0's
  // flattened boxes are also a graph output (then they cannot live inside the final Concat's output).
  TwoLevelHead(int64_t batch, bool sigmoid, bool flat0_output = false) : n(batch) {
    levels[0] = {
        random_tensor({kAnchors * kBox, kIn, 1, 1}, 71), random_tensor({kAnchors * kBox}, 72), {}, kH0, kW0};
    levels[1] = {random_tensor({kAnchors * kBox, kIn, 3, 3}, 73, -0.3f, 0.3f),
                 random_tensor({kAnchors * kBox}, 74), ConvParams{.strides = {2, 2}, .pads = {1, 1, 1, 1}},
                 kH1, kW1};
    Value* x = gb.input("x", {n, kIn, kH0, kW0});
    for (int l = 0; l < 2; ++l) {
      const std::string p = "l" + std::to_string(l) + "_";
      const Level& lv = levels[l];
      Value* c = gb.op("Conv", {x, gb.constant(p + "w", lv.w), gb.constant(p + "b", lv.b)},
                       conv_attrs(lv.p, lv.w.shape), p + "conv");
      // Level 1's target uses ONNX's 0 (copy the dim) and -1 (infer it).
      std::vector<int64_t> target = l == 0 ? std::vector<int64_t>{n, kAnchors, kBox, lv.h, lv.w_out}
                                           : std::vector<int64_t>{0, kAnchors, kBox, lv.h, -1};
      Value* r = gb.op("Reshape", {c, gb.ints(p + "shape5", target)}, {}, p + "reshape");
      Value* t = gb.op("Transpose", {r}, {{"perm", std::vector<int64_t>{0, 1, 3, 4, 2}}}, p + "transpose");
      if (sigmoid) t = gb.op("Sigmoid", {t}, {}, p + "sigmoid");
      auto parts = gb.ops("Split", {t, gb.ints(p + "sizes", {2, 2, kBox - 4})}, 3, {{"axis", int64_t{-1}}},
                          p + "split");
      Value* xy = gb.op("Mul", {parts[0], gb.constant(p + "two", Tensor::scalar_float(2.f))}, {}, p + "mul");
      Value* wh = gb.op("Pow", {parts[1], gb.constant(p + "exp", Tensor::scalar_float(2.f))}, {}, p + "pow");
      Value* cat = gb.op("Concat", {xy, wh, parts[2]}, {{"axis", int64_t{-1}}}, p + "concat");
      flat[l] = gb.op("Reshape", {cat, gb.ints(p + "shape3", {n, kAnchors * lv.h * lv.w_out, kBox})}, {},
                      p + "flat");
    }
    gb.output(gb.op("Concat", {flat[0], flat[1]}, {{"axis", int64_t{1}}}, "final_concat"));
    if (flat0_output) gb.output(flat[0]);
  }
  Tensor input() const { return random_tensor({n, kIn, kH0, kW0}, 75); }

  // Plain-loop conv output of level `l` at (image, channel, h, w).
  double conv_at(const Tensor& x, int l, int64_t image, int64_t oc, int64_t h, int64_t w) const {
    const Level& lv = levels[l];
    const int64_t k = lv.w.shape[2], stride = lv.p.strides[0], pad = lv.p.pads[0];
    double acc = lv.b.as<const float>()[oc];
    for (int64_t ic = 0; ic < kIn; ++ic)
      for (int64_t kh = 0; kh < k; ++kh)
        for (int64_t kw = 0; kw < k; ++kw) {
          const int64_t ih = h * stride - pad + kh, iw = w * stride - pad + kw;
          if (ih < 0 || ih >= kH0 || iw < 0 || iw >= kW0) continue;
          acc += static_cast<double>(x.as<const float>()[((image * kIn + ic) * kH0 + ih) * kW0 + iw]) *
                 lv.w.as<const float>()[((oc * kIn + ic) * k + kh) * k + kw];
        }
    return acc;
  }
};

void expect_same_bits(const Tensor& got, const Tensor& want) {
  ASSERT_EQ(got.shape, want.shape);
  ASSERT_EQ(got.bytes.size(), want.bytes.size());
  auto g = got.as<const float>(), w = want.as<const float>();
  size_t bad = 0, first = 0;
  for (size_t i = 0; i < w.size(); ++i)
    if (std::memcmp(&g[i], &w[i], sizeof(float)) != 0 && bad++ == 0) first = i;
  EXPECT_EQ(bad, 0u) << "first difference at " << first << ": got " << g[first] << " want " << w[first];
}

TEST(HeadLayout, ConvWritesTheTransposedLayoutIntoTheConcatOutputWithTheSameBits) {
  for (int64_t batch : {1, 2}) {
    TwoLevelHead head(batch, false);
    const Tensor x = head.input();
    auto fused = Engine::create(head.gb.graph(), {.fuse = true});
    auto plain = Engine::create(head.gb.graph(), {.fuse = false});
    const std::string d = fused->describe();
    // The 1x1 conv writes the transposed layout, the 3x3 conv's output is transposed by a copy; nothing is
    // copied into the final Concat.
    EXPECT_EQ(count(d, "pixel_chunks"), 1u) << d;
    EXPECT_EQ(count(d, "Transpose  "), 1u) << d;
    EXPECT_EQ(count(d, "final_concat"), 0u) << d;
    EXPECT_NE(count(plain->describe(), "final_concat"), 0u) << plain->describe();
    // Taps: the final output (written by no step of its own) and a level's boxes (a strided view of it).
    Tensor tap_out, tap_flat, want_flat;
    fused->set_tap(head.gb.graph().outputs[0]->name,
                   [&](const std::string&, const Tensor& t) { tap_out = t; });
    fused->set_tap(head.flat[1]->name, [&](const std::string&, const Tensor& t) { tap_flat = t; });
    plain->set_tap(head.flat[1]->name, [&](const std::string&, const Tensor& t) { want_flat = t; });
    const auto a = fused->run({x});
    const auto b = plain->run({x});
    ASSERT_EQ(a[0].shape, (Shape{batch, TwoLevelHead::kRows, kBox}));
    expect_same_bits(a[0], b[0]);
    expect_same_bits(tap_out, b[0]);
    expect_same_bits(tap_flat, want_flat);
    // Against a plain-loop reference: the last image, anchor 2 at cell (h 5, w 3) of each level.
    const auto out = a[0].as<const float>();
    for (int l = 0; l < 2; ++l) {
      const Level& lv = head.levels[l];
      const int64_t n = batch - 1, cells = lv.h * lv.w_out;
      const int64_t row =
          n * TwoLevelHead::kRows + (l ? TwoLevelHead::kRows0 : 0) + 2 * cells + 5 * lv.w_out + 3;
      for (int64_t k = 0; k < kBox; ++k) {
        const float v = static_cast<float>(head.conv_at(x, l, n, 2 * kBox + k, 5, 3));
        const float want = k < 2 ? 2 * v : k < 4 ? v * v : v;
        EXPECT_NEAR(out[row * kBox + k], want, 1e-4f * (1 + std::fabs(want)))
            << "batch " << batch << " level " << l << " column " << k;
      }
    }
  }
}

TEST(HeadLayout, FusedSigmoidRunsInTheChunkedConv) {
  TwoLevelHead head(1, true);
  const Tensor x = head.input();
  auto fused = Engine::create(head.gb.graph(), {.fuse = true});
  const std::string d = fused->describe();
  EXPECT_EQ(count(d, "Conv+Sigmoid"), 2u) << d;
  EXPECT_EQ(count(d, "pixel_chunks"), 1u) << d;
  EXPECT_EQ(count(d, "final_concat"), 0u) << d;
  const auto a = fused->run({x});
  const auto b = Engine::create(head.gb.graph(), {.fuse = false})->run({x});
  expect_near(a[0], b[0], 1e-6f);  // the unfused Sigmoid is a separate kernel: equal up to rounding
  // The transposed values are no longer observable.
  EXPECT_THROW(fused->set_tap(head.gb.graph().find_node("l0_transpose")->outputs[0]->name,
                              [](const std::string&, const Tensor&) {}),
               Error);
}

// The chunks run here whatever the CPU (ForcedCpuPaths): chunked and whole use the same s8 kernel. With an
// asymmetric x (uint8 over [-1, 1.5]: codes with zero point 102 - 128) the chunks fold the zero point into
// their bias as the whole conv does, and give what oneDNN's own source zero point gives.
TEST(HeadLayout, Int8ConvKeepsItsBitsInChunks) {
  ForcedCpuPaths forced;
  TwoLevelHead head(1, false);
  const Tensor x = head.input();
  for (bool asym : {false, true}) {
    SCOPED_TRACE(asym ? "asymmetric x" : "symmetric x");
    EngineOptions o;
    o.plan.per_node = {{"l0_conv", Precision::kInt8}, {"l1_conv", Precision::kInt8}};
    o.activation_scales = {{"x", asym ? 2.5f / 255.f : 1.f / 127.f}};
    if (asym) o.activation_zero_points = {{"x", 102}};
    o.fuse = true;
    auto fused = Engine::create(head.gb.graph(), o);
    o.fuse = false;
    auto plain = Engine::create(head.gb.graph(), o);
    const std::string d = fused->describe();
    EXPECT_EQ(count(d, "s8->f32"), 2u) << d;
    EXPECT_EQ(count(d, "pixel_chunks"), 1u) << d;
    EXPECT_EQ(count(d, "z-26 "), asym ? 1u : 0u) << d;  // x's codes
    const Tensor got = fused->run({x})[0];
    expect_same_bits(got, plain->run({x})[0]);
    if (asym) {  // and the zero point is applied: a box value near the plain-loop conv of the float input
      EXPECT_EQ(count(d, "partq:zero_point_folded"), 1u) << d;
      const double want = head.conv_at(x, 0, 0, 5, 7, 9);
      EXPECT_NEAR(got.as<const float>()[(7 * kW0 + 9) * kBox + 5], want, 0.05 * (1 + std::fabs(want)));
      ForcedCpuPaths onednn(
          {.s8_convolutions = true, .portable_kernels = true, .onednn_source_zero_points = true});
      o.fuse = true;
      auto unfolded = Engine::create(head.gb.graph(), o);
      EXPECT_EQ(count(unfolded->describe(), "partq:zero_point_folded"), 0u);
      expect_near(got, unfolded->run({x})[0], 1e-5f);  // the same int32 sums, the fold's float rounding
    }
  }
}

TEST(HeadLayout, ConcatInputThatIsAlsoAGraphOutputIsCopied) {
  TwoLevelHead head(1, false, true);
  const Tensor x = head.input();
  auto fused = Engine::create(head.gb.graph(), {.fuse = true});
  const std::string d = fused->describe();
  EXPECT_EQ(count(d, "final_concat"), 1u) << d;  // copies level 0; level 1 is written in place
  const auto a = fused->run({x});
  const auto b = Engine::create(head.gb.graph(), {.fuse = false})->run({x});
  ASSERT_EQ(a.size(), 2u);
  expect_same_bits(a[0], b[0]);
  expect_same_bits(a[1], b[1]);
}

}  // namespace
}  // namespace partq::test
