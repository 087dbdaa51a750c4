// Both detector models compile and run end to end; output shapes as the models README says, all finite.
// (Exact parity with ONNX Runtime is checked elsewhere, by the parity tests.)
#include <gtest/gtest.h>
#include <partq/engine.hpp>
#include <partq/onnx_io.hpp>

#include <cmath>
#include <random>

namespace partq {
namespace {

Tensor random_image(const Shape& shape, float lo, float hi, unsigned seed) {
  Tensor t(DType::kFloat32, shape);
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  for (float& v : t.as<float>()) v = dist(rng);
  return t;
}

void expect_runs(const std::string& file, float input_max, const Shape& expected) {
  auto graph = load_onnx(std::string(PARTQ_SHARED_DIR) + "/models/" + file);
  auto engine = Engine::create(*graph);
  ASSERT_EQ(engine->inputs().size(), 1u);
  std::vector<Tensor> out = engine->run({random_image(engine->inputs()[0].shape, 0.f, input_max, 7)});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].shape, expected);
  size_t bad = 0;
  for (float v : out[0].as<float>()) bad += !std::isfinite(v);
  EXPECT_EQ(bad, 0u);
}

TEST(YoloModels, Yolov5nRunsWithTheDocumentedOutput) { expect_runs("yolov5n.onnx", 1.f, {1, 25200, 85}); }

TEST(YoloModels, YoloxNanoRunsWithTheDocumentedOutput) { expect_runs("yolox_nano.onnx", 255.f, {1, 3549, 85}); }

}  // namespace
}  // namespace partq
