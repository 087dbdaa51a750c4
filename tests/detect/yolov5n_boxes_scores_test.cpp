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

#include "../parity/graph_tail_builder.hpp"

namespace partq {
namespace {

namespace fs = std::filesystem;

TEST(UnseenDetector, Yolov5nRewrittenAsBoxesAndScoresScoresTheSame) {
  const fs::path shared(PARTQ_SHARED_DIR);
  const fs::path ann = shared / "data" / "coco" / "annotations" / "instances_val2017_subset.json";
  if (!fs::exists(ann)) GTEST_SKIP() << "COCO subset not found";
  const std::string original = (shared / "models" / "yolov5n.onnx").string();
  auto graph = load_onnx(original);
  Value* out = graph->outputs.at(0);
  test::TailBuilder r(*graph);
  Value* xy = r.columns(out, 0, 2);
  Value* half_wh = r.op("Mul", {r.columns(out, 2, 4), r.scalar(0.5f)});
  Value* boxes =
      r.op("Concat", {r.op("Sub", {xy, half_wh}), r.op("Add", {xy, half_wh})}, {{"axis", int64_t{2}}});
  Value* scores = r.op("Mul", {r.columns(out, 5, 85), r.columns(out, 4, 5)});
  scores = r.op("Transpose", {scores}, {{"perm", std::vector<int64_t>{0, 2, 1}}});
  boxes->name = "boxes";
  scores->name = "scores";
  graph->outputs = {boxes, scores};

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
    // The yolov5 preset names the single-output decoder: the rewritten model needs boxes-scores, with the
    // yolov5 letterbox (ppyoloe's own is a stretch) and yolov5's thresholds.
    got = evaluate_model({.model = rewritten,
                          .images = (shared / "data" / "coco" / "images" / "val2017").string(),
                          .annotations = ann.string(),
                          .preset = "ppyoloe:yolov5-letterbox",
                          .conf = 0.001f,
                          .iou = 0.6f,
                          .limit = 12,
                          .batch = 4,
                          .threads = 2,
                          .quiet = true});
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

}  // namespace
}  // namespace partq
