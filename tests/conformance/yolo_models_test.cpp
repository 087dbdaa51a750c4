// Both detector models compile and run end to end; output shapes as the models README says, all finite.
// (Exact parity with ONNX Runtime is checked elsewhere, by the parity tests.)
#include <gtest/gtest.h>
#include <partq/engine.hpp>
#include <partq/error.hpp>
#include <partq/onnx_io.hpp>
#include <partq/pipeline.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <random>

#include "../../src/ir/half.hpp"

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

// An export that pads with Pad nodes (PyTorch F.pad / ZeroPad2d, TensorFlow's SAME) instead of the Conv's own
// pads: yolov5n rewritten so, saved and loaded again, computes exactly what the original does, with no Pad
// step left (fold_pad_into_conv).
TEST(YoloModels, Yolov5nWithPadNodesInsteadOfConvPadsGivesTheSameOutput) {
  const std::string original = std::string(PARTQ_SHARED_DIR) + "/models/yolov5n.onnx";
  auto graph = load_onnx(original);
  int rewritten = 0;
  std::vector<Node*> convs;
  for (const auto& n : graph->nodes())
    if (n->op_type == "Conv") convs.push_back(n.get());
  for (Node* conv : convs) {
    const std::vector<int64_t> p = conv->attr_ints("pads", {0, 0, 0, 0});
    if (std::all_of(p.begin(), p.end(), [](int64_t v) { return v == 0; })) continue;
    Value* pads = graph->add_initializer(
        conv->name + "_pads",
        Tensor::from_int64({8}, std::vector<int64_t>{0, 0, p[0], p[1], 0, 0, p[2], p[3]}));
    Value* padded = graph->add_value(conv->name + "_padded");
    graph->add_node("Pad", {conv->input(0), pads}, {padded}, conv->name + "_pad");
    graph->set_input(conv, 0, padded);
    conv->attrs["pads"] = std::vector<int64_t>{0, 0, 0, 0};
    ++rewritten;
  }
  EXPECT_GT(rewritten, 10);  // every 3x3 and 6x6 conv
  graph->topological_sort();
  const std::string file = ::testing::TempDir() + "yolov5n_pad_nodes.onnx";
  save_onnx(*graph, file);
  auto reloaded = load_onnx(file);
  std::remove(file.c_str());
  auto engine = Engine::create(*reloaded);
  EXPECT_EQ(engine->describe().find("Pad"), std::string::npos);
  const Tensor image = random_image({1, 3, 640, 640}, 0.f, 1.f, 10);
  const Tensor want = Engine::create(*load_onnx(original))->run({image})[0];
  const Tensor got = engine->run({image})[0];
  ASSERT_EQ(got.shape, want.shape);
  EXPECT_TRUE(got.bytes == want.bytes);
}

// A half-precision export (how Ultralytics `--half` writes yolov5n: float16 weights, constants, input and
// output): load_model promotes it to float32 and it computes what the float32 model with the same
// float16-rounded weights computes, bit for bit.
TEST(YoloModels, Yolov5nFloat16ExportRunsAsFloat32) {
  const std::string original = std::string(PARTQ_SHARED_DIR) + "/models/yolov5n.onnx";
  auto half = load_onnx(original), rounded = load_onnx(original);
  auto to_half = [](const Tensor& t) {
    Tensor h(DType::kFloat16, t.shape);
    const std::vector<float> f = t.to_float();
    for (size_t i = 0; i < f.size(); ++i)
      h.as<uint16_t>()[i] = detail::float_to_half(f[i]);
    return h;
  };
  size_t halved = 0;
  for (Graph* g : {half.get(), rounded.get()}) {
    const bool keep_half = g == half.get();
    std::vector<Value*> values;
    for (const auto& n : g->nodes()) {
      for (auto& [key, attr] : n->attrs)
        if (auto* t = std::get_if<Tensor>(&attr); t && t->dtype == DType::kFloat32)
          attr = keep_half ? to_half(*t) : Tensor::from_float(t->shape, to_half(*t).to_float());
      for (Value* v : n->inputs)
        if (v) values.push_back(v);
      values.insert(values.end(), n->outputs.begin(), n->outputs.end());
    }
    for (Value* v : values) {
      if (v->initializer && v->initializer->dtype == DType::kFloat32) {
        const Tensor h = to_half(*v->initializer);
        v->initializer =
            std::make_shared<const Tensor>(keep_half ? h : Tensor::from_float(h.shape, h.to_float()));
        halved += keep_half;
      }
      if (keep_half && v->dtype == DType::kFloat32) v->dtype = DType::kFloat16;
    }
  }
  EXPECT_GT(halved, 100u);
  EXPECT_EQ(half->inputs[0]->dtype, DType::kFloat16);
  const std::string file = ::testing::TempDir() + "yolov5n_fp16.onnx";
  save_onnx(*half, file);
  auto promoted = load_model(file);
  std::remove(file.c_str());
  EXPECT_EQ(promoted->inputs[0]->dtype, DType::kFloat32);
  EXPECT_EQ(promoted->outputs[0]->dtype, DType::kFloat32);
  const Tensor image = random_image({1, 3, 640, 640}, 0.f, 1.f, 11);
  const Tensor want = Engine::create(*rounded)->run({image})[0];
  const Tensor got = Engine::create(*promoted)->run({image})[0];
  ASSERT_EQ(got.shape, want.shape);
  EXPECT_TRUE(got.bytes == want.bytes);
}

