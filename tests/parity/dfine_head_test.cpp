// A DETR exported with its post-processor, as RT-DETR(v2) / D-FINE / DEIM tools/export_onnx.py writes it:
// inputs images [N,3,640,640] and orig_target_sizes [N,2] (int64 width, height), outputs labels [N,300]
// (int64), boxes [N,300,4] (x1 y1 x2 y2 in target-size pixels) and scores [N,300], the 300 best (query,
// class) pairs of sigmoid(logits). No such file can be had offline, so the test gives yolov5n that head:
// its 300 best predictions become queries (cx cy w h as fractions and logits, what a DETR decoder outputs),
// followed by DFINEPostProcessor's ops in deploy mode. partq feeds the input size as the target size and maps
// the boxes back through the stretch:
//  - the detections must be ONNX Runtime's, run as D-FINE's onnx_inf.py runs it (the original size fed);
//  - the Q/DQ export keeps the size input, and ONNX Runtime runs it;
//  - the file alone is recognised as dfine and evaluated to a COCO mAP of the order of yolov5n's own.
#include <gtest/gtest.h>
#include <partq/data.hpp>
#include <partq/detect.hpp>
#include <partq/engine.hpp>
#include <partq/onnx_io.hpp>
#include <partq/pipeline.hpp>
#include <partq/ptq.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <set>

#include "graph_tail_builder.hpp"
#include "iou_warning.hpp"
#include "onnx_runtime_outputs.hpp"
#include "quick_quantize.hpp"
#include "val_eval.hpp"

namespace partq {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kClasses = 80, kTop = 300;

std::string shared(const std::string& rel) {
  return fmt::format("{}/{}", PARTQ_SHARED_DIR, rel);
}

// yolov5n's predictions [1, A, 85] -> a DETR decoder's outputs for 300 queries: pred_boxes (cx cy w h as
// fractions of the input) and pred_logits (the logits of obj * cls), then the post-processor.
void write_dfine_yolov5n(const std::string& file) {
  auto graph = load_onnx(shared("models/yolov5n.onnx"));
  Value* preds = graph->outputs.at(0);
  preds->name = "preds";
  test::TailBuilder t(*graph);
  Value* probabilities = t.op("Mul", {t.columns(preds, 5, 5 + kClasses), t.columns(preds, 4, 5)});
  Value* rows = t.op("Concat", {t.op("Div", {t.columns(preds, 0, 4), t.scalar(640.f)}), probabilities},
                     {{"axis", int64_t{2}}});
  Value* best =
      t.op("ReduceMax", {probabilities}, {{"axes", std::vector<int64_t>{-1}}, {"keepdims", int64_t{0}}});
  Value* picked = t.ops("TopK", {best, t.ints({kTop})}, 2, {{"axis", int64_t{-1}}})[1];
  Value* queries =
      t.op("GatherElements",
           {rows, t.op("Tile", {t.op("Unsqueeze", {picked, t.ints({-1})}), t.ints({1, 1, 4 + kClasses})})},
           {{"axis", int64_t{1}}});
  Value* pred_boxes = t.columns(queries, 0, 4);
  Value* p = t.op("Clip", {t.columns(queries, 4, 4 + kClasses), t.scalar(1e-6f), t.scalar(1 - 1e-6f)});
  Value* pred_logits = t.op("Log", {t.op("Div", {p, t.op("Sub", {t.scalar(1.f), p})})});

  // DFINEPostProcessor.forward, deploy mode, focal loss.
  Value* sizes = graph->add_value("orig_target_sizes", DType::kInt64, {1, 2}, true);
  graph->inputs.push_back(sizes);
  Value* centre = t.columns(pred_boxes, 0, 2);
  Value* half = t.op("Mul", {t.columns(pred_boxes, 2, 4), t.scalar(0.5f)});
  Value* corners =
      t.op("Concat", {t.op("Sub", {centre, half}), t.op("Add", {centre, half})}, {{"axis", int64_t{2}}});
  Value* scale = t.op("Cast", {t.op("Unsqueeze", {t.op("Tile", {sizes, t.ints({1, 2})}), t.ints({1})})},
                      {{"to", int64_t{1}}});
  Value* bbox_pred = t.op("Mul", {corners, scale});
  Value* flat = t.op("Flatten", {t.op("Sigmoid", {pred_logits})}, {{"axis", int64_t{1}}});
  const std::vector<Value*> top = t.ops("TopK", {flat, t.ints({kTop})}, 2, {{"axis", int64_t{-1}}});
  Value* classes = t.int_scalar(kClasses);
  Value* query = t.op("Div", {top[1], classes});
  Value* labels = t.op("Sub", {top[1], t.op("Mul", {query, classes})});  // mod(index, num_classes)
  Value* boxes =
      t.op("GatherElements",
           {bbox_pred, t.op("Tile", {t.op("Unsqueeze", {query, t.ints({-1})}), t.ints({1, 1, 4})})},
           {{"axis", int64_t{1}}});
  labels->name = "labels";
  boxes->name = "boxes";
  top[0]->name = "scores";
  graph->outputs = {labels, boxes, top[0]};
  save_onnx(*graph, file);
}

// bus.jpg stretched to 640 x 640 and its original width and height, as D-FINE's onnx_inf.py feeds them.
struct BusInputs {
  Tensor image{DType::kFloat32, {1, 3, 640, 640}};
  Letterbox letterbox;
  Tensor original_size;
  BusInputs() {
    const cv::Mat bgr = read_image(shared("models/images/bus.jpg"));
    letterbox = preprocess(bgr, PreprocessProfile::kUltralyticsStretch, 640, 640, image.as<float>());
    original_size = Tensor::from_int64({1, 2}, std::vector<int64_t>{bgr.cols, bgr.rows});
  }
};

class DfineHead : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new test::ScratchDir("partq_dfine");
    write_dfine_yolov5n(dir_->file("dfine.onnx"));
    // To try the other commands (partq auto ...) on it: PARTQ_DFINE_MODEL_OUT=FILE keeps a copy.
    if (const char* keep = std::getenv("PARTQ_DFINE_MODEL_OUT"))
      fs::copy_file(dir_->file("dfine.onnx"), keep, fs::copy_options::overwrite_existing);
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  static std::string model() { return dir_->file("dfine.onnx"); }
  static test::ScratchDir* dir_;
};

