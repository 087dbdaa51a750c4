// Q/DQ models from other tools quantize weights in ways partq's own export does not: one scale for a whole
// tensor, or 7-bit codes (ONNX Runtime's reduce_range) whose channel maxima are not 127. partq must run the
// weights as the file's DequantizeLinear gives them (EngineOptions::weight_scales), not re-derive per-channel
// scales from the dequantized values; ONNX Runtime, reading the file as written, is the judge. One quantized
// input feeds two float-output convs, so no requantization amplifies summation-order differences: outputs
// agree to float rounding, while a re-derived weight grid moves them by its whole quantization error.
#include <gtest/gtest.h>
#include <partq/engine.hpp>
#include <partq/pipeline.hpp>
#include <partq/ptq.hpp>

#include "../ir/onnx_model_builder.hpp"
#include "onnx_runtime_outputs.hpp"

namespace partq {
namespace {

using test::OnnxModelBuilder;

uint32_t next(uint32_t& seed) {
  seed = seed * 1664525u + 1013904223u;
  return seed >> 8;
}

// Codes in [-limit_c, limit_c] with limit_c reaching `max_code` only in the first channel: per-channel
// maxima that differ, as a per-tensor scale or a 7-bit range gives them.
std::vector<int8_t> codes(int64_t channels, int64_t per_channel, int max_code, uint32_t seed) {
  std::vector<int8_t> q;
  for (int64_t c = 0; c < channels; ++c) {
    const int limit = std::max(1, max_code * static_cast<int>(channels - c) / static_cast<int>(channels));
    for (int64_t i = 0; i < per_channel; ++i)
      q.push_back(
          static_cast<int8_t>(i == 0 ? limit : static_cast<int>(next(seed) % (2 * limit + 1)) - limit));
  }
  return q;
}

std::string qdq_model() {
  OnnxModelBuilder b(17, 8);
  b.input("x", {1, 4, 8, 8});
  b.floats("sx", {}, {0.02f});
  b.int8s("zx", {}, {0});
  b.node("QuantizeLinear", {"x", "sx", "zx"}, {"xq"}, "x_q");
  b.node("DequantizeLinear", {"xq", "sx", "zx"}, {"xd"}, "x_dq");
  // Per-tensor 8-bit weights.
  b.int8s("w1_q", {8, 4, 3, 3}, codes(8, 36, 127, 7));
  b.floats("w1_scale", {}, {0.004f});
  b.int8s("w1_zero", {}, {0});
  b.node("DequantizeLinear", {"w1_q", "w1_scale", "w1_zero"}, {"w1"}, "w1_dq");
  auto& c1 = b.node("Conv", {"xd", "w1"}, {"y1"}, "conv_per_tensor");
  OnnxModelBuilder::attr(c1, "pads", {1, 1, 1, 1});
  // Per-channel 7-bit weights.
  b.int8s("w2_q", {8, 4, 3, 3}, codes(8, 36, 63, 11));
  b.floats("w2_scale", {8}, {0.01f, 0.008f, 0.012f, 0.005f, 0.009f, 0.011f, 0.007f, 0.006f});
  b.int8s("w2_zero", {8}, std::vector<int8_t>(8, 0));
  OnnxModelBuilder::attr(b.node("DequantizeLinear", {"w2_q", "w2_scale", "w2_zero"}, {"w2"}, "w2_dq"), "axis",
                         int64_t{0});
  b.floats("bias", {8}, {0.1f, -0.2f, 0.3f, 0.f, 0.05f, -0.1f, 0.2f, -0.3f});
  auto& c2 = b.node("Conv", {"xd", "w2", "bias"}, {"y2"}, "conv_seven_bit");
  OnnxModelBuilder::attr(c2, "pads", {1, 1, 1, 1});
  b.output("y1", {1, 8, 8, 8});
  b.output("y2", {1, 8, 8, 8});
  return b.bytes();
}

TEST(QdqWeightScalesParity, PerTensorAndSevenBitWeightsMatchOnnxRuntime) {
  const test::ScratchDir dir("partq_qdq_weights");
  const std::string model = dir.write("qdq.onnx", qdq_model());
  std::vector<float> values(4 * 8 * 8);
  uint32_t seed = 3;
  for (float& v : values)
    v = static_cast<float>(next(seed)) / static_cast<float>(1u << 24) * 4.f - 2.f;
  const Tensor input = Tensor::from_float({1, 4, 8, 8}, values);
  const std::vector<Tensor> theirs = test::onnx_runtime_outputs(dir, model, input, 2);

  for (auto mode : {EngineOptions::Int8Mode::kFakeQuant, EngineOptions::Int8Mode::kReal}) {
    SCOPED_TRACE(mode == EngineOptions::Int8Mode::kReal ? "real INT8" : "fake-quant");
    PreparedModel prepared = prepare_model(model);
    ASSERT_EQ(prepared.int8_nodes, 2);
    prepared.engine_options.int8_mode = mode;
    auto engine = Engine::create(*prepared.graph, prepared.engine_options);
    if (mode == EngineOptions::Int8Mode::kReal) {
      // The 7-bit conv runs in s8 on every CPU (the per-tensor one too where the CPU has VNNI).
      const std::string d = engine->describe();
      EXPECT_NE(d.find("s8->f32"), std::string::npos) << d;
    }
    test::expect_outputs_near(engine->run({input}), theirs, 1e-5);
  }
}

}  // namespace
}  // namespace partq
