// A small DETR-style detector with the ops of Ultralytics RT-DETR, built in code (no RT-DETR file can be had
// offline): a conv backbone, a transformer encoder layer (LayerNormalization, single-head attention of
// MatMul / Softmax, a feed-forward with torch's opset-17 GELU: Div, Erf, Add, Mul), a decoder whose 10
// queries cross-attend to the encoder and sample the feature map at predicted points (GridSample, as
// multi-scale deformable attention does), and the RT-DETR output [1, 10, 4+80] (Sigmoid boxes as fractions of
// the input, Sigmoid class scores). Weights are pseudo-random: the test is about running and quantizing the
// graph faithfully, not about what it detects.
//  - FP32: partq's engine must match ONNX Runtime on a real photo.
//  - The file alone is recognised as rtdetr; calibration, quantization and Q/DQ export go through, and ONNX
//    Runtime runs the export to what partq's simulation of it computes, far closer than either is to FP32.
// And, for the decoding and the stretch on real detections: yolov5n with its predictions rewritten as 300
// RT-DETR queries must score a COCO mAP of the order of yolov5n's own.
#include <gtest/gtest.h>
#include <partq/data.hpp>
#include <partq/detect.hpp>
#include <partq/engine.hpp>
#include <partq/onnx_io.hpp>
#include <partq/pipeline.hpp>
#include <partq/ptq.hpp>

#include <cmath>
#include <filesystem>

#include "../ir/onnx_model_builder.hpp"
#include "graph_tail_builder.hpp"
#include "iou_warning.hpp"
#include "onnx_runtime_outputs.hpp"
#include "quick_quantize.hpp"
#include "val_eval.hpp"

namespace partq {
namespace {

namespace fs = std::filesystem;
using test::OnnxModelBuilder;

// 96 x 96: 189 grid cells, so 10 queries of 84 columns are told from a YOLOv8 head ([N, 4+C, 189]).
constexpr int64_t kSide = 96, kDim = 16, kQueries = 10, kClasses = 80, kTokens = (kSide / 8) * (kSide / 8);

std::string shared(const std::string& rel) {
  return fmt::format("{}/{}", PARTQ_SHARED_DIR, rel);
}

std::vector<float> pseudo_random(size_t n, uint32_t seed, float scale) {
  std::vector<float> v(n);
  for (auto& x : v) {
    seed = seed * 1664525u + 1013904223u;
    x = (static_cast<float>(seed >> 8) / static_cast<float>(1u << 24) * 2.f - 1.f) * scale;
  }
  return v;
}

class DetrBuilder {
 public:
  OnnxModelBuilder b{17, 8};

  void weights(const std::string& name, std::vector<int64_t> dims, float scale) {
    int64_t n = 1;
    for (int64_t d : dims)
      n *= d;
    b.floats(name, dims, pseudo_random(static_cast<size_t>(n), seed_++, scale));
  }
  std::string op(const std::string& type, std::initializer_list<std::string> inputs) {
    const std::string out = fmt::format("{}_{}", type, count_++);
    b.node(type, inputs, {out}, out);
    return out;
  }
  std::string transpose_last_two(const std::string& x) {
    const std::string out = op("Transpose", {x});
    OnnxModelBuilder::attr(last(), "perm", {0, 2, 1});
    return out;
  }
  std::string layer_norm(const std::string& x) {
    const std::string gamma = fmt::format("ln_gamma_{}", count_), beta = fmt::format("ln_beta_{}", count_);
    std::vector<float> g = pseudo_random(kDim, seed_++, 0.2f);
    for (float& v : g)
      v += 1.f;
    b.floats(gamma, {kDim}, g);
    weights(beta, {kDim}, 0.1f);
    return op("LayerNormalization", {x, gamma, beta});
  }
  // Single-head attention of `queries` over `keys` (the same tensor for self-attention), scaled by 1/sqrt(d).
  std::string attention(const std::string& queries, const std::string& keys, bool project) {
    std::string q = queries, k = keys, v = keys;
    if (project) {
      q = project_by(q, "wq");
      k = project_by(k, "wk");
      v = project_by(v, "wv");
    }
    const std::string scores = op("Mul", {op("MatMul", {q, transpose_last_two(k)}), "inv_sqrt_d"});
    const std::string probabilities = op("Softmax", {scores});
    OnnxModelBuilder::attr(last(), "axis", int64_t{-1});
    return op("MatMul", {probabilities, v});
  }
  std::string project_by(const std::string& x, const std::string& name) {
    const std::string w = fmt::format("{}_{}", name, count_);
    weights(w, {kDim, kDim}, 0.4f);
    return op("MatMul", {x, w});
  }
  std::string linear(const std::string& x, int64_t in, int64_t out, float scale) {
    const std::string w = fmt::format("w_{}", count_), bias = fmt::format("b_{}", count_);
    weights(w, {in, out}, scale);
    weights(bias, {out}, 0.1f);
    return op("Add", {op("MatMul", {x, w}), bias});
  }
  std::string gelu(const std::string& x) {  // torch below opset 20
    return op("Mul", {op("Mul", {x, op("Add", {op("Erf", {op("Div", {x, "sqrt2"})}), "one"})}), "half"});
  }
  onnx::NodeProto& last() {
    auto* nodes = b.model().mutable_graph()->mutable_node();
    return *nodes->Mutable(nodes->size() - 1);
  }

