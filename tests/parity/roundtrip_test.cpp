// Export fidelity: a model written back to ONNX by partq and read again computes exactly what the original
// computes (same engine, same input), for both test models.
#include <gtest/gtest.h>
#include <partq/engine.hpp>
#include <partq/onnx_io.hpp>
#include <partq/pipeline.hpp>

#include <fmt/format.h>

#include <cstring>
#include <filesystem>
#include <random>

namespace partq {
namespace {

class RoundTripTest : public testing::TestWithParam<const char*> {};

TEST_P(RoundTripTest, ExportedModelGivesIdenticalOutputs) {
  const std::string model = fmt::format("{}/models/{}", PARTQ_SHARED_DIR, GetParam());
  const auto path =
      std::filesystem::temp_directory_path() / fmt::format("partq_roundtrip_{}_{}", ::getpid(), GetParam());
  save_onnx(*load_onnx(model), path.string());
  auto original = load_model(model);
  auto reloaded = load_model(path.string());
  std::filesystem::remove(path);

  auto engine_a = Engine::create(*original, {});
  auto engine_b = Engine::create(*reloaded, {});
  Tensor input(DType::kFloat32, engine_a->inputs().front().shape);
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> dist(0.f, 1.f);
  for (float& x : input.as<float>())
    x = dist(rng);
  const Tensor a = engine_a->run({input}).front();
  const Tensor b = engine_b->run({input}).front();
  ASSERT_EQ(a.shape, b.shape);
  EXPECT_EQ(std::memcmp(a.bytes.data(), b.bytes.data(), a.bytes.size()), 0);
}

INSTANTIATE_TEST_SUITE_P(Models, RoundTripTest, testing::Values("yolov5n.onnx", "yolox_nano.onnx"),
                         [](const auto& info) {
                           return std::string(info.param).substr(0, std::string(info.param).find('.'));
                         });

}  // namespace
}  // namespace partq
