// An NMS-free detector exported end to end (YOLOv10, YOLO26: output [N, 300, 6] = x1 y1 x2 y2 score class),
// built from a real network: Ultralytics' v10postprocess (ReduceMax, TopK, Tile, GatherElements, Reshape,
// TopK, Mod, Div, GatherElements, Cast, Concat) appended to yolov5n's decoded predictions.
//  - The selection tail alone, fed yolov5n's real predictions for two photos, must give bit for bit what a
//    plain C++ reading of that postprocess gives, and what ONNX Runtime gives: every op in it is exact.
//  - The whole model must be recognised as end2end from the file alone and evaluate to a COCO mAP of the
//    same order as yolov5n's own (no NMS: the head keeps duplicates; wrong boxes or classes would score ~0).
#include <gtest/gtest.h>
#include <partq/data.hpp>
#include <partq/detect.hpp>
#include <partq/engine.hpp>
#include <partq/onnx_io.hpp>
#include <partq/pipeline.hpp>
#include <partq/ptq.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <numeric>

#include "graph_tail_builder.hpp"
#include "iou_warning.hpp"
#include "onnx_runtime_outputs.hpp"
#include "quick_quantize.hpp"
#include "val_eval.hpp"

namespace partq {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kMaxDet = 300;
constexpr int64_t kClasses = 80;

// YOLOv5 predictions [N, A, 5+C] (cx cy w h obj cls...) -> [N, 300, 6], as ultralytics v10postprocess on
// boxes xyxy and scores obj*cls.
Value* append_end2end_tail(Graph& g, Value* preds) {
  test::TailBuilder t(g);
  Value* xy = t.columns(preds, 0, 2);
  Value* half_wh = t.op("Mul", {t.columns(preds, 2, 4), t.scalar(0.5f)});
  Value* boxes =
      t.op("Concat", {t.op("Sub", {xy, half_wh}), t.op("Add", {xy, half_wh})}, {{"axis", int64_t{2}}});
  Value* scores = t.op("Mul", {t.columns(preds, 5, 5 + kClasses), t.columns(preds, 4, 5)});
  // max_scores.topk(max_det) over the anchors, then those anchors' class scores
  Value* max_scores =
      t.op("ReduceMax", {scores}, {{"axes", std::vector<int64_t>{-1}}, {"keepdims", int64_t{0}}});
  Value* anchor_index = t.ops("TopK", {max_scores, t.ints({kMaxDet})}, 2, {{"axis", int64_t{-1}}})[1];
  Value* column = t.op("Unsqueeze", {anchor_index, t.ints({-1})});
  Value* picked = t.op("GatherElements", {scores, t.op("Tile", {column, t.ints({1, 1, kClasses})})},
                       {{"axis", int64_t{1}}});
  // the best (anchor, class) pairs among them: flat index -> class (mod C) and anchor (div C)
  std::vector<Value*> best = t.ops("TopK", {t.op("Reshape", {picked, t.ints({0, -1})}), t.ints({kMaxDet})}, 2,
                                   {{"axis", int64_t{-1}}});
  Value* labels = t.op("Mod", {best[1], t.int_scalar(kClasses)});
  Value* anchors = t.op("GatherElements", {anchor_index, t.op("Div", {best[1], t.int_scalar(kClasses)})},
                        {{"axis", int64_t{1}}});
  Value* box_rows =
      t.op("GatherElements",
           {boxes, t.op("Tile", {t.op("Unsqueeze", {anchors, t.ints({-1})}), t.ints({1, 1, 4})})},
           {{"axis", int64_t{1}}});
  Value* score_col = t.op("Unsqueeze", {best[0], t.ints({-1})});
  Value* label_col = t.op("Cast", {t.op("Unsqueeze", {labels, t.ints({-1})})}, {{"to", int64_t{1}}});
  return t.op("Concat", {box_rows, score_col, label_col}, {{"axis", int64_t{-1}}});
}

// The same selection read straight from the postprocess's definition, for one image's predictions [A, 85].
std::vector<float> reference_rows(const float* p, int64_t anchors) {
  const int64_t stride = 5 + kClasses;
  std::vector<float> scores(anchors * kClasses), best(anchors);
  for (int64_t a = 0; a < anchors; ++a) {
    for (int64_t c = 0; c < kClasses; ++c)
      scores[a * kClasses + c] = p[a * stride + 5 + c] * p[a * stride + 4];
    best[a] = *std::max_element(&scores[a * kClasses], &scores[(a + 1) * kClasses]);
  }
  // descending by value, ties to the lower index
  auto top = [](const std::vector<float>& v, int64_t k) {
    std::vector<int64_t> order(v.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return v[a] > v[b]; });
    order.resize(k);
    return order;
  };
  const std::vector<int64_t> top_anchors = top(best, kMaxDet);
  std::vector<float> flat;
  for (int64_t a : top_anchors)
    flat.insert(flat.end(), &scores[a * kClasses], &scores[(a + 1) * kClasses]);
  std::vector<float> rows;
  for (int64_t f : top(flat, kMaxDet)) {
    const float* q = p + top_anchors[f / kClasses] * stride;
    const float hw = q[2] * 0.5f, hh = q[3] * 0.5f;
    rows.insert(rows.end(), {q[0] - hw, q[1] - hh, q[0] + hw, q[1] + hh, flat[f], float(f % kClasses)});
  }
  return rows;
}

