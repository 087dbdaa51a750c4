// partq FP32 against ONNX Runtime (npm onnxruntime-node, driven by tools/ort/ort.js) on the real test models
// and photos: the same preprocessed input goes to both, and the raw outputs are compared element by element.
//
// Tolerance: |partq - ort| <= 2e-3 + 1e-4 * |ort|. Both runtimes compute in f32 but sum the 1,000s of
// products of each conv in a different order (oneDNN's blocked/JIT kernels vs ORT's MLAS), so results drift
// by a few ulps per layer through ~60 layers; the outputs are box coordinates up to 640 px (rtol 1e-4 = 0.064
// px) and probabilities in [0, 1] (atol 2e-3, far below any threshold NMS or mAP use). A wrong op (layout,
// padding, rounding mode, broadcasting) gives errors of whole pixels or tenths of probability, far outside
// this.
#include <gtest/gtest.h>
#include <partq/data.hpp>
#include <partq/engine.hpp>
#include <partq/pipeline.hpp>
#include <partq/util/npy.hpp>

#include <fmt/format.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>

namespace partq {
namespace {

namespace fs = std::filesystem;

struct Case {
  const char* model;
  const char* image;
};

void PrintTo(const Case& c, std::ostream* os) {
  *os << c.model << " on " << c.image;
}

std::string case_name(const testing::TestParamInfo<Case>& info) {
  std::string name = fmt::format("{}_{}", fs::path(info.param.model).stem().string(),
                                 fs::path(info.param.image).stem().string());
  for (char& c : name)
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  return name;
}

class ParityTest : public testing::TestWithParam<Case> {};

TEST_P(ParityTest, RawOutputsMatchOnnxRuntime) {
  const std::string model = fmt::format("{}/models/{}", PARTQ_SHARED_DIR, GetParam().model);
  const std::string image = fmt::format("{}/models/images/{}", PARTQ_SHARED_DIR, GetParam().image);
  const std::string ort_script = fmt::format("{}/tools/ort/ort.js", PARTQ_SOURCE_DIR);
  ASSERT_TRUE(fs::exists(fmt::format("{}/tools/ort/node_modules/onnxruntime-node", PARTQ_SOURCE_DIR)))
      << "onnxruntime-node is not installed: run scripts/install-deps.sh";

  auto graph = load_model(model);
  const Preset preset = resolve_preset(*graph, std::nullopt);
  Tensor input(DType::kFloat32, {1, 3, preset.input_h, preset.input_w});
  preprocess(read_image(image), preset.profile, preset.input_w, preset.input_h, input.as<float>());
  auto engine = Engine::create(*graph, {});
  const Tensor ours = engine->run({input}).front();

  const fs::path dir =
      fs::temp_directory_path() / fmt::format("partq_parity_{}_{}", ::getpid(), case_name({GetParam(), 0}));
  fs::create_directories(dir);
  write_npy((dir / "input.npy").string(), input);
  const std::string command =
      fmt::format("\"{}\" \"{}\" run \"{}\" --input \"{}\" --output \"{}\" --threads 2", PARTQ_NODE,
                  ort_script, model, (dir / "input.npy").string(), (dir / "ort").string());
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
  const Tensor theirs = read_npy((dir / "ort.0.npy").string());
  fs::remove_all(dir);

  ASSERT_EQ(ours.shape, theirs.shape);
  auto a = ours.as<float>();
  auto b = theirs.as<float>();
  double max_abs = 0;
  size_t worst = 0, violations = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    const double diff = std::fabs(double(a[i]) - double(b[i]));
    if (!(diff <= 2e-3 + 1e-4 * std::fabs(b[i]))) ++violations;
    if (!(diff <= max_abs)) max_abs = diff, worst = i;
  }
  RecordProperty("max_abs_diff", fmt::format("{:.3g}", max_abs));
  std::printf("%s: max |partq - ort| = %.3g at element %zu (partq %.6g, ort %.6g)\n",
              case_name({GetParam(), 0}).c_str(), max_abs, worst, a[worst], b[worst]);
  EXPECT_EQ(violations, 0u) << "max abs diff " << max_abs << " at element " << worst;
}

INSTANTIATE_TEST_SUITE_P(Models, ParityTest,
                         testing::Values(Case{"yolov5n.onnx", "bus.jpg"}, Case{"yolov5n.onnx", "dog.jpg"},
                                         Case{"yolox_nano.onnx", "bus.jpg"},
                                         Case{"yolox_nano.onnx", "dog.jpg"}),
                         case_name);

}  // namespace
}  // namespace partq
