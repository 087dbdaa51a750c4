// set_batch on the reference detectors and on hand-built reshapes.
#include <gtest/gtest.h>

#include "partq/error.hpp"
#include "partq/onnx_io.hpp"
#include "partq/passes.hpp"
#include "test_util.hpp"

namespace partq {
namespace {

// The constant shape fed to a Reshape (initializer or Constant node), as int64.
std::vector<int64_t> reshape_target(const Node& reshape) {
  const Value* t = reshape.input(1);
  if (t->initializer) return t->initializer->to_int64();
  const Tensor* value = t->producer ? t->producer->attr_tensor("value") : nullptr;
  return value ? value->to_int64() : std::vector<int64_t>{};
}

TEST(SetBatch, Yolov5nReshapeTargetsAndShapes) {
  auto g = load_onnx(test::model_path("yolov5n.onnx"));
  set_batch(*g, 8);
  g->verify();
  EXPECT_EQ(g->inputs[0]->shape, (Shape{8, 3, 640, 640}));
  EXPECT_EQ(g->outputs[0]->shape, (Shape{8, 25200, 85}));
  int reshapes = 0;
  for (const auto& n : g->nodes()) {
    if (n->op_type != "Reshape") continue;
    ++reshapes;
    auto target = reshape_target(*n);
    ASSERT_FALSE(target.empty()) << n->name;
    EXPECT_EQ(target[0], 8) << n->name << " " << shape_str(target);
    EXPECT_EQ(n->outputs[0]->shape.at(0), 8) << n->name;  // shape inference re-ran
  }
  EXPECT_EQ(reshapes, 6);
  for (const auto& n : g->nodes())
    if (n->op_type == "Conv") {
      EXPECT_EQ(n->outputs[0]->shape.at(0), 8) << n->name;
    }
  // The re-specialised model is valid ONNX and its inferred output agrees.
  auto back = load_onnx_from_bytes(serialize_onnx(*g), "yolov5n-b8");
  EXPECT_EQ(back->outputs[0]->shape, (Shape{8, 25200, 85}));
  EXPECT_EQ(back->nodes().size(), g->nodes().size());
}

TEST(SetBatch, YoloxNano) {
  auto g = load_onnx(test::model_path("yolox_nano.onnx"));
  set_batch(*g, 4);
  g->verify();
  EXPECT_EQ(g->inputs[0]->shape, (Shape{4, 3, 416, 416}));
  EXPECT_EQ(g->outputs[0]->shape, (Shape{4, 3549, 85}));
  for (const auto& n : g->nodes())
    if (n->op_type == "Reshape") {
      EXPECT_EQ(n->outputs[0]->shape.at(0), 4) << n->name;
    }
  auto back = load_onnx_from_bytes(serialize_onnx(*g), "yolox-b4");
  EXPECT_EQ(back->outputs[0]->shape, (Shape{4, 3549, 85}));
}

TEST(SetBatch, BatchFoldedIntoAnotherDimIsRefused) {
  Graph g;
  g.opset = 13;
  // [1,6,4] -> [3,8] mixes the batch into dim 0 -> [1,24]: the first Reshape cannot follow a new batch.
  Value* x = g.add_value("x", DType::kFloat32, {1, 6, 4});
  Value* mixed = g.add_value("mixed", DType::kFloat32, {3, 8});
  Value* y = g.add_value("y", DType::kFloat32, {1, 24});
  g.add_node("Reshape", {x, g.add_initializer("t", Tensor::from_int64({2}, std::vector<int64_t>{3, 8}))},
             {mixed}, "flatten_all");
  g.add_node("Reshape",
             {mixed, g.add_initializer("t2", Tensor::from_int64({2}, std::vector<int64_t>{1, 24}))}, {y},
             "unflatten");
  g.inputs = {x};
  g.outputs = {y};
  try {
    set_batch(g, 2);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("flatten_all"), std::string::npos) << e.what();
  }
}

TEST(SetBatch, SharedTargetIsCopiedNotEdited) {
  Graph g;
  g.opset = 13;
  Value* x = g.add_value("x", DType::kFloat32, {1, 6});
  Value* y = g.add_value("y");
  Value* t = g.add_initializer("t", Tensor::from_int64({2}, std::vector<int64_t>{1, 6}));
  Value* other = g.add_value("other");
  g.add_node("Reshape", {x, t}, {y}, "reshape");
  g.add_node("Identity", {t}, {other}, "keeps_t");  // another user of the same constant
  g.inputs = {x};
  g.outputs = {y, other};
  set_batch(g, 3);
  g.verify();
  EXPECT_EQ(g.find_node("reshape")->input(1)->initializer->to_int64(), (std::vector<int64_t>{3, 6}));
  EXPECT_EQ(t->initializer->to_int64(), (std::vector<int64_t>{1, 6}));
  EXPECT_EQ(g.find_value("y")->shape, (Shape{3, 6}));
}

}  // namespace
}  // namespace partq

namespace partq {
namespace {

// An export with a dynamic image height and width (yolov5n's input made [1,3,H,W]) gets a fixed size and
// every shape follows; a size that is already fixed cannot be changed (the head's constants depend on it).
TEST(SetInputSize, DynamicImageDimsBecomeFixed) {
  auto g = load_onnx(test::model_path("yolov5n.onnx"));
  g->inputs[0]->shape = {1, 3, -1, -1};
  auto dynamic = load_onnx_from_bytes(serialize_onnx(*g), "yolov5n-dynamic-size");
  ASSERT_EQ(dynamic->inputs[0]->shape, (Shape{1, 3, -1, -1}));
  set_input_size(*dynamic, 640, 640);
  dynamic->verify();
  EXPECT_EQ(dynamic->inputs[0]->shape, (Shape{1, 3, 640, 640}));
  EXPECT_EQ(dynamic->outputs[0]->shape, (Shape{1, 25200, 85}));
  for (const auto& n : dynamic->nodes()) {
    if (n->op_type == "Conv") {
      EXPECT_TRUE(n->outputs[0]->has_shape) << n->name;
    }
  }
  try {
    set_input_size(*dynamic, 320, 320);
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("fixed at 640x640"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace partq
