// Loading the two reference detectors and malformed files.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "partq/error.hpp"
#include "partq/onnx_io.hpp"
#include "test_util.hpp"

namespace partq {
namespace {

TEST(OnnxImport, Yolov5nOpCountsAndShapes) {
  auto g = load_onnx(test::model_path("yolov5n.onnx"));
  EXPECT_EQ(g->nodes().size(), 263u);
  auto counts = test::op_counts(*g);
  EXPECT_EQ(counts["Conv"], 60);
  EXPECT_EQ(counts["Sigmoid"], 60);
  EXPECT_EQ(counts["Mul"], 69);
  EXPECT_EQ(counts["Add"], 10);
  EXPECT_EQ(counts["Concat"], 17);
  EXPECT_EQ(counts["MaxPool"], 3);
  EXPECT_EQ(counts["Resize"], 2);
  EXPECT_EQ(counts["Reshape"], 6);
  EXPECT_EQ(counts["Transpose"], 3);
  EXPECT_EQ(counts["Split"], 3);
  EXPECT_EQ(counts["Pow"], 3);
  EXPECT_EQ(counts["Constant"], 27);
  EXPECT_EQ(g->opset, 17);
  ASSERT_EQ(g->inputs.size(), 1u);
  EXPECT_EQ(g->inputs[0]->name, "images");
  EXPECT_EQ(g->inputs[0]->shape, (Shape{1, 3, 640, 640}));
  EXPECT_EQ(g->inputs[0]->dtype, DType::kFloat32);
  ASSERT_EQ(g->outputs.size(), 1u);
  EXPECT_EQ(g->outputs[0]->name, "output0");
  EXPECT_EQ(g->outputs[0]->shape, (Shape{1, 25200, 85}));
  EXPECT_TRUE(g->metadata.count("names"));
  EXPECT_TRUE(g->metadata.count("stride"));
  // Shape inference filled the intermediate values: every Conv output has a known 4D shape.
  for (const auto& n : g->nodes()) {
    if (n->op_type != "Conv") continue;
    EXPECT_TRUE(n->outputs[0]->has_shape) << n->name;
    EXPECT_EQ(n->outputs[0]->shape.size(), 4u) << n->name;
    EXPECT_EQ(n->outputs[0]->dtype, DType::kFloat32) << n->name;
  }
  // 1,867,405 parameters, all in initializers.
  int64_t params = 0;
  for (const Value* v : g->values())
    if (v->is_constant() && v->dtype == DType::kFloat32 && !v->consumers.empty() &&
        v->consumers[0]->op_type == "Conv")
      params += v->initializer->numel();
  EXPECT_EQ(params, 1867405);
  g->verify();
}

TEST(OnnxImport, YoloxNanoOpCountsAndShapes) {
  auto g = load_onnx(test::model_path("yolox_nano.onnx"));
  EXPECT_EQ(g->nodes().size(), 369u);
  auto counts = test::op_counts(*g);
  EXPECT_EQ(counts["Conv"], 113);
  EXPECT_EQ(counts["Sigmoid"], 110);
  EXPECT_EQ(counts["Mul"], 104);
  EXPECT_EQ(counts["Add"], 7);
  EXPECT_EQ(counts["Concat"], 18);
  EXPECT_EQ(counts["Slice"], 8);
  EXPECT_EQ(counts["MaxPool"], 3);
  EXPECT_EQ(counts["Resize"], 2);
  EXPECT_EQ(counts["Reshape"], 3);
  EXPECT_EQ(counts["Transpose"], 1);
  EXPECT_EQ(g->opset, 11);
  ASSERT_EQ(g->inputs.size(), 1u);  // initializers listed as graph inputs are not feeds
  EXPECT_EQ(g->inputs[0]->name, "images");
  EXPECT_EQ(g->inputs[0]->shape, (Shape{1, 3, 416, 416}));
  ASSERT_EQ(g->outputs.size(), 1u);
  EXPECT_EQ(g->outputs[0]->shape, (Shape{1, 3549, 85}));
  int depthwise = 0;
  for (const auto& n : g->nodes())
    if (n->op_type == "Conv" && n->attr_int("group", 1) > 1) ++depthwise;
  EXPECT_EQ(depthwise, 30);
  g->verify();
}

TEST(OnnxImport, MissingFileNamesThePath) {
  const std::string path = test::temp_path("does_not_exist.onnx");
  try {
    load_onnx(path);
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
}

TEST(OnnxImport, TruncatedFileNamesThePath) {
  const std::string bytes = test::read_bytes(test::model_path("yolov5n.onnx"));
  const std::string path = test::temp_path("truncated.onnx");
  test::write_bytes(path, bytes.substr(0, 1000));
  try {
    load_onnx(path);
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
  std::filesystem::remove(path);
}

TEST(OnnxImport, GarbageBytesAreAnError) {
  EXPECT_THROW(load_onnx_from_bytes("this is not a protobuf at all", "garbage"), Error);
}

TEST(OnnxImport, NodeTestModelLoads) {
  auto g = load_onnx(std::string(PARTQ_ONNX_TESTDATA_DIR) + "/test_relu/model.onnx");
  ASSERT_EQ(g->nodes().size(), 1u);
  EXPECT_EQ(g->nodes()[0]->op_type, "Relu");
  EXPECT_FALSE(g->nodes()[0]->name.empty());  // unnamed in the file: a generated name
}

}  // namespace
}  // namespace partq
