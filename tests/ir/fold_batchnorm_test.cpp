// fold_batchnorm against a plain-loop Conv + BatchNormalization reference.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "partq/passes.hpp"
#include "test_util.hpp"

namespace partq {
namespace {

struct ConvSpec {
  int64_t n = 2, c = 4, h = 5, w = 6, m = 6, k = 3, group = 2, pad = 1, stride = 2;
  int64_t out_h() const { return (h + 2 * pad - k) / stride + 1; }
  int64_t out_w() const { return (w + 2 * pad - k) / stride + 1; }
};

// NCHW grouped conv, weight [m, c/group, k, k], optional bias.
std::vector<float> reference_conv(const ConvSpec& s, const std::vector<float>& x,
                                  const std::vector<float>& wt, const std::vector<float>& bias) {
  const int64_t cg = s.c / s.group, mg = s.m / s.group, oh = s.out_h(), ow = s.out_w();
  std::vector<float> y(s.n * s.m * oh * ow, 0.0f);
  for (int64_t n = 0; n < s.n; ++n)
    for (int64_t m = 0; m < s.m; ++m)
      for (int64_t oy = 0; oy < oh; ++oy)
        for (int64_t ox = 0; ox < ow; ++ox) {
          double acc = bias.empty() ? 0.0 : bias[m];
          const int64_t g = m / mg;
          for (int64_t ci = 0; ci < cg; ++ci)
            for (int64_t ky = 0; ky < s.k; ++ky)
              for (int64_t kx = 0; kx < s.k; ++kx) {
                const int64_t iy = oy * s.stride - s.pad + ky, ix = ox * s.stride - s.pad + kx;
                if (iy < 0 || iy >= s.h || ix < 0 || ix >= s.w) continue;
                acc += static_cast<double>(x[((n * s.c + g * cg + ci) * s.h + iy) * s.w + ix]) *
                       wt[((m * cg + ci) * s.k + ky) * s.k + kx];
              }
          y[((n * s.m + m) * oh + oy) * ow + ox] = static_cast<float>(acc);
        }
  return y;
}

std::vector<float> random_values(size_t count, std::mt19937& rng, float lo, float hi) {
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(count);
  for (float& f : v)
    f = dist(rng);
  return v;
}

class FoldBatchNorm : public ::testing::TestWithParam<bool> {};

TEST_P(FoldBatchNorm, MatchesConvThenBatchNorm) {
  const bool with_bias = GetParam();
  ConvSpec s;
  std::mt19937 rng(42);
  auto x = random_values(s.n * s.c * s.h * s.w, rng, -1, 1);
  auto wt = random_values(s.m * (s.c / s.group) * s.k * s.k, rng, -1, 1);
  auto bias = with_bias ? random_values(s.m, rng, -1, 1) : std::vector<float>{};
  auto gamma = random_values(s.m, rng, 0.5f, 2), beta = random_values(s.m, rng, -1, 1);
  auto mean = random_values(s.m, rng, -0.5f, 0.5f), var = random_values(s.m, rng, 0.1f, 3);
  const float eps = 1e-3f;

  Graph g;
  g.opset = 13;
  Value* in = g.add_value("x", DType::kFloat32, {s.n, s.c, s.h, s.w});
  Value* conv_out = g.add_value("conv_out");
  Value* y = g.add_value("y");
  std::vector<Value*> conv_inputs = {
      in, g.add_initializer("w", Tensor::from_float({s.m, s.c / s.group, s.k, s.k}, wt))};
  if (with_bias) conv_inputs.push_back(g.add_initializer("b", Tensor::from_float({s.m}, bias)));
  Node* conv = g.add_node("Conv", conv_inputs, {conv_out}, "conv");
  conv->attrs["group"] = s.group;
  conv->attrs["pads"] = std::vector<int64_t>{s.pad, s.pad, s.pad, s.pad};
  conv->attrs["strides"] = std::vector<int64_t>{s.stride, s.stride};
  conv->attrs["kernel_shape"] = std::vector<int64_t>{s.k, s.k};
  Node* bn = g.add_node("BatchNormalization",
                        {conv_out, g.add_initializer("gamma", Tensor::from_float({s.m}, gamma)),
                         g.add_initializer("beta", Tensor::from_float({s.m}, beta)),
                         g.add_initializer("mean", Tensor::from_float({s.m}, mean)),
                         g.add_initializer("var", Tensor::from_float({s.m}, var))},
                        {y}, "bn");
  bn->attrs["epsilon"] = eps;
  g.inputs = {in};
  g.outputs = {y};
  g.verify();

  // Reference: the conv, then y = gamma * (c - mean) / sqrt(var + eps) + beta, per channel.
  std::vector<float> expected = reference_conv(s, x, wt, bias);
  const int64_t spatial = s.out_h() * s.out_w();
  for (size_t i = 0; i < expected.size(); ++i) {
    const int64_t m = (static_cast<int64_t>(i) / spatial) % s.m;
    expected[i] = gamma[m] * (expected[i] - mean[m]) / std::sqrt(var[m] + eps) + beta[m];
  }

  ASSERT_TRUE(fold_batchnorm(g));
  g.verify();
  EXPECT_EQ(test::op_counts(g)["BatchNormalization"], 0);
  ASSERT_EQ(g.nodes().size(), 1u);
  const Node& folded = *g.nodes()[0];
  EXPECT_EQ(folded.op_type, "Conv");
  EXPECT_EQ(folded.outputs[0], g.outputs[0]);
  EXPECT_EQ(folded.outputs[0]->name, "y");  // downstream names kept
  ASSERT_NE(folded.input(2), nullptr);
  std::vector<float> got = reference_conv(s, x, folded.input(1)->initializer->to_float(),
                                          folded.input(2)->initializer->to_float());
  ASSERT_EQ(got.size(), expected.size());
  for (size_t i = 0; i < got.size(); ++i)
    EXPECT_NEAR(got[i], expected[i], 1e-4f) << i;
  EXPECT_EQ(g.find_value("gamma"), nullptr);  // unused parameters dropped
  EXPECT_FALSE(fold_batchnorm(g));            // nothing left to fold
}

INSTANTIATE_TEST_SUITE_P(ConvBias, FoldBatchNorm, ::testing::Values(false, true));

TEST(FoldBatchNormSafety, ConvOutputWithTwoUsersIsLeftAlone) {
  Graph g;
  Value* in = g.add_value("x", DType::kFloat32, {1, 1, 3, 3});
  Value* c = g.add_value("c");
  Value* y = g.add_value("y");
  Value* r = g.add_value("r");
  g.add_node("Conv", {in, g.add_initializer("w", Tensor::from_float({1, 1, 1, 1}, std::vector<float>{2}))},
             {c});
  auto one = [&](const char* name) {
    return g.add_initializer(name, Tensor::from_float({1}, std::vector<float>{1}));
  };
  g.add_node("BatchNormalization", {c, one("s"), one("b"), one("m"), one("v")}, {y});
  g.add_node("Relu", {c}, {r});
  g.inputs = {in};
  g.outputs = {y, r};
  EXPECT_FALSE(fold_batchnorm(g));
  EXPECT_EQ(g.nodes().size(), 3u);
  g.verify();
}

}  // namespace
}  // namespace partq