test::ScratchDir* DfineHead::dir_ = nullptr;

TEST_F(DfineHead, DetectionsAreOnnxRuntimesFedTheOriginalSize) {
  auto graph = load_model(model());
  EXPECT_EQ(graph->size_inputs, (std::set<std::string>{"orig_target_sizes"}));
  const Preset preset = resolve_preset(*graph, std::nullopt);
  EXPECT_EQ(preset.name, "dfine");
  const BusInputs bus;
  auto engine = Engine::create(*graph);
  ASSERT_EQ(engine->inputs().size(), 1u);  // the size is partq's to feed
  const Decoder decoder(preset.decoder, preset.input_w, preset.input_h, preset.demo);
  const int64_t id = 1;
  const std::vector<Detection> ours =
      decoder.decode(engine->run({bus.image}), std::span(&bus.letterbox, 1), std::span(&id, 1)).at(0);

  const std::vector<Tensor> theirs =
      test::onnx_runtime_outputs(*dir_, model(), {bus.image, bus.original_size}, 3);
  ASSERT_EQ(theirs.size(), 3u);
  const std::vector<int64_t> labels = theirs[0].to_int64();
  const std::vector<float> boxes = theirs[1].to_float(), scores = theirs[2].to_float();
  const size_t above = static_cast<size_t>(
      std::count_if(scores.begin(), scores.end(), [&](float s) { return s > preset.demo.conf_threshold; }));
  ASSERT_GE(above, 4u);  // the people and the bus
  ASSERT_EQ(ours.size(), above);
  const auto& categories = coco80_category_ids();
  double worst = 0;
  for (size_t k = 0; k < above; ++k) {  // both sorted by score
    EXPECT_EQ(ours[k].category_id, categories.at(static_cast<size_t>(labels[k]))) << k;
    EXPECT_NEAR(ours[k].score, scores[k], 1e-4) << k;
    const float* b = &boxes[4 * k];
    const std::array<float, 4> want = {b[0], b[1], b[2] - b[0], b[3] - b[1]};
    for (int c = 0; c < 4; ++c)
      worst = std::max(worst, std::fabs(static_cast<double>(ours[k].bbox[c] - want[c])));
  }
  std::printf(
      "D-FINE-style yolov5n, bus.jpg: %zu detections, largest box difference from ORT fed %lldx%lld: %.4f "
      "px\n",
      above, static_cast<long long>(bus.original_size.to_int64()[0]),
      static_cast<long long>(bus.original_size.to_int64()[1]), worst);
  EXPECT_LT(worst, 0.5);
}

