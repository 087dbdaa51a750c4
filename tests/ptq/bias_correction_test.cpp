// Bias correction on a one-conv graph built in code: the per-channel mean error of the quantized conv against
// the float conv is computed here with plain loops (reference_conv on hand-quantized weights and inputs), not
// with the engine the correction runs on.
#include <gtest/gtest.h>
#include <partq/bias_correction.hpp>
#include <partq/engine_quant.hpp>
#include <partq/error.hpp>
#include <partq/quant.hpp>

#include <algorithm>
#include <cmath>

#include "../engine/test_graphs.hpp"

namespace partq {
namespace {

using test::ConvParams;
using test::GraphBuilder;
using test::reference_conv;

constexpr int64_t kBatch = 2, kIn = 3, kOut = 4, kSize = 8;
const ConvParams kConv{.pads = {1, 1, 1, 1}};

struct OneConv {
  std::unique_ptr<Graph> graph;
  Tensor weight, bias;
};

// x [2, 3, 8, 8] -> Conv 3x3 pad 1 (4 channels, with bias) -> Relu -> y.
OneConv one_conv(bool with_bias = true) {
  OneConv m;
  GraphBuilder b;
  m.weight = test::random_tensor({kOut, kIn, 3, 3}, 11);
  m.bias = test::random_tensor({kOut}, 12);
  Value* x = b.input("x", {kBatch, kIn, kSize, kSize});
  std::vector<Value*> inputs{x, b.constant("w", m.weight)};
  if (with_bias) inputs.push_back(b.constant("b", m.bias));
  Value* y = b.op("Conv", inputs, test::conv_attrs(kConv, m.weight.shape), "conv");
  b.output(b.op("Relu", {y}, {}, "relu"));
  m.graph = std::make_unique<Graph>(std::move(b.graph()));
  return m;
}

// Batches of inputs in [0, 4); the last holds one real image and a padding row of large values that must be
// ignored.
std::vector<InputBatch> sample_batches() {
  std::vector<InputBatch> batches;
  for (unsigned seed = 1; seed <= 3; ++seed)
    batches.push_back({test::random_tensor({kBatch, kIn, kSize, kSize}, seed, 0.f, 4.f), kBatch});
  Tensor last = test::random_tensor({kBatch, kIn, kSize, kSize}, 4, 0.f, 4.f);
  auto v = last.as<float>();
  std::fill(v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2), v.end(), 100.f);
  batches.push_back({std::move(last), 1});
  return batches;
}

float round_to(float x, float scale) {
  return std::clamp(std::nearbyint(x / scale), -128.f, 127.f) * scale;
}

// The weight as its per-channel INT8 copy stands for: scale = max |w| of the channel / 127.
Tensor quantized_weight(const Tensor& w) {
  Tensor q = w;
  auto values = q.as<float>();
  const size_t per_channel = values.size() / static_cast<size_t>(w.shape[0]);
  for (size_t c = 0; c < static_cast<size_t>(w.shape[0]); ++c) {
    auto channel = values.subspan(c * per_channel, per_channel);
    float amax = 0;
    for (float x : channel)
      amax = std::max(amax, std::abs(x));
    for (float& x : channel)
      x = round_to(x, amax / 127.f);
  }
  return q;
}

// Per output channel, the mean over the real images of conv(x; w_a, b_a) - conv(qx; w_b, b_b), where qx is
// the input quantized with `input_scale` (0: left float).
std::vector<double> mean_difference(const std::vector<InputBatch>& batches, const Tensor& w_a,
                                    const Tensor& b_a, const Tensor& w_b, const Tensor& b_b,
                                    float input_scale) {
  std::vector<double> sum(kOut, 0);
  int64_t count = 0;
  for (const InputBatch& batch : batches) {
    Tensor qx = batch.input;
    if (input_scale > 0)
      for (float& v : qx.as<float>())
        v = round_to(v, input_scale);
    const Tensor a = reference_conv(batch.input, w_a, &b_a, kConv);
    const Tensor b = reference_conv(qx, w_b, &b_b, kConv);
    const auto av = a.as<float>(), bv = b.as<float>();
    const size_t plane = kSize * kSize;
    for (size_t n = 0; n < batch.images; ++n)
      for (size_t c = 0; c < kOut; ++c)
        for (size_t p = 0; p < plane; ++p)
          sum[c] += av[(n * kOut + c) * plane + p] - bv[(n * kOut + c) * plane + p];
    count += static_cast<int64_t>(batch.images * plane);
  }
  for (double& s : sum)
    s /= static_cast<double>(count);
  return sum;
}

double max_abs(const std::vector<double>& v) {
  double m = 0;
  for (double x : v)
    m = std::max(m, std::abs(x));
  return m;
}

Tensor bias_tensor(const std::vector<float>& b) {
  return Tensor::from_float({static_cast<int64_t>(b.size())}, b);
}

EngineOptions int8_options(const Graph& graph, float input_amax,
                           std::map<std::string, Precision> overrides = {}) {
  return int8_options_from_plan(plan_quantization(graph, {.overrides = std::move(overrides)}),
                                {{"x", input_amax}});
}

TEST(BiasCorrection, LocalRemovesTheMeanErrorOfClippedInputsAndInt8Weights) {
  const OneConv m = one_conv();
  const auto batches = sample_batches();
  // amax 3 clips every input above 3 (a quarter of them): the quantized conv's output mean drops.
  const float amax = 3.f, scale = amax / 127.f;
  const Tensor wq = quantized_weight(m.weight);
  const double before = max_abs(mean_difference(batches, m.weight, m.bias, wq, m.bias, scale));
  ASSERT_GT(before, 0.05);

  const BiasCorrectionReport r = correct_biases(
      *m.graph, int8_options(*m.graph, amax), batches,
      {.mode = BiasCorrectionMode::kLocal, .iterations = 2, .measure_final = true, .quiet = true});
  ASSERT_EQ(r.convs, std::vector<std::string>{"conv"});
  EXPECT_EQ(r.images, 7);
  EXPECT_EQ(r.iterations, 2);
  ASSERT_EQ(r.relative_error.size(), 3u);
  EXPECT_LT(r.relative_error.back(), 0.1 * r.relative_error.front());
  const double after =
      max_abs(mean_difference(batches, m.weight, m.bias, wq, bias_tensor(r.biases.at("conv")), scale));
  EXPECT_LT(after, 0.01 * before) << "before " << before << ", after " << after;
}

TEST(BiasCorrection, WeightsModeShiftsEachBiasByTheInt8WeightsMeanError) {
  const OneConv m = one_conv();
  const auto batches = sample_batches();
  const Tensor wq = quantized_weight(m.weight);
  // The weights' error alone: conv(x; W) - conv(x; Wq) on the float input.
  const std::vector<double> expected = mean_difference(batches, m.weight, m.bias, wq, m.bias, 0);
  ASSERT_GT(max_abs(expected), 1e-3);

  const BiasCorrectionReport r =
      correct_biases(*m.graph, int8_options(*m.graph, 4.f), batches, {.quiet = true});
  EXPECT_EQ(r.mode, BiasCorrectionMode::kWeights);
  EXPECT_EQ(r.iterations, 0);
  EXPECT_TRUE(r.relative_error.empty());
  EXPECT_GT(r.relative_shift, 0);
  const auto original = m.bias.as<float>();
  const std::vector<float>& corrected = r.biases.at("conv");
  ASSERT_EQ(corrected.size(), static_cast<size_t>(kOut));
  for (size_t c = 0; c < corrected.size(); ++c)
    EXPECT_NEAR(corrected[c] - original[c], expected[c], 1e-4 + 1e-3 * std::abs(expected[c]))
        << "channel " << c;
  // Without input clipping, what remains is the input rounding's error: far below the weights' error.
  const double after =
      max_abs(mean_difference(batches, m.weight, m.bias, wq, bias_tensor(corrected), 4.f / 127.f));
  EXPECT_LT(after, 0.2 * max_abs(expected));
}

TEST(BiasCorrection, ConvWithoutBiasGetsOneAndFloatConvsAreLeftAlone) {
  OneConv m = one_conv(/*with_bias=*/false);
  const auto batches = sample_batches();
  const BiasCorrectionReport r =
      correct_biases(*m.graph, int8_options(*m.graph, 4.f), batches, {.quiet = true});
  ASSERT_EQ(r.biases.count("conv"), 1u);
  apply_biases(*m.graph, r.biases);
  const Node* conv = m.graph->find_node("conv");
  ASSERT_NE(conv->input(2), nullptr);
  EXPECT_EQ(conv->input(2)->initializer->to_float(), r.biases.at("conv"));

  const BiasCorrectionReport none = correct_biases(
      *m.graph, int8_options(*m.graph, 4.f, {{"conv", Precision::kFloat32}}), batches, {.quiet = true});
  EXPECT_TRUE(none.convs.empty());
  EXPECT_TRUE(none.biases.empty());
}

TEST(BiasCorrection, ApplyBiasesCopiesASharedBiasAndRefusesBadInput) {
  GraphBuilder b;
  const Tensor w = test::random_tensor({2, 2, 1, 1}, 3);
  Value* x = b.input("x", {1, 2, 4, 4});
  Value* bias = b.constant("b", Tensor::from_float({2}, std::vector<float>{1.f, 2.f}));
  Value* y1 = b.op("Conv", {x, b.constant("w1", w), bias}, {}, "c1");
  Value* y2 = b.op("Conv", {y1, b.constant("w2", w), bias}, {}, "c2");
  b.output(y2);
  Graph& g = b.graph();
  apply_biases(g, {{"c2", {5.f, 6.f}}});
  EXPECT_EQ(g.find_node("c1")->input(2)->initializer->to_float(), (std::vector<float>{1.f, 2.f}));
  EXPECT_EQ(g.find_node("c2")->input(2)->initializer->to_float(), (std::vector<float>{5.f, 6.f}));
  EXPECT_NE(g.find_node("c2")->input(2), bias);
  EXPECT_THROW(apply_biases(g, {{"nope", {1.f, 2.f}}}), Error);
  EXPECT_THROW(apply_biases(g, {{"c1", {1.f}}}), Error);
}

TEST(BiasCorrection, RefusesBadBatches) {
  const OneConv m = one_conv();
  const EngineOptions int8 = int8_options(*m.graph, 4.f);
  EXPECT_THROW(correct_biases(*m.graph, int8, {}, {.quiet = true}), Error);
  std::vector<InputBatch> mixed = sample_batches();
  mixed.push_back({test::random_tensor({1, kIn, kSize, kSize}, 9), 1});
  EXPECT_THROW(correct_biases(*m.graph, int8, mixed, {.quiet = true}), Error);
  EXPECT_THROW(parse_bias_correction_mode("global"), Error);
  EXPECT_EQ(parse_bias_correction_mode("local"), BiasCorrectionMode::kLocal);
}

}  // namespace
}  // namespace partq
