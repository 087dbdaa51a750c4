// Both detector models compile and run end to end; output shapes as the models README says, all finite.
// (Exact parity with ONNX Runtime is checked elsewhere, by the parity tests.)
#include <gtest/gtest.h>
#include <partq/engine.hpp>
#include <partq/onnx_io.hpp>

#include <algorithm>
#include <cmath>
#include <random>

namespace partq {
namespace {

Tensor random_image(const Shape& shape, float lo, float hi, unsigned seed) {
  Tensor t(DType::kFloat32, shape);
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  for (float& v : t.as<float>())
    v = dist(rng);
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
  for (float v : out[0].as<float>())
    bad += !std::isfinite(v);
  EXPECT_EQ(bad, 0u);
}

TEST(YoloModels, Yolov5nRunsWithTheDocumentedOutput) {
  expect_runs("yolov5n.onnx", 1.f, {1, 25200, 85});
}

// Batch re-specialisation on a real export (Reshape targets hard-code the batch of 1): each image of a batch
// of 2 gives what it gives alone.
TEST(YoloModels, Yolov5nAtBatchTwoMatchesBatchOne) {
  auto graph = load_onnx(std::string(PARTQ_SHARED_DIR) + "/models/yolov5n.onnx");
  auto one = Engine::create(*graph);
  auto two = Engine::create(*graph, {.batch = 2});
  ASSERT_EQ(two->inputs()[0].shape, (Shape{2, 3, 640, 640}));
  Tensor a = random_image({1, 3, 640, 640}, 0.f, 1.f, 8), b = random_image({1, 3, 640, 640}, 0.f, 1.f, 9);
  Tensor ab(DType::kFloat32, {2, 3, 640, 640});
  std::copy(a.bytes.begin(), a.bytes.end(), ab.bytes.begin());
  std::copy(b.bytes.begin(), b.bytes.end(), ab.bytes.begin() + a.bytes.size());
  Tensor y = two->run({ab})[0];
  ASSERT_EQ(y.shape, (Shape{2, 25200, 85}));
  std::vector<float> ya = one->run({a})[0].to_float(), yb = one->run({b})[0].to_float(), yy = y.to_float();
  const size_t n = ya.size();
  float worst = 0;
  for (size_t i = 0; i < n; ++i)
    worst = std::max({worst, std::fabs(yy[i] - ya[i]) / (1.f + std::fabs(ya[i])),
                      std::fabs(yy[n + i] - yb[i]) / (1.f + std::fabs(yb[i]))});
  EXPECT_LT(worst, 1e-4f);
}

TEST(YoloModels, YoloxNanoRunsWithTheDocumentedOutput) {
  expect_runs("yolox_nano.onnx", 255.f, {1, 3549, 85});
}

}  // namespace
}  // namespace partq
