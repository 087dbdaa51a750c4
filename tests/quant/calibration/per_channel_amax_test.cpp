#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "partq/calibration.hpp"
#include "partq/error.hpp"

namespace partq {
namespace {

// Reference: walk every element, recover its coordinate along `axis` from the flat index.
std::vector<float> reference(const std::vector<float>& w, const std::vector<int64_t>& dims, int64_t axis) {
  int64_t stride = 1;
  for (size_t d = axis + 1; d < dims.size(); ++d)
    stride *= dims[d];
  std::vector<float> amax(dims[axis], 0.0f);
  for (size_t flat = 0; flat < w.size(); ++flat) {
    const int64_t channel = (static_cast<int64_t>(flat) / stride) % dims[axis];
    amax[channel] = std::max(amax[channel], std::fabs(w[flat]));
  }
  return amax;
}

std::vector<float> random_weights(size_t n) {
  std::mt19937 rng(4);
  std::normal_distribution<float> normal(0.0f, 0.1f);
  std::vector<float> w(n);
  for (float& v : w)
    v = normal(rng);
  return w;
}

TEST(PerChannelAmax, ConvWeightAlongAxisZeroAndConvTransposeAlongAxisOne) {
  const std::vector<int64_t> dims{6, 5, 3, 3};
  const std::vector<float> w = random_weights(6 * 5 * 3 * 3);
  for (int64_t axis : {0, 1, 3}) {
    const PerChannelAmax result = per_channel_amax(w, dims, axis, "conv.weight");
    EXPECT_EQ(result.amax, reference(w, dims, axis)) << "axis " << axis;
    EXPECT_TRUE(result.zero_channels.empty());
  }
}

TEST(PerChannelAmax, AllZeroChannelIsListed) {
  const std::vector<int64_t> dims{3, 4};
  std::vector<float> w{0.5f,  -1.0f, 0.0f, 0.25f,  // channel 0
                       0.0f,  -0.0f, 0.0f, 0.0f,   // channel 1: pruned
                       -3.0f, 2.0f,  1.0f, 0.0f};  // channel 2
  const PerChannelAmax result = per_channel_amax(w, dims, 0, "fc.weight");
  EXPECT_EQ(result.amax, (std::vector<float>{1.0f, 0.0f, 3.0f}));
  EXPECT_EQ(result.zero_channels, (std::vector<int64_t>{1}));
}

TEST(PerChannelAmax, BadInputsAreErrorsNamingTheWeight) {
  const std::vector<int64_t> dims{2, 3};
  std::vector<float> w(6, 1.0f);
  auto expect_error = [](auto&& call, const std::string& fragment) {
    try {
      call();
      FAIL() << "accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("w.bad"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    }
  };
  expect_error([&] { per_channel_amax(w, dims, 2, "w.bad"); }, "axis");
  expect_error([&] { per_channel_amax(std::span<const float>(w).first(5), dims, 0, "w.bad"); }, "[2, 3]");
  w[4] = std::numeric_limits<float>::quiet_NaN();
  expect_error([&] { per_channel_amax(w, dims, 0, "w.bad"); }, "channel 1");
}

}  // namespace
}  // namespace partq