std::string shared(const std::string& rel) {
  return fmt::format("{}/{}", PARTQ_SHARED_DIR, rel);
}

TEST(End2endHead, SelectionTailIsExactAgainstAReferenceAndOnnxRuntime) {
  // yolov5n's predictions for two photos: a batch of real score distributions.
  auto model = load_model(shared("models/yolov5n.onnx"));
  const Preset preset = resolve_preset(*model, std::nullopt);
  Tensor images(DType::kFloat32, {2, 3, preset.input_h, preset.input_w});
  const int64_t per_image = 3 * preset.input_h * preset.input_w;
  int64_t n = 0;
  for (const char* photo : {"models/images/bus.jpg", "models/images/dog.jpg"})
    preprocess(read_image(shared(photo)), preset.profile, preset.input_w, preset.input_h,
               images.as<float>().subspan(per_image * n++, per_image));
  const Tensor preds = Engine::create(*model, {.batch = 2})->run({images}).front();
  ASSERT_EQ(preds.shape, (Shape{2, 25200, 85}));

  Graph tail;
  Value* in = tail.add_value("preds", DType::kFloat32, preds.shape, true);
  tail.inputs.push_back(in);
  tail.outputs.push_back(append_end2end_tail(tail, in));
  const Tensor ours = Engine::create(tail, {})->run({preds}).front();
  ASSERT_EQ(ours.shape, (Shape{2, kMaxDet, 6}));

  for (int64_t b = 0; b < 2; ++b) {
    const std::vector<float> want = reference_rows(preds.as<float>().data() + b * 25200 * 85, 25200);
    ASSERT_EQ(
        std::memcmp(ours.as<float>().data() + b * kMaxDet * 6, want.data(), want.size() * sizeof(float)), 0)
        << "image " << b << ": first row " << ours.as<float>()[b * kMaxDet * 6 + 4] << " vs " << want[4];
  }
  EXPECT_GT(ours.as<float>()[4], 0.5f) << "the bus photo's best score";

  const test::ScratchDir dir("partq_end2end_tail");
  const std::string file = dir.file("tail.onnx");
  save_onnx(tail, file);
  const std::vector<Tensor> theirs = test::onnx_runtime_outputs(dir, file, preds, 1);
  ASSERT_EQ(theirs.size(), 1u);
  ASSERT_EQ(theirs[0].shape, ours.shape);
  EXPECT_EQ(std::memcmp(theirs[0].as<float>().data(), ours.as<float>().data(), ours.as<float>().size_bytes()),
            0);
}

// yolov5n with the end2end tail on its predictions, saved to `file` (output0 [1, 300, 6]).
void write_end2end_yolov5n(const std::string& file) {
  auto graph = load_onnx(shared("models/yolov5n.onnx"));
  Value* preds = graph->outputs.at(0);
  preds->name = "preds";
  graph->outputs = {append_end2end_tail(*graph, preds)};
  graph->outputs[0]->name = "output0";
  save_onnx(*graph, file);
}

TEST(End2endHead, Yolov5nWithAnEnd2endHeadIsRecognisedAndEvaluated) {
  const std::string ann = shared("data/coco/annotations/instances_val2017_subset.json");
  if (!fs::exists(ann)) GTEST_SKIP() << "COCO subset not found";
  const std::string original = shared("models/yolov5n.onnx");
  const test::ScratchDir dir("partq_end2end_model");
  const std::string file = dir.file("yolov5n_end2end.onnx");
  write_end2end_yolov5n(file);
  // To try the other commands (partq auto ...) on it: PARTQ_END2END_MODEL_OUT=FILE keeps a copy.
  if (const char* keep = std::getenv("PARTQ_END2END_MODEL_OUT"))
    fs::copy_file(file, keep, fs::copy_options::overwrite_existing);

  auto loaded = load_model(file);
  EXPECT_EQ(recognise_preset(model_signature(*loaded)), "end2end");
  EXPECT_EQ(resolve_preset(*loaded, std::nullopt).num_classes, 80);  // from the "names" metadata

  const EvalReport nms = test::eval_12_val_images(original), end2end = test::eval_12_val_images(file);
  EXPECT_EQ(end2end.preset, "end2end");
  EXPECT_EQ(end2end.images, nms.images);
  EXPECT_LE(end2end.detections, 12 * kMaxDet);
  std::printf("yolov5n mAP50-95 on 12 images: with NMS %.4f, end2end head %.4f (%lld vs %lld dets)\n",
              nms.coco.stats[0], end2end.coco.stats[0], static_cast<long long>(nms.detections),
              static_cast<long long>(end2end.detections));
  ASSERT_GT(nms.coco.stats[0], 0.1);
  EXPECT_GT(end2end.coco.stats[0], 0.5 * nms.coco.stats[0]);

  EXPECT_NE(test::stderr_of_eval_with_iou(file).find("warning: --iou has no effect: the end2end head"),
            std::string::npos);
}

