// Weight quantization: per-channel amax, round half to even, clamping.
#include <gtest/gtest.h>

#include "partq/error.hpp"
#include "partq/quant_weights.hpp"

namespace partq {
namespace {

TEST(WeightQuant, RoundsHalfToEven) {
  // scale 1 exactly (amax 127): halves go to the even neighbour, as round_half_even / ONNX QuantizeLinear do.
  EXPECT_EQ(quantize_int8(2.5f, 1.0f), 2);
  EXPECT_EQ(quantize_int8(3.5f, 1.0f), 4);
  EXPECT_EQ(quantize_int8(-2.5f, 1.0f), -2);
  EXPECT_EQ(quantize_int8(0.5f, 1.0f), 0);
  EXPECT_EQ(quantize_int8(1.5f, 1.0f), 2);
  EXPECT_EQ(quantize_int8(2.5f * 0.25f, 0.25f), 2);  // 2.5 * scale with a scale that divides exactly
  EXPECT_EQ(quantize_int8(2.6f, 1.0f), 3);
}

TEST(WeightQuant, Clamps) {
  EXPECT_EQ(quantize_int8(200.0f, 1.0f), 127);
  EXPECT_EQ(quantize_int8(-300.0f, 1.0f), -128);
  EXPECT_EQ(quantize_int8(-128.4f, 1.0f), -128);
}

TEST(WeightQuant, PerChannelAlongAxis0) {
  // 2 output channels x 3 values: channel 0 amax 127 (scale 1), channel 1 amax 12.7 (scale 0.1).
  const Tensor w =
      Tensor::from_float({2, 3, 1, 1}, std::vector<float>{127.0f, 2.5f, -3.5f, 12.7f, -6.35f, 0.0f});
  const QuantParams p = weight_quant_params(w, 0);
  ASSERT_EQ(p.scales.size(), 2u);
  EXPECT_EQ(p.axis, 0);
  EXPECT_EQ(p.scales[0], 1.0f);
  EXPECT_EQ(p.scales[1], 12.7f / 127.0f);
  const Tensor q = quantize_weight(w, p);
  ASSERT_EQ(q.dtype, DType::kInt8);
  const auto v = q.as<int8_t>();
  EXPECT_EQ(std::vector<int8_t>(v.begin(), v.end()), (std::vector<int8_t>{127, 2, -4, 127, -64, 0}));
}

TEST(WeightQuant, PerChannelAlongAxis1AndZeroChannels) {
  // ConvTranspose layout [C_in=2, C_out=2]: channel c is column c. Column 1 is all zero: scale 1, not 0.
  const Tensor w = Tensor::from_float({2, 2}, std::vector<float>{-4.0f, 0.0f, 2.0f, 0.0f});
  const QuantParams p = weight_quant_params(w, 1);
  EXPECT_EQ(weight_channel_amax(w, 1), (std::vector<float>{4.0f, 0.0f}));
  EXPECT_EQ(p.scales, (std::vector<float>{4.0f / 127.0f, 1.0f}));
  const Tensor q = quantize_weight(w, p);
  const auto v = q.as<int8_t>();
  EXPECT_EQ(std::vector<int8_t>(v.begin(), v.end()), (std::vector<int8_t>{-127, 0, 64, 0}));
  const Tensor back = dequantize_weight(q, p);
  EXPECT_EQ(back.to_float()[0], -127 * (4.0f / 127.0f));
  EXPECT_THROW(weight_quant_params(w, 2), Error);
}

}  // namespace
}  // namespace partq
