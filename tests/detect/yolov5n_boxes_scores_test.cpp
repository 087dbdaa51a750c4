// A real detector with a head partq was not written for: yolov5n's output [1, 25200, 85] rewritten in the
// graph into PP-YOLOE's two outputs, boxes [1, A, 4] (x1 y1 x2 y2) and class scores [1, 80, A] (obj * cls).
// Recognised from the file alone and evaluated with yolov5's thresholds, it must score what yolov5n scores:
// the same predictions reach NMS, only the layout differs.
#include <gtest/gtest.h>
#include <partq/detect.hpp>
#include <partq/onnx_io.hpp>
#include <partq/pipeline.hpp>

#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <set>

#include "../parity/graph_tail_builder.hpp"

namespace partq {
namespace {

namespace fs = std::filesystem;

// yolov5n's output rewritten as PP-YOLOE's boxes [1, A, 4] and scores [1, 80, A]. With `scale_factor`, as
// PaddleDetection's exclude_nms export: the boxes are divided by a second input scale_factor [1, 2] (scale_y,
// scale_x), which maps them to original pixels when the caller feeds the resize's scales.
std::unique_ptr<Graph> yolov5n_as_boxes_and_scores(const std::string& original, bool scale_factor) {
  auto graph = load_onnx(original);
  Value* out = graph->outputs.at(0);
  test::TailBuilder r(*graph);
  Value* xy = r.columns(out, 0, 2);
  Value* half_wh = r.op("Mul", {r.columns(out, 2, 4), r.scalar(0.5f)});
  Value* boxes =
      r.op("Concat", {r.op("Sub", {xy, half_wh}), r.op("Add", {xy, half_wh})}, {{"axis", int64_t{2}}});
  if (scale_factor) {
    Value* scales = graph->add_value("scale_factor", DType::kFloat32, {1, 2}, true);
    graph->inputs.push_back(scales);
    const std::vector<Value*> yx = r.ops("Split", {scales, r.ints({1, 1})}, 2, {{"axis", int64_t{-1}}});
    Value* xyxy = r.op("Concat", {yx[1], yx[0], yx[1], yx[0]}, {{"axis", int64_t{-1}}});
    boxes = r.op("Div", {boxes, r.op("Reshape", {xyxy, r.ints({-1, 1, 4})})});
  }
  Value* scores = r.op("Mul", {r.columns(out, 5, 85), r.columns(out, 4, 5)});
  scores = r.op("Transpose", {scores}, {{"perm", std::vector<int64_t>{0, 2, 1}}});
  boxes->name = "boxes";
  scores->name = "scores";
  graph->outputs = {boxes, scores};
  return graph;
}

EvalReport eval_as_ppyoloe(const fs::path& shared, const std::string& model) {
  // The yolov5 letterbox (ppyoloe's own is a stretch) and yolov5's thresholds, the model's own family's.
  return evaluate_model(
      {.model = model,
       .images = (shared / "data" / "coco" / "images" / "val2017").string(),
       .annotations = (shared / "data" / "coco" / "annotations" / "instances_val2017_subset.json").string(),
       .preset = "ppyoloe:yolov5-letterbox",
       .conf = 0.001f,
       .iou = 0.6f,
       .limit = 12,
       .batch = 4,
       .threads = 2,
       .quiet = true});
}

TEST(UnseenDetector, Yolov5nRewrittenAsBoxesAndScoresScoresTheSame) {
  const fs::path shared(PARTQ_SHARED_DIR);
  const fs::path ann = shared / "data" / "coco" / "annotations" / "instances_val2017_subset.json";
  if (!fs::exists(ann)) GTEST_SKIP() << "COCO subset not found";
  const std::string original = (shared / "models" / "yolov5n.onnx").string();
  auto graph = yolov5n_as_boxes_and_scores(original, /*scale_factor=*/false);

  const fs::path dir = fs::temp_directory_path() / ("partq_unseen_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string rewritten = (dir / "yolov5n_boxes_scores.onnx").string();
  save_onnx(*graph, rewritten);
  // To try the other commands (partq auto ...) on this model: PARTQ_UNSEEN_MODEL_OUT=FILE keeps a copy.
  if (const char* keep = std::getenv("PARTQ_UNSEEN_MODEL_OUT")) save_onnx(*graph, keep);

  EXPECT_EQ(recognise_preset(model_signature(*load_model(rewritten))), "ppyoloe");
  auto eval = [&](const std::string& model) {
    return evaluate_model({.model = model,
                           .images = (shared / "data" / "coco" / "images" / "val2017").string(),
                           .annotations = ann.string(),
                           .preset = "yolov5",  // preprocessing and thresholds of the model's own family
                           .limit = 12,
                           .batch = 4,
                           .threads = 2,
                           .quiet = true});
  };
  const EvalReport want = eval(original);
  EvalReport got;
  try {
    // The yolov5 preset names the single-output decoder: the rewritten model needs boxes-scores.
    got = eval_as_ppyoloe(shared, rewritten);
  } catch (...) {
    fs::remove_all(dir);
    throw;
  }
  fs::remove_all(dir);
  EXPECT_EQ(got.preset, "ppyoloe:yolov5-letterbox");
  EXPECT_EQ(got.images, want.images);
  ASSERT_GT(want.coco.stats[0], 0.1);
  // The two NMS implementations are both torchvision-exact, but Ultralytics' keeps at most 30000 candidates
  // and offsets boxes per class; on 12 images the mAP must agree to within rounding of a few detections.
  EXPECT_NEAR(got.coco.stats[0], want.coco.stats[0], 0.005) << "mAP50-95";
  EXPECT_NEAR(got.coco.stats[1], want.coco.stats[1], 0.005) << "mAP50";
  std::printf(
      "yolov5n mAP50-95 on 12 images: original %.4f, rewritten as boxes+scores %.4f (%lld vs %lld dets)\n",
      want.coco.stats[0], got.coco.stats[0], static_cast<long long>(want.detections),
      static_cast<long long>(got.detections));
}

// PaddleDetection's exclude_nms export reads scale_factor besides the image. partq feeds it a scale of 1, so
// the boxes stay in input pixels and are mapped back like the model's without that input: the same mAP,
// exactly.
TEST(UnseenDetector, Yolov5nAsPaddleDetectionExportWithScaleFactor) {
  const fs::path shared(PARTQ_SHARED_DIR);
  if (!fs::exists(shared / "data" / "coco" / "annotations" / "instances_val2017_subset.json"))
    GTEST_SKIP() << "COCO subset not found";
  const std::string original = (shared / "models" / "yolov5n.onnx").string();
  const fs::path dir = fs::temp_directory_path() / ("partq_scale_factor_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string plain = (dir / "plain.onnx").string(), scaled = (dir / "scale_factor.onnx").string();
  save_onnx(*yolov5n_as_boxes_and_scores(original, false), plain);
  save_onnx(*yolov5n_as_boxes_and_scores(original, true), scaled);
  // To try the other commands (partq auto ...) on it: PARTQ_SCALE_FACTOR_MODEL_OUT=FILE keeps a copy.
  if (const char* keep = std::getenv("PARTQ_SCALE_FACTOR_MODEL_OUT"))
    fs::copy_file(scaled, keep, fs::copy_options::overwrite_existing);
  const auto loaded = load_model(scaled);
  EXPECT_EQ(loaded->size_inputs, (std::set<std::string>{"scale_factor"}));
  EXPECT_EQ(recognise_preset(model_signature(*loaded)), "ppyoloe");
  EvalReport want, got;
  try {
    want = eval_as_ppyoloe(shared, plain);
    got = eval_as_ppyoloe(shared, scaled);
  } catch (...) {
    fs::remove_all(dir);
    throw;
  }
  fs::remove_all(dir);
  ASSERT_GT(want.coco.stats[0], 0.1);
  EXPECT_EQ(got.detections, want.detections);
  EXPECT_EQ(got.coco.stats[0], want.coco.stats[0]);
  std::printf(
      "yolov5n as PP-YOLOE on 12 images: mAP50-95 %.4f without scale_factor, %.4f with it fed by partq\n",
      want.coco.stats[0], got.coco.stats[0]);
}

}  // namespace
}  // namespace partq