// The Q/DQ export of the end2end model: Q/DQ only where the convs read, the selection tail left float, and
// ONNX Runtime runs the file to the same top detections as partq's simulation of it.
TEST(End2endHead, QdqExportKeepsTheSelectionFloatAndRunsInOnnxRuntime) {
  const test::ScratchDir dir("partq_end2end_qdq");
  write_end2end_yolov5n(dir.file("model.onnx"));
  test::quick_quantize(dir.file("model.onnx"), dir);

  auto exported = load_onnx(dir.file("q.onnx"));
  size_t dequantized_into_tail = 0, tail_nodes = 0;
  for (const auto& n : exported->nodes()) {
    if (n->op_type != "TopK" && n->op_type != "GatherElements" && n->op_type != "ReduceMax" &&
        n->op_type != "Mod")
      continue;
    ++tail_nodes;
    for (const Value* in : n->inputs)
      if (in && in->producer && in->producer->op_type == "DequantizeLinear") ++dequantized_into_tail;
  }
  EXPECT_EQ(tail_nodes, 7u);
  EXPECT_EQ(dequantized_into_tail, 0u);

  auto model = load_model(shared("models/yolov5n.onnx"));
  const Preset preset = resolve_preset(*model, std::nullopt);
  Tensor input(DType::kFloat32, {1, 3, preset.input_h, preset.input_w});
  preprocess(read_image(shared("models/images/bus.jpg")), preset.profile, preset.input_w, preset.input_h,
             input.as<float>());
  PreparedModel prepared = prepare_model(dir.file("q.onnx"));
  prepared.engine_options.int8_mode = EngineOptions::Int8Mode::kFakeQuant;
  const Tensor ours = Engine::create(*prepared.graph, prepared.engine_options)->run({input}).front();
  const std::vector<Tensor> theirs = test::onnx_runtime_outputs(dir, dir.file("q.onnx"), input, 1);
  ASSERT_EQ(theirs.size(), 1u);
  ASSERT_EQ(theirs[0].shape, ours.shape);
  const Tensor fp32 = Engine::create(*load_onnx(dir.file("model.onnx")))->run({input}).front();
  // Rows are (box, score, class), best first. Both runtimes compute the same Q/DQ arithmetic but round
  // differently in places (float summation order), which can swap rows of near-equal scores; the score column
  // is a sorted list either way. A wrong scale, axis or Q/DQ placement moves it as much as quantization does
  // (partq's simulation against FP32) or more, so the two runtimes must differ far less than that.
  auto mean_score_diff = [](const Tensor& x, const Tensor& y) {
    double sum = 0;
    for (int64_t r = 0; r < kMaxDet; ++r)
      sum += std::fabs(x.as<float>()[r * 6 + 4] - y.as<float>()[r * 6 + 4]);
    return sum / kMaxDet;
  };
  const double runtimes = mean_score_diff(ours, theirs[0]), quantization = mean_score_diff(ours, fp32);
  const auto a = ours.as<float>(), b = theirs[0].as<float>();
  std::printf(
      "bus.jpg: mean |score diff| over the 300 rows, partq vs ORT %.4f, partq vs FP32 %.4f; best row: partq "
      "%.1f %.1f %.1f %.1f score %.3f class %g, ORT %.1f %.1f %.1f %.1f score %.3f class %g\n",
      runtimes, quantization, a[0], a[1], a[2], a[3], a[4], a[5], b[0], b[1], b[2], b[3], b[4], b[5]);
  EXPECT_LT(runtimes, 0.5 * quantization);
  EXPECT_EQ(a[5], b[5]);
  EXPECT_GT(box_iou({a[0], a[1], a[2], a[3]}, {b[0], b[1], b[2], b[3]}), 0.9f);
}

}  // namespace
}  // namespace partq
