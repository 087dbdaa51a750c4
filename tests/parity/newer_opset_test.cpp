// A model written at opset 20 (IR 10) with the forms that changed after opset 17 (Mish, Gelu both ways,
// GridSample's `linear` mode, Reduce axes as an input, Split's num_outputs, Resize's and AveragePool's new
// attributes at their defaults): partq reads it
// through its opset-17 forms (onnx_newer_opsets.cpp), ONNX Runtime reads it as written, and the outputs must
// agree. Tolerance as in parity_test.cpp, at this model's scale: both compute in f32 in a different order.
#include <gtest/gtest.h>
#include <partq/engine.hpp>
#include <partq/pipeline.hpp>

#include "../ir/onnx_model_builder.hpp"
#include "onnx_runtime_outputs.hpp"

namespace partq {
namespace {

using test::OnnxModelBuilder;

std::vector<float> pseudo_random(size_t n, uint32_t seed) {
  std::vector<float> v(n);
  for (auto& x : v) {
    seed = seed * 1664525u + 1013904223u;
    x = static_cast<float>(seed >> 8) / static_cast<float>(1u << 24) * 2.f - 1.f;
  }
  return v;
}

std::string opset20_model() {
  OnnxModelBuilder b(20, 10);
  b.input("x", {1, 4, 8, 8});
  b.floats("w", {8, 4, 3, 3}, pseudo_random(8 * 4 * 9, 7));
  b.floats("bias", {8}, pseudo_random(8, 11));
  auto& conv = b.node("Conv", {"x", "w", "bias"}, {"conv"}, "conv");
  OnnxModelBuilder::attr(conv, "pads", {1, 1, 1, 1});
  b.node("Mish", {"conv"}, {"mish"}, "mish");
  b.ints("spatial", {2, 3});
  b.node("ReduceMean", {"mish", "spatial"}, {"mean"}, "mean");
  b.node("Sub", {"mish", "mean"}, {"centered"}, "center");
  auto& split = b.node("Split", {"centered"}, {"a", "b"}, "split");
  OnnxModelBuilder::attr(split, "axis", int64_t{1});
  OnnxModelBuilder::attr(split, "num_outputs", int64_t{2});
  b.floats("scales", {4}, {1, 1, 2, 2});
  auto& resize = b.node("Resize", {"a", "", "scales"}, {"up"}, "resize");
  OnnxModelBuilder::attr(resize, "mode", std::string("nearest"));
  OnnxModelBuilder::attr(resize, "coordinate_transformation_mode", std::string("asymmetric"));
  OnnxModelBuilder::attr(resize, "nearest_mode", std::string("floor"));
  OnnxModelBuilder::attr(resize, "antialias", int64_t{0});
  OnnxModelBuilder::attr(resize, "keep_aspect_ratio_policy", std::string("stretch"));
  auto& pool = b.node("AveragePool", {"b"}, {"pool"}, "pool");
  OnnxModelBuilder::attr(pool, "kernel_shape", {3, 3});
  OnnxModelBuilder::attr(pool, "pads", {1, 1, 1, 1});
  OnnxModelBuilder::attr(pool, "dilations", {1, 1});
  b.ints("channels", {1});
  OnnxModelBuilder::attr(b.node("ReduceMax", {"pool", "channels"}, {"peak"}, "peak"), "keepdims", int64_t{0});
  b.node("Gelu", {"pool"}, {"gelu"}, "gelu");
  OnnxModelBuilder::attr(b.node("Gelu", {"gelu"}, {"gelu_tanh"}, "gelu_tanh"), "approximate",
                         std::string("tanh"));
  // Points past the image edge too (|g| up to 1.3), so the zeros padding is exercised.
  std::vector<float> points = pseudo_random(5 * 6 * 2, 19);
  for (auto& p : points)
    p *= 1.3f;
  b.floats("grid", {1, 5, 6, 2}, points);
  OnnxModelBuilder::attr(b.node("GridSample", {"gelu_tanh", "grid"}, {"sampled"}, "sample"), "mode",
                         std::string("linear"));
  b.output("up", {1, 4, 16, 16});
  b.output("pool", {1, 4, 8, 8});
  b.output("peak", {1, 8, 8});
  b.output("sampled", {1, 4, 5, 6});
  return b.bytes();
}

TEST(NewerOpsetParity, Opset20ModelMatchesOnnxRuntime) {
  const test::ScratchDir dir("partq_newer_opset");
  const std::string model = dir.write("opset20.onnx", opset20_model());
  auto graph = load_model(model);
  EXPECT_EQ(graph->file_opset, 20);
  const Tensor input = Tensor::from_float({1, 4, 8, 8}, pseudo_random(4 * 8 * 8, 3));
  const std::vector<Tensor> ours = Engine::create(*graph, {})->run({input});
  ASSERT_EQ(ours.size(), 4u);
  test::expect_outputs_near(ours, test::onnx_runtime_outputs(dir, model, input, 4), 1e-4);
}

}  // namespace
}  // namespace partq
