// Conv+SiLU on bands of output rows (ops/band_conv.hpp) with partq's own SiLU (silu.hpp): the vector SiLU
// against a double-precision reference, and banded convs of every geometry the bands must get right (the
// halo rows, the padding at the image edges only, strides, dilations, groups, an NCHW image input, channel
// counts that leave a vector tail) against the same graph run whole with oneDNN's fused post-op.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <tuple>
#include <utility>

#include "forced_cpu_paths.hpp"
#include "silu.hpp"
#include "test_graphs.hpp"

namespace partq::test {
namespace {

double silu_ref(double x) {
  return x / (1.0 + std::exp(-x));
}

std::vector<float> spread_values(size_t n, unsigned seed) {
  Tensor t = random_tensor({static_cast<int64_t>(n)}, seed, -16.f, 16.f);
  std::vector<float> v = t.to_float();
  for (size_t i = 0; i < n / 4; ++i)  // a dense sweep of the bend of the curve too
    v[i] = -6.f + 12.f * static_cast<float>(i) / static_cast<float>(n / 4);
  // and the far tails, where exp(-x) leaves the range of a float
  const float tails[] = {-1e4f, -300.f, -200.f, -100.f, -90.f, 87.f, 90.f, 100.f, 200.f, 300.f, 1e4f};
  std::copy(std::begin(tails), std::end(tails), v.end() - std::size(tails));
  return v;
}

// The vector code of this CPU, on an AVX-512 CPU its AVX2 code too, and the scalar code.
const engine::CpuPathOverrides kSiluCodes[] = {{}, {.avx2_kernels = true}, {.scalar_kernels = true}};
const char* code_name(const engine::CpuPathOverrides& code) {
  return code.scalar_kernels ? "scalar code" : code.avx2_kernels ? "AVX2 code" : "this CPU's code";
}

TEST(SiluKernel, S8LevelsEqualTheRoundedExactValue) {
  // Tails of 11 (AVX-512) and 3 (AVX2) lanes, and a gap the kernel must not touch.
  constexpr int64_t kChannels = 43, kStride = 48;
  const std::vector<float> x = spread_values(kChannels * 4096, 11);
  const int64_t pixels = static_cast<int64_t>(x.size()) / kChannels;
  // Zero points of asymmetric codes too (uint8 zero point - 128): the level is rounded, then shifted.
  for (const engine::CpuPathOverrides& code : kSiluCodes)
    for (auto [scale, zero_point] :
         {std::pair{0.004f, 0}, {0.05f, 0}, {0.3f, 0}, {0.05f, -100}, {0.02f, 37}}) {
      SCOPED_TRACE(zero_point);
      SCOPED_TRACE(code_name(code));
      ForcedCpuPaths forced(code);
      std::vector<int8_t> out(static_cast<size_t>(pixels * kStride), 99);
      engine::silu_to_s8(x.data(), out.data(), pixels, kChannels, kStride, scale, zero_point);
      size_t differ = 0;
      for (int64_t p = 0; p < pixels; ++p) {
        for (int64_t c = 0; c < kChannels; ++c) {
          const double want =
              std::clamp(std::nearbyint(silu_ref(x[p * kChannels + c]) / scale) + zero_point, -128.0, 127.0);
          const int got = out[p * kStride + c];
          ASSERT_LE(std::fabs(got - want), 1.0) << "x=" << x[p * kChannels + c] << " scale=" << scale;
          differ += got != want;
        }
        for (int64_t c = kChannels; c < kStride; ++c)
          ASSERT_EQ(out[p * kStride + c], 99);
      }
      // Only values within float rounding of a level boundary may land on the other side.
      EXPECT_LE(differ, x.size() / 10000) << "scale " << scale;
    }
}

TEST(SiluKernel, F32MatchesDoublePrecision) {
  constexpr int64_t kChannels = 21, kStride = 32;
  const std::vector<float> x = spread_values(kChannels * 2048, 12);
  const int64_t pixels = static_cast<int64_t>(x.size()) / kChannels;
  for (const engine::CpuPathOverrides& code : kSiluCodes) {
    SCOPED_TRACE(code_name(code));
    ForcedCpuPaths forced(code);
    std::vector<float> out(static_cast<size_t>(pixels * kStride), 7.f);
    engine::silu_to_f32(x.data(), out.data(), pixels, kChannels, kStride);
    for (int64_t p = 0; p < pixels; ++p) {
      for (int64_t c = 0; c < kChannels; ++c) {
        const double want = silu_ref(x[p * kChannels + c]);
        ASSERT_NEAR(out[p * kStride + c], want, 1e-6 * (1e-3 + std::fabs(want))) << x[p * kChannels + c];
      }
      for (int64_t c = kChannels; c < kStride; ++c)
        ASSERT_EQ(out[p * kStride + c], 7.f);
    }
  }
}

struct BandCase {
  const char* name;
  Shape x;     // N, C, H, W
  int64_t oc;  // output channels
  int64_t k;   // square kernel
  ConvParams p;
};

// Each case's output rows exceed one band (a band holds 512 KiB of f32 output), so every image is split.
const BandCase kCases[] = {
    {"3x3 s1", {2, 16, 130, 128}, 32, 3, {.pads = {1, 1, 1, 1}}},
    {"3x3 s2 odd rows", {1, 16, 301, 128}, 32, 3, {.strides = {2, 2}, .pads = {1, 1, 1, 1}}},
    {"6x6 s2 image", {2, 3, 400, 256}, 16, 6, {.strides = {2, 2}, .pads = {2, 2, 2, 2}}},
    {"1x1", {2, 32, 90, 80}, 48, 1, {}},
    {"depthwise 3x3", {2, 32, 150, 64}, 32, 3, {.group = 32, .pads = {1, 1, 1, 1}}},
    {"dilated 3x3", {1, 16, 150, 64}, 32, 3, {.dilations = {2, 2}, .pads = {2, 2, 2, 2}}},
    {"5x5 s3 uneven pads", {2, 8, 400, 96}, 24, 5, {.strides = {3, 3}, .pads = {2, 1, 0, 1}}},
    {"no padding 3x3", {1, 16, 120, 64}, 40, 3, {}},
};

// uint8 scale and zero point over [lo, hi] (QuantParams::asymmetric_from_range, computed here again).
std::pair<float, int> asymmetric(float lo, float hi) {
  const float scale = (hi - lo) / 255.f;
  return {scale, static_cast<int>(std::nearbyint(-lo / scale))};
}

// x -> Conv -> SiLU (Sigmoid, Mul: fused into the conv) = act -> [a 1x1 conv], both convs int8. With the
// second conv, act is read quantized (the first conv writes s8 levels); without, act is the graph output
// (the first conv writes f32). `asym`: x is uint8 over [-1, 1.5] and act over [SiLU's minimum, amax], so the
// conv reads and writes codes with zero points.
struct ConvSilu {
  GraphBuilder gb;
  Tensor x;
  Value* act = nullptr;
  EngineOptions options;
  float act_scale = 0.f;
  int act_zero_point = 0;  // uint8