TEST_F(DfineHead, TheExportKeepsTheSizeInputAndRunsInOnnxRuntime) {
  const test::ScratchDir dir("partq_dfine_qdq");
  const std::string qdq = test::quick_quantize(model(), dir);
  auto exported = load_onnx(qdq);
  ASSERT_EQ(exported->inputs.size(), 2u);
  EXPECT_EQ(exported->inputs[1]->name, "orig_target_sizes");
  EXPECT_EQ(exported->inputs[1]->dtype, DType::kInt64);
  // The post-processor stays float: no DequantizeLinear feeds its selection, nor any node downstream of the
  // size (boxes in pixels would lose whole pixels to an INT8 step).
  std::set<const Node*> after_size;
  std::vector<const Value*> todo = {exported->inputs[1]};
  while (!todo.empty()) {
    const Value* v = todo.back();
    todo.pop_back();
    for (const Node* c : v->consumers)
      if (after_size.insert(c).second) todo.insert(todo.end(), c->outputs.begin(), c->outputs.end());
  }
  EXPECT_GE(after_size.size(), 4u);  // Tile, Unsqueeze, Cast, Mul, GatherElements
  for (const auto& n : exported->nodes()) {
    if (n->op_type != "TopK" && n->op_type != "Flatten" && !after_size.count(n.get())) continue;
    for (const Value* in : n->inputs)
      EXPECT_FALSE(in && in->producer && in->producer->op_type == "DequantizeLinear") << n->name;
  }

  const BusInputs bus;
  PreparedModel prepared = prepare_model(qdq);
  prepared.engine_options.int8_mode = EngineOptions::Int8Mode::kFakeQuant;
  const std::vector<Tensor> ours = Engine::create(*prepared.graph, prepared.engine_options)->run({bus.image});
  const std::vector<Tensor> fp32 = Engine::create(*load_model(model()))->run({bus.image});
  const std::vector<Tensor> theirs = test::onnx_runtime_outputs(dir, qdq, {bus.image, bus.original_size}, 3);
  ASSERT_EQ(theirs.size(), 3u);
  ASSERT_EQ(ours.at(2).shape, theirs[2].shape);
  // The scores are sorted in every run: compare them rank by rank.
  auto mean_diff = [](const Tensor& x, const Tensor& y) {
    const std::vector<float> a = x.to_float(), b = y.to_float();
    double sum = 0;
    for (size_t i = 0; i < a.size(); ++i)
      sum += std::fabs(a[i] - b[i]);
    return sum / static_cast<double>(a.size());
  };
  const double runtimes = mean_diff(ours[2], theirs[2]), quantization = mean_diff(ours[2], fp32.at(2));
  std::printf(
      "D-FINE-style yolov5n, bus.jpg: mean |score diff| partq vs ORT on the Q/DQ export %.6f, vs FP32 %.6f\n",
      runtimes, quantization);
  EXPECT_GT(quantization, 0.0);
  EXPECT_LT(runtimes, 0.5 * quantization);
}

TEST_F(DfineHead, RecognisedAndEvaluatedFromTheFileAlone) {
  const std::string ann = shared("data/coco/annotations/instances_val2017_subset.json");
  if (!fs::exists(ann)) GTEST_SKIP() << "COCO subset not found";
  const EvalReport stretched =
      test::eval_12_val_images(shared("models/yolov5n.onnx"), "yolov5:ultralytics-stretch");
  const EvalReport dfine = test::eval_12_val_images(model());
  EXPECT_EQ(dfine.preset, "dfine");
  EXPECT_EQ(dfine.images, 12);
  EXPECT_LE(dfine.detections, 12 * kTop);
  std::printf(
      "yolov5n mAP50-95 on 12 images: stretch + NMS %.4f, as a D-FINE export (top 300 query-class pairs, no "
      "NMS) %.4f (%lld dets)\n",
      stretched.coco.stats[0], dfine.coco.stats[0], static_cast<long long>(dfine.detections));
  ASSERT_GT(stretched.coco.stats[0], 0.1);
  // Boxes mapped back with the wrong scale or labels read as the wrong classes score near 0; without NMS the
  // duplicates cost some mAP, as for the other NMS-free heads.
  EXPECT_GT(dfine.coco.stats[0], 0.5 * stretched.coco.stats[0]);
  // inspect says which input partq feeds.
  const ModelSummary summary = inspect_model(model());
  EXPECT_EQ(summary.size_inputs,
            (std::map<std::string, std::string>{{"orig_target_sizes", "the image's width and height"}}));
  EXPECT_EQ(summary.preset, "dfine");
  EXPECT_NE(format_summary(summary).find(
                "orig_target_sizes int64 [1,2]   (partq feeds the image's width and height)"),
            std::string::npos)
      << format_summary(summary);
  EXPECT_NE(test::stderr_of_eval_with_iou(model()).find("warning: --iou has no effect: the dfine head"),
            std::string::npos);
}

}  // namespace
}  // namespace partq