// An export with a dynamic batch axis (input [N,3,640,640]) runs at whatever batch the engine is given, as
// the fixed-batch export does.
TEST(YoloModels, Yolov5nWithADynamicBatchAxisRunsAtAnyBatch) {
  const std::string original = std::string(PARTQ_SHARED_DIR) + "/models/yolov5n.onnx";
  auto dynamic = load_onnx(original);
  dynamic->inputs[0]->shape[0] = -1;
  auto reloaded = load_onnx_from_bytes(serialize_onnx(*dynamic), "yolov5n-dynamic-batch");
  ASSERT_EQ(reloaded->inputs[0]->shape, (Shape{-1, 3, 640, 640}));
  Tensor two = random_image({2, 3, 640, 640}, 0.f, 1.f, 12);
  for (int batch : {1, 2}) {
    auto engine = Engine::create(*reloaded, {.batch = batch});
    ASSERT_EQ(engine->inputs()[0].shape, (Shape{batch, 3, 640, 640}));
    Tensor in = two;
    if (batch == 1) {
      in = Tensor(DType::kFloat32, {1, 3, 640, 640});
      std::copy(two.bytes.begin(), two.bytes.begin() + in.bytes.size(), in.bytes.begin());
    }
    const Tensor got = engine->run({in})[0];
    const Tensor want = Engine::create(*load_onnx(original), {.batch = batch})->run({in})[0];
    ASSERT_EQ(got.shape, (Shape{batch, 25200, 85}));
    EXPECT_TRUE(got.bytes == want.bytes) << "batch " << batch;
  }
}

// An export whose image height and width are dynamic needs a size before anything runs: the error says how.
TEST(YoloModels, DynamicImageSizeIsOneErrorSayingHowToFixIt) {
  auto g = load_onnx(std::string(PARTQ_SHARED_DIR) + "/models/yolov5n.onnx");
  g->inputs[0]->shape = {1, 3, -1, -1};
  auto dynamic = load_onnx_from_bytes(serialize_onnx(*g), "yolov5n-dynamic-size");
  for (const std::optional<std::string>& preset :
       {std::optional<std::string>{}, std::optional<std::string>{"yolov5"}})
    try {
      resolve_preset(*dynamic, preset);
      FAIL() << "expected an Error";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("partq convert MODEL --input-size HxW"), std::string::npos)
          << e.what();
    }
  EXPECT_THROW(Engine::create(*dynamic), Error);
}

// An Ultralytics export with dynamic height and width records the size it was exported at ("imgsz"):
// load_model gives the model that size, and it computes what the fixed-size export computes.
TEST(YoloModels, DynamicImageSizeTakesTheExportSizeFromTheMetadata) {
  const std::string original = std::string(PARTQ_SHARED_DIR) + "/models/yolov5n.onnx";
  auto g = load_onnx(original);
  g->inputs[0]->shape = {1, 3, -1, -1};
  const std::string path =
      (std::filesystem::temp_directory_path() / fmt::format("partq_imgsz_{}.onnx", ::getpid())).string();
  for (const char* imgsz : {"[640, 640]", "640"}) {
    SCOPED_TRACE(imgsz);
    g->metadata["imgsz"] = imgsz;
    save_onnx(*g, path);
    auto sized = load_model(path);
    ASSERT_EQ(sized->inputs[0]->shape, (Shape{1, 3, 640, 640}));
    const Tensor image = random_image({1, 3, 640, 640}, 0.f, 1.f, 13);
    const Tensor got = Engine::create(*sized)->run({image})[0];
    const Tensor want = Engine::create(*load_model(original))->run({image})[0];
    ASSERT_EQ(got.shape, want.shape);
    EXPECT_TRUE(got.bytes == want.bytes);
  }
  // Without it (or with a value that is not a size) the size stays dynamic and resolve_preset says how to fix
  // it.
  g->metadata["imgsz"] = "dynamic";
  save_onnx(*g, path);
  EXPECT_THROW(resolve_preset(*load_model(path), std::nullopt), Error);
  std::filesystem::remove(path);
}

TEST(YoloModels, YoloxNanoRunsWithTheDocumentedOutput) {
  expect_runs("yolox_nano.onnx", 255.f, {1, 3549, 85});
}

}  // namespace
}  // namespace partq