  ConvSilu(const BandCase& c, unsigned seed, bool quantized_output, bool asym = false)
      : x(random_tensor(c.x, seed)) {
    Tensor w = random_tensor({c.oc, c.x[1] / c.p.group, c.k, c.k}, seed + 1, -0.3f, 0.3f);
    Tensor b = random_tensor({c.oc}, seed + 2, -0.5f, 0.5f);
    Value* in = gb.input("x", c.x);
    Value* y =
        gb.op("Conv", {in, gb.constant("w", w), gb.constant("b", b)}, conv_attrs(c.p, w.shape), "conv");
    act = gb.op("Mul", {y, gb.op("Sigmoid", {y}, {}, "sig")}, {}, "mul");
    options.plan.per_node = {{"conv", Precision::kInt8}};
    if (quantized_output) {
      Tensor w2 = random_tensor({4, c.oc, 1, 1}, seed + 3);
      gb.output(gb.op("Conv", {act, gb.constant("w2", w2)}, conv_attrs({}, w2.shape), "conv2"));
      options.plan.per_node["conv2"] = Precision::kInt8;
    } else {
      gb.output(act);
    }
    // Max calibration on the float model.
    auto fp32 = Engine::create(gb.graph());
    float amax = 0;
    fp32->set_tap(act->name, [&](const std::string&, const Tensor& t) { amax = max_abs(t); });
    fp32->run({x});
    options.activation_scales = {{"x", max_abs(x) / 127.f}};
    act_scale = amax / 127.f;
    if (asym) {
      std::tie(options.activation_scales["x"], options.activation_zero_points["x"]) = asymmetric(-1.f, 1.5f);
      std::tie(act_scale, act_zero_point) = asymmetric(-0.2785f, amax);
      if (quantized_output) options.activation_zero_points[act->name] = act_zero_point;
    }
    if (quantized_output) options.activation_scales[act->name] = act_scale;
  }
  static float max_abs(const Tensor& t) {
    float m = 0;
    for (float v : t.to_float())
      m = std::max(m, std::fabs(v));
    return m;
  }
  // act computed with the bands or with the whole conv and oneDNN's post-op; `describe` gets the plan text.
  Tensor run(bool bands, std::string* describe,
             EngineOptions::Int8Mode mode = EngineOptions::Int8Mode::kReal) {
    EngineOptions o = options;
    o.silu_bands = bands;
    o.int8_mode = mode;
    auto engine = Engine::create(gb.graph(), o);
    *describe = engine->describe();
    Tensor a;
    engine->set_tap(act->name, [&](const std::string&, const Tensor& t) { a = t; });
    engine->run({x});
    return a;
  }
};

// Two computations of act agree on its levels except where the pre-activation sits within float rounding of a
// level boundary.
void expect_same_levels(const std::vector<float>& a, const std::vector<float>& b, float scale) {
  ASSERT_EQ(a.size(), b.size());
  size_t differ = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    const float steps = std::fabs(a[i] - b[i]) / scale;
    if (steps > 1.001f) {
      ADD_FAILURE() << "element " << i << ": " << a[i] << " against " << b[i];
      break;
    }
    differ += steps > 0.5f;
  }
  EXPECT_LE(differ, a.size() / 1000) << differ << " of " << a.size();
}

// Banded and whole, act's levels agree. Returns the banded act.
std::vector<float> expect_bands_equal_whole_levels(ConvSilu& g) {
  std::string banded_plan, whole_plan;
  auto b = g.run(true, &banded_plan).to_float(), w = g.run(false, &whole_plan).to_float();
  EXPECT_NE(banded_plan.find("Conv+Swish s8->s8"), std::string::npos) << banded_plan;
  EXPECT_NE(banded_plan.find("partq:silu_bands"), std::string::npos) << banded_plan;
  EXPECT_EQ(whole_plan.find("partq:silu_bands"), std::string::npos) << whole_plan;
  expect_same_levels(b, w, g.act_scale);
  return b;
}

bool padded(const BandCase& c) {
  return std::any_of(c.p.pads.begin(), c.p.pads.end(), [](int64_t p) { return p != 0; });
}

// The banded convs run here whatever the CPU (ForcedCpuPaths): banded and whole use the same s8 kernels.
TEST(BandConv, S8ToS8BandsEqualTheWholeConvLevels) {
  ForcedCpuPaths forced;
  unsigned seed = 50;
  for (const BandCase& c : kCases) {
    SCOPED_TRACE(c.name);
    ConvSilu g(c, seed += 4, true);
    expect_bands_equal_whole_levels(g);
  }
}

// Asymmetric activations: the bands read x's codes with its zero point (oneDNN's source zero point, padding
// then reads as a real 0) and write act's codes with act's. A zero point dropped on either side would move
// most values by dozens of levels from the Q/DQ simulation; on a CPU without VNNI the s8 kernels' halved
// weights move some by a level or two, so the simulation is only a loose check.
TEST(BandConv, AsymmetricBandsEqualTheWholeConvLevels) {
  ForcedCpuPaths forced;
  unsigned seed = 130;
  for (const BandCase& c : kCases) {
    SCOPED_TRACE(c.name);
    ConvSilu g(c, seed += 4, true, true);
    ASSERT_GT(g.act_zero_point, 0);
    const std::vector<float> b = expect_bands_equal_whole_levels(g);
    std::string fake_plan;
    const std::vector<float> f = g.run(false, &fake_plan, EngineOptions::Int8Mode::kFakeQuant).to_float();
    ASSERT_EQ(f.size(), b.size());
    size_t within_a_level = 0;
    for (size_t i = 0; i < b.size(); ++i) {
      const float q = std::clamp(std::nearbyint(f[i] / g.act_scale) + g.act_zero_point, 0.f, 255.f);
      within_a_level += std::fabs(b[i] - (q - g.act_zero_point) * g.act_scale) <= 1.001f * g.act_scale;
    }
    EXPECT_GE(within_a_level, b.size() * 8 / 10) << within_a_level << " of " << b.size();
  }
}

// An asymmetric input's zero point folded (ops/source_zero_point.hpp: the bias takes what the zero point
// takes from a pixel, the bands add back what pixels whose window reads padding are owed) against oneDNN's
// own source zero point, banded and whole (the whole conv folds only where it reads no padding). The 1x1 conv
// after act folds act's zero point in every run but the last. A border owed nothing, or owed the amount of
// another border class, moves the edge pixels of every padded case by levels.
TEST(BandConv, FoldedSourceZeroPointEqualsOneDnnZeroPoint) {
  unsigned seed = 170;
  for (const BandCase& c : kCases) {
    SCOPED_TRACE(c.name);
    ConvSilu g(c, seed += 4, true, true);
    for (bool bands : {true, false}) {
      SCOPED_TRACE(bands ? "bands" : "whole");
      std::string folded_plan, onednn_plan;
      std::vector<float> folded, onednn;
      {
        ForcedCpuPaths forced;
        folded = g.run(bands, &folded_plan).to_float();
      }
      {
        ForcedCpuPaths forced(
            {.s8_convolutions = true, .portable_kernels = true, .onednn_source_zero_points = true});
        onednn = g.run(bands, &onednn_plan).to_float();
      }
      EXPECT_EQ(count(folded_plan, "partq:zero_point_folded"), bands || !padded(c) ? 2u : 1u) << folded_plan;
      EXPECT_EQ(count(onednn_plan, "partq:zero_point_folded"), 0u) << onednn_plan;
      EXPECT_EQ(count(folded_plan, "partq:silu_bands"), bands ? 1u : 0u) << folded_plan;
      expect_same_levels(folded, onednn, g.act_scale);
    }
  }
}

TEST(BandConv, S8ToF32BandsEqualTheWholeConv) {
  ForcedCpuPaths forced;
  unsigned seed = 90;
  for (const BandCase& c : kCases) {
    SCOPED_TRACE(c.name);
    for (bool asym : {false, true}) {
      ConvSilu g(c, seed += 4, false, asym);
      std::string banded_plan, whole_plan;
      Tensor b = g.run(true, &banded_plan), w = g.run(false, &whole_plan);
      EXPECT_NE(banded_plan.find("Conv+Swish s8->f32"), std::string::npos) << banded_plan;
      EXPECT_NE(banded_plan.find("partq:silu_bands"), std::string::npos) << banded_plan;
      // The same int32 sums and scales; SiLU by two implementations of exp that agree to float rounding.
      expect_near(b, w, 2e-5f);
    }
  }
}

}  // namespace
}  // namespace partq::test
