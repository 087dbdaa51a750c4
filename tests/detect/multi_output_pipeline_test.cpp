// End to end through the pipeline: tiny ONNX detectors built in code (a 64 x 64 input, 84 grid cells), saved,
// recognised and evaluated on two COCO images. A two-output DAMO-YOLO-style head and a YOLOv6-style head
// with decoded boxes must be recognised from the file and decoded without error.
#include <gtest/gtest.h>
#include <partq/detect.hpp>
#include <partq/error.hpp>
#include <partq/onnx_io.hpp>
#include <partq/pipeline.hpp>

#include "shaped_graph.hpp"

#include <unistd.h>

#include <filesystem>
#include <memory>

namespace partq {
namespace {

namespace fs = std::filesystem;

// A 64x64 image and constant per-stride heads on it.
class Builder : public testing::ShapedGraph {
 public:
  Builder() : ShapedGraph(64) {}
  // Per stride, a 1x1 conv with zero weights and the given bias (a constant map), flattened and
  // concatenated over the three levels, then transposed: [1, 84, bias.size()].
  Value* head(const std::vector<float>& bias) {
    const int64_t k = static_cast<int64_t>(bias.size());
    std::vector<Value*> levels;
    for (int64_t stride : {8, 16, 32}) {
      const int64_t side = 64 / stride;
      Tensor b(DType::kFloat32, {k});
      std::copy(bias.begin(), bias.end(), b.as<float>().begin());
      Value* conv = op(
          "Conv",
          {image(), constant({k, 3, 1, 1}, 0.0f), graph().add_initializer(graph().unique_value_name("b"), b)},
          {1, k, side, side}, {{"strides", std::vector<int64_t>{stride, stride}}});
      levels.push_back(op("Reshape", {conv, ints({1, k, side * side})}, {1, k, side * side}));
    }
    Value* cat = op("Concat", levels, {1, k, 84}, {{"axis", int64_t{2}}});
    return op("Transpose", {cat}, {1, 84, k}, {{"perm", std::vector<int64_t>{0, 2, 1}}});
  }
  void output(Value* v, const std::string& name) {
    v->name = name;
    ShapedGraph::output(v);
  }
};

class MultiOutputPipeline : public ::testing::Test {
 protected:
  void SetUp() override {
    data_ = fs::path(PARTQ_SHARED_DIR) / "data" / "coco";
    if (!fs::exists(data_ / "annotations" / "instances_val2017_subset.json"))
      GTEST_SKIP() << "COCO subset not found under " << data_;
    dir_ = fs::temp_directory_path() / ("partq_detect_pipeline_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    if (!dir_.empty()) fs::remove_all(dir_, ec);
  }
  EvalReport eval(const std::string& model) {
    return evaluate_model({.model = model,
                           .images = (data_ / "images" / "val2017").string(),
                           .annotations = (data_ / "annotations" / "instances_val2017_subset.json").string(),
                           .limit = 2,
                           .threads = 1,
                           .quiet = true});
  }
  fs::path data_, dir_;
};

TEST_F(MultiOutputPipeline, DamoYoloTwoOutputs) {
  Builder b;
  // Every prediction: class probability 0.5 for each of 80 classes, box (8, 8, 40, 40) in input pixels.
  Value* scores = b.op("Sigmoid", {b.head(std::vector<float>(80, 0.0f))}, {1, 84, 80});
  b.output(scores, "scores");
  b.output(b.head({8, 8, 40, 40}), "boxes");
  const std::string path = (dir_ / "damo.onnx").string();
  save_onnx(b.graph(), path);

  const auto graph = load_model(path);
  EXPECT_EQ(recognise_preset(model_signature(*graph)), "damoyolo");
  const EvalReport report = eval(path);
  EXPECT_EQ(report.preset, "damoyolo");
  EXPECT_EQ(report.images, 2);
  // Identical boxes: class-aware NMS keeps one per class and image.
  EXPECT_EQ(report.detections, 2 * 80);

  const auto detected =
      detect_images({.model = path,
                     .images = {(data_ / "images" / "val2017" / "000000000139.jpg").string()},
                     .output_dir = (dir_ / "out").string(),
                     .threads = 1});
  ASSERT_EQ(detected.size(), 1u);
  // The demo thresholds take the best class only: all tie at 0.5, the first (person) wins.
  ASSERT_EQ(detected[0].detections.size(), 1u);
  EXPECT_EQ(detected[0].detections[0].category_id, 1);
  EXPECT_TRUE(fs::exists(detected[0].output));
}

TEST_F(MultiOutputPipeline, Yolov6DecodedSingleOutput) {
  Builder b;
  // Boxes (cx cy w h) = raw * 1 + 24 computed in the graph; objectness constant 1; class probabilities 0.5.
  Value* raw = b.head({0, 0, 0, 0});
  Value* boxes = b.op(
      "Add", {b.op("Mul", {raw, b.constant({1, 84, 1}, 1.0f)}, {1, 84, 4}), b.constant({1, 1, 4}, 24.0f)},
      {1, 84, 4});
  Value* cls = b.op("Sigmoid", {b.head(std::vector<float>(80, 0.0f))}, {1, 84, 80});
  b.output(b.op("Concat", {boxes, b.constant({1, 84, 1}, 1.0f), cls}, {1, 84, 85}, {{"axis", int64_t{2}}}),
           "output");
  const std::string path = (dir_ / "v6.onnx").string();
  save_onnx(b.graph(), path);
  const auto graph = load_model(path);
  EXPECT_EQ(box_encoding(*graph), BoxEncoding::kDecoded);
  EXPECT_EQ(recognise_preset(model_signature(*graph)), "yolov6");
  const EvalReport report = eval(path);
  EXPECT_EQ(report.preset, "yolov6");
  EXPECT_EQ(report.detections, 2 * 80);
}

TEST_F(MultiOutputPipeline, UnrecognisedOutputsNameTheModelAndItsOutputs) {
  Builder b;
  b.output(b.head({1, 2, 3}), "odd");  // [1, 84, 3]: no layout
  const std::string path = (dir_ / "odd.onnx").string();
  save_onnx(b.graph(), path);
  try {
    eval(path);
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("'odd' [1,84,3]"), std::string::npos) << message;
    EXPECT_NE(message.find("--preset"), std::string::npos) << message;
  }
  // Forcing the two-output preset on it: an Error naming the model and what the decoder needs.
  try {
    evaluate_model({.model = path,
                    .images = (data_ / "images" / "val2017").string(),
                    .annotations = (data_ / "annotations" / "instances_val2017_subset.json").string(),
                    .preset = "damoyolo",
                    .limit = 1,
                    .threads = 1,
                    .quiet = true});
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find(path), std::string::npos) << message;
    EXPECT_NE(message.find("two outputs"), std::string::npos) << message;
  }
}

}  // namespace
}  // namespace partq
