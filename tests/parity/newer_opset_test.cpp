// A model written at opset 20 (IR 10) with the forms that changed after opset 17 (Mish, Reduce axes as an
// input, Split's num_outputs, Resize's and AveragePool's new attributes at their defaults): partq reads it
// through its opset-17 forms (onnx_newer_opsets.cpp), ONNX Runtime reads it as written, and the outputs must
// agree. Tolerance as in parity_test.cpp, at this model's scale: both compute in f32 in a different order.
#include <gtest/gtest.h>
#include <partq/engine.hpp>
#include <partq/pipeline.hpp>
#include <partq/util/npy.hpp>

#include <fmt/format.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "../ir/onnx_model_builder.hpp"

namespace partq {
namespace {

namespace fs = std::filesystem;
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
  b.output("up", {1, 4, 16, 16});
  b.output("pool", {1, 4, 8, 8});
  b.output("peak", {1, 8, 8});
  return b.bytes();
}

TEST(NewerOpsetParity, Opset20ModelMatchesOnnxRuntime) {
  ASSERT_TRUE(fs::exists(fmt::format("{}/tools/ort/node_modules/onnxruntime-node", PARTQ_SOURCE_DIR)))
      << "onnxruntime-node is not installed: run scripts/install-deps.sh";
  const fs::path dir = fs::temp_directory_path() / fmt::format("partq_newer_opset_{}", ::getpid());
  fs::create_directories(dir);
  const std::string model = (dir / "opset20.onnx").string();
  {
    std::ofstream out(model, std::ios::binary);
    out << opset20_model();
  }
  auto graph = load_model(model);
  EXPECT_EQ(graph->file_opset, 20);
  const std::vector<float> values = pseudo_random(4 * 8 * 8, 3);
  const Tensor input = Tensor::from_float({1, 4, 8, 8}, values);
  const std::vector<Tensor> ours = Engine::create(*graph, {})->run({input});

  write_npy((dir / "x.npy").string(), input);
  const std::string command =
      fmt::format("\"{}\" \"{}/tools/ort/ort.js\" run \"{}\" --input \"{}\" --output \"{}\" --threads 1",
                  PARTQ_NODE, PARTQ_SOURCE_DIR, model, (dir / "x.npy").string(), (dir / "ort").string());
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
  ASSERT_EQ(ours.size(), 3u);
  for (size_t k = 0; k < ours.size(); ++k) {
    const Tensor theirs = read_npy((dir / fmt::format("ort.{}.npy", k)).string());
    ASSERT_EQ(ours[k].shape, theirs.shape) << "output " << k;
    auto a = ours[k].as<float>();
    auto b = theirs.as<float>();
    for (size_t i = 0; i < a.size(); ++i)
      ASSERT_LE(std::fabs(a[i] - b[i]), 1e-4 + 1e-4 * std::fabs(b[i])) << "output " << k << " element " << i;
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace partq