 private:
  uint32_t seed_ = 1;
  int count_ = 0;
};

std::string detr_model() {
  DetrBuilder d;
  auto& b = d.b;
  b.input("images", {1, 3, kSide, kSide});
  b.floats("inv_sqrt_d", {}, {0.25f});
  b.floats("sqrt2", {}, {std::sqrt(2.f)});
  b.floats("one", {}, {1.f});
  b.floats("half", {}, {0.5f});
  b.floats("two", {}, {2.f});
  // Backbone: two strided convs to a 12 x 12 feature map.
  d.weights("c1_w", {kDim, 3, 3, 3}, 0.5f);
  d.weights("c1_b", {kDim}, 0.1f);
  d.weights("c2_w", {kDim, kDim, 3, 3}, 0.2f);
  d.weights("c2_b", {kDim}, 0.1f);
  std::string x = d.op("Conv", {"images", "c1_w", "c1_b"});
  OnnxModelBuilder::attr(d.last(), "strides", {4, 4});
  OnnxModelBuilder::attr(d.last(), "pads", {1, 1, 1, 1});
  x = d.op("Relu", {x});
  x = d.op("Conv", {x, "c2_w", "c2_b"});
  OnnxModelBuilder::attr(d.last(), "strides", {2, 2});
  OnnxModelBuilder::attr(d.last(), "pads", {1, 1, 1, 1});
  const std::string feature = d.op("Relu", {x});
  // Encoder layer over the 144 tokens (post-norm, as RT-DETR's AIFI).
  b.ints("tokens_shape", {1, kDim, kTokens});
  const std::string tokens = d.transpose_last_two(d.op("Reshape", {feature, "tokens_shape"}));
  const std::string r1 = d.layer_norm(d.op("Add", {tokens, d.attention(tokens, tokens, true)}));
  const std::string ffn = d.linear(d.gelu(d.linear(r1, kDim, 2 * kDim, 0.3f)), 2 * kDim, kDim, 0.3f);
  const std::string encoded = d.layer_norm(d.op("Add", {r1, ffn}));
  // Decoder: learned queries attend to the encoder, then sample the feature map at predicted points.
  d.weights("queries", {1, kQueries, kDim}, 1.f);
  const std::string dec = d.layer_norm(d.op("Add", {"queries", d.attention("queries", encoded, false)}));
  const std::string points =
      d.op("Sub", {d.op("Mul", {d.op("Sigmoid", {d.linear(dec, kDim, 2, 0.5f)}), "two"}), "one"});
  b.ints("grid_shape", {1, kQueries, 1, 2});
  const std::string sampled = d.op("GridSample", {feature, d.op("Reshape", {points, "grid_shape"})});
  b.ints("sampled_shape", {1, kDim, kQueries});
  const std::string fused =
      d.op("Add", {dec, d.transpose_last_two(d.op("Reshape", {sampled, "sampled_shape"}))});
  // Heads: boxes (cx cy w h as fractions) and class scores, concatenated as Ultralytics' RT-DETR output.
  const std::string boxes = d.op("Sigmoid", {d.linear(fused, kDim, 4, 0.5f)});
  const std::string scores = d.op("Sigmoid", {d.linear(fused, kDim, kClasses, 0.5f)});
  b.node("Concat", {boxes, scores}, {"output0"}, "head_concat");
  OnnxModelBuilder::attr(d.last(), "axis", int64_t{-1});
  b.output("output0", {1, kQueries, 4 + kClasses});
  return b.bytes();
}

Tensor photo_input() {
  Tensor input(DType::kFloat32, {1, 3, kSide, kSide});
  preprocess(read_image(shared("models/images/bus.jpg")), PreprocessProfile::kUltralyticsStretch, kSide,
             kSide, input.as<float>());
  return input;
}

TEST(DetrHead, TransformerOpsMatchOnnxRuntime) {
  const test::ScratchDir dir("partq_detr_fp32");
  const std::string file = dir.write("detr.onnx", detr_model());
  // To try the other commands (partq auto, qat ...) on it: PARTQ_DETR_STYLE_MODEL_OUT=FILE keeps a copy.
  if (const char* keep = std::getenv("PARTQ_DETR_STYLE_MODEL_OUT"))
    fs::copy_file(file, keep, fs::copy_options::overwrite_existing);
  auto graph = load_model(file);
  size_t transformer_ops = 0;
  for (const auto& n : graph->nodes())
    transformer_ops +=
        n->op_type == "LayerNormalization" || n->op_type == "GridSample" || n->op_type == "Erf";
  EXPECT_EQ(transformer_ops, 5u);
  const Tensor input = photo_input();
  const std::vector<Tensor> ours = Engine::create(*graph, {})->run({input});
  test::expect_outputs_near(ours, test::onnx_runtime_outputs(dir, file, input, 1), 1e-4);
}

TEST(DetrHead, RecognisedQuantizedAndTheExportRunsInOnnxRuntime) {
  const test::ScratchDir dir("partq_detr_qdq");
  const std::string file = dir.write("detr.onnx", detr_model());
  auto graph = load_model(file);
  EXPECT_EQ(recognise_preset(model_signature(*graph)), "rtdetr");

  const std::string qdq = test::quick_quantize(file, dir);
  auto exported = load_onnx(qdq);
  // Q/DQ where the convs and the weight MatMuls read; the normalisation and sampling ops stay float.
  size_t dq_into_matmul = 0, dq_into_float_ops = 0;
  for (const auto& n : exported->nodes())
    for (const Value* in : n->inputs) {
      if (!in || !in->producer || in->producer->op_type != "DequantizeLinear") continue;
      dq_into_matmul += n->op_type == "MatMul";
      dq_into_float_ops += n->op_type == "LayerNormalization" || n->op_type == "GridSample" ||
                           n->op_type == "Softmax" || n->op_type == "Erf";
    }
  EXPECT_GT(dq_into_matmul, 0u);
  EXPECT_EQ(dq_into_float_ops, 0u);

  const Tensor input = photo_input();
  PreparedModel prepared = prepare_model(qdq);
  prepared.engine_options.int8_mode = EngineOptions::Int8Mode::kFakeQuant;
  const Tensor ours = Engine::create(*prepared.graph, prepared.engine_options)->run({input}).front();
  const std::vector<Tensor> theirs = test::onnx_runtime_outputs(dir, qdq, input, 1);
  ASSERT_EQ(theirs.size(), 1u);
  ASSERT_EQ(theirs[0].shape, ours.shape);
  const Tensor fp32 = Engine::create(*graph)->run({input}).front();
  auto mean_diff = [](const Tensor& x, const Tensor& y) {
    double sum = 0;
    for (size_t i = 0; i < x.as<float>().size(); ++i)
      sum += std::fabs(x.as<float>()[i] - y.as<float>()[i]);
    return sum / static_cast<double>(x.as<float>().size());
  };
  const double runtimes = mean_diff(ours, theirs[0]), quantization = mean_diff(ours, fp32);
  std::printf("DETR-style model, bus.jpg: mean |diff| partq vs ORT on the Q/DQ export %.6f, vs FP32 %.6f\n",
              runtimes, quantization);
  EXPECT_GT(quantization, 0.0);
  // As in end2end_head_test: the two runtimes compute the same Q/DQ arithmetic with different rounding
  // (ORT runs integer kernels), so they must differ far less than quantization moves the output.
  EXPECT_LT(runtimes, 0.5 * quantization);

  // The whole pipeline reads it as an RT-DETR: stretch preprocessing, DETR decoding, no NMS.
  const std::string ann = shared("data/coco/annotations/instances_val2017_subset.json");
  if (!fs::exists(ann)) GTEST_SKIP() << "COCO subset not found";
  const EvalReport report = evaluate_model({.model = file,
                                            .images = shared("data/coco/images/val2017"),
                                            .annotations = ann,
                                            .limit = 2,
                                            .quiet = true});
  EXPECT_EQ(report.preset, "rtdetr");
  EXPECT_EQ(report.images, 2);
  EXPECT_GT(report.detections, 0);
  EXPECT_LE(report.detections, 2 * kQueries);
}

// YOLOv5 predictions [N, A, 5+C] (cx cy w h in 640-pixel units, obj, cls) -> RT-DETR's output [N, 300, 4+C]:
// the 300 predictions with the best obj*cls, boxes as fractions of the input, class scores obj*cls.
void write_detr_yolov5n(const std::string& file) {
  auto graph = load_onnx(shared("models/yolov5n.onnx"));
  Value* preds = graph->outputs.at(0);
  preds->name = "preds";
  test::TailBuilder t(*graph);
  Value* boxes = t.op("Div", {t.columns(preds, 0, 4), t.scalar(640.f)});
  Value* scores = t.op("Mul", {t.columns(preds, 5, 5 + kClasses), t.columns(preds, 4, 5)});
  Value* rows = t.op("Concat", {boxes, scores}, {{"axis", int64_t{2}}});
  Value* best = t.op("ReduceMax", {scores}, {{"axes", std::vector<int64_t>{-1}}, {"keepdims", int64_t{0}}});
  Value* index = t.ops("TopK", {best, t.ints({300})}, 2, {{"axis", int64_t{-1}}})[1];
  Value* queries = t.op("GatherElements",
                        {rows, t.op("Tile", {t.op("Unsqueeze", {index, t.ints({-1})}), t.ints({1, 1, 84})})},
                        {{"axis", int64_t{1}}});
  queries->name = "output0";
  graph->outputs = {queries};
  save_onnx(*graph, file);
}

TEST(DetrHead, Yolov5nWithADetrHeadIsRecognisedAndEvaluated) {
  const std::string ann = shared("data/coco/annotations/instances_val2017_subset.json");
  if (!fs::exists(ann)) GTEST_SKIP() << "COCO subset not found";
  const test::ScratchDir dir("partq_detr_yolov5n");
  const std::string file = dir.file("yolov5n_detr.onnx");
  write_detr_yolov5n(file);
  // To try the other commands (partq auto ...) on it: PARTQ_DETR_MODEL_OUT=FILE keeps a copy.
  if (const char* keep = std::getenv("PARTQ_DETR_MODEL_OUT"))
    fs::copy_file(file, keep, fs::copy_options::overwrite_existing);
  EXPECT_EQ(recognise_preset(model_signature(*load_model(file))), "rtdetr");

  const std::string original = shared("models/yolov5n.onnx");
  const EvalReport letterboxed = test::eval_12_val_images(original);
  const EvalReport stretched = test::eval_12_val_images(original, "yolov5:ultralytics-stretch");
  const EvalReport detr = test::eval_12_val_images(file);
  EXPECT_EQ(detr.preset, "rtdetr");
  EXPECT_EQ(detr.images, 12);
  EXPECT_LE(detr.detections, 12 * 300);
  std::printf(
      "yolov5n mAP50-95 on 12 images: letterbox + NMS %.4f, stretch + NMS %.4f, stretch + 300 DETR-style "
      "queries without NMS %.4f (%lld dets)\n",
      letterboxed.coco.stats[0], stretched.coco.stats[0], detr.coco.stats[0],
      static_cast<long long>(detr.detections));
  ASSERT_GT(stretched.coco.stats[0], 0.1);
  // Boxes mapped back with the wrong scale or classes read from the wrong column score near 0; without NMS
  // the duplicates cost some mAP, as they do for the end2end head.
  EXPECT_GT(detr.coco.stats[0], 0.5 * stretched.coco.stats[0]);

  EXPECT_NE(test::stderr_of_eval_with_iou(file).find(
                "warning: --iou has no effect: the rtdetr head is decoded without NMS (one box per query)"),
            std::string::npos);
}

}  // namespace
}  // namespace partq
