// canonicalize, remove_dead_nodes and fold_constants.
#include <gtest/gtest.h>

#include "partq/error.hpp"
#include "partq/onnx_io.hpp"
#include "partq/passes.hpp"
#include "test_util.hpp"

namespace partq {
namespace {

std::vector<int64_t> const_ints(const Value* v) {
  EXPECT_NE(v, nullptr);
  EXPECT_TRUE(v && v->is_constant());
  return v && v->initializer ? v->initializer->to_int64() : std::vector<int64_t>{};
}

TEST(Canonicalize, Opset11AttributesBecomeInputs) {
  Graph g;
  g.opset = 11;
  Value* x = g.add_value("x", DType::kFloat32, {1, 6, 1});
  Value* s = g.add_value("s");
  Value* a = g.add_value("a");
  Value* b = g.add_value("b");
  Value* u = g.add_value("u");
  g.add_node("Squeeze", {x}, {s}, "squeeze")->attrs["axes"] = std::vector<int64_t>{2};
  Node* split = g.add_node("Split", {s}, {a, b}, "split");
  split->attrs["split"] = std::vector<int64_t>{2, 4};
  split->attrs["axis"] = int64_t{1};
  g.add_node("Unsqueeze", {a}, {u}, "unsqueeze")->attrs["axes"] = std::vector<int64_t>{0};
  g.inputs = {x};
  g.outputs = {u, b};
  ASSERT_TRUE(canonicalize(g));
  g.verify();
  EXPECT_EQ(g.opset, 13);
  EXPECT_FALSE(g.find_node("split")->has_attr("split"));
  EXPECT_EQ(const_ints(g.find_node("split")->input(1)), (std::vector<int64_t>{2, 4}));
  EXPECT_EQ(const_ints(g.find_node("squeeze")->input(1)), (std::vector<int64_t>{2}));
  EXPECT_EQ(const_ints(g.find_node("unsqueeze")->input(1)), (std::vector<int64_t>{0}));
  // The result is a valid opset-13 model: ONNX checks and infers it.
  auto back = load_onnx_from_bytes(serialize_onnx(g), "canonical");
  EXPECT_EQ(back->find_value("u")->shape, (Shape{1, 1, 2}));
  EXPECT_FALSE(canonicalize(g));  // already opset 13
}

TEST(Canonicalize, Opset9UpsampleAndClip) {
  Graph g;
  g.opset = 9;
  Value* x = g.add_value("x", DType::kFloat32, {1, 2, 3, 3});
  Value* c = g.add_value("c");
  Value* up = g.add_value("up");
  Node* clip = g.add_node("Clip", {x}, {c}, "clip");
  clip->attrs["min"] = 0.0f;
  clip->attrs["max"] = 6.0f;
  Value* scales = g.add_initializer("scales", Tensor::from_float({4}, std::vector<float>{1, 1, 2, 2}));
  g.add_node("Upsample", {c, scales}, {up}, "upsample")->attrs["mode"] = std::string("nearest");
  g.inputs = {x};
  g.outputs = {up};
  ASSERT_TRUE(canonicalize(g));
  g.verify();
  const Node* resize = g.find_node("upsample");
  EXPECT_EQ(resize->op_type, "Resize");
  EXPECT_EQ(resize->input(1), nullptr);
  EXPECT_EQ(resize->input(2), scales);
  EXPECT_EQ(resize->attr_string("coordinate_transformation_mode", ""), "asymmetric");
  EXPECT_EQ(g.find_node("clip")->input(2)->initializer->to_float(), (std::vector<float>{6.0f}));
  auto back = load_onnx_from_bytes(serialize_onnx(g), "canonical");
  EXPECT_EQ(back->find_value("up")->shape, (Shape{1, 2, 6, 6}));
}

TEST(Canonicalize, SoftmaxOverNonLastAxisIsAnError) {
  Graph g;
  g.opset = 11;
  Value* x = g.add_value("x", DType::kFloat32, {1, 4, 5});
  Value* y = g.add_value("y");
  g.add_node("Softmax", {x}, {y}, "softmax");  // opset 11 default axis 1: flattens [4,5]
  g.inputs = {x};
  g.outputs = {y};
  try {
    canonicalize(g);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("softmax"), std::string::npos) << e.what();
  }
}

TEST(Canonicalize, YoloxNanoBecomesValidOpset13) {
  auto g = load_onnx(test::model_path("yolox_nano.onnx"));
  ASSERT_TRUE(canonicalize(*g));
  g->verify();
  auto back = load_onnx_from_bytes(serialize_onnx(*g), "yolox13");
  EXPECT_EQ(back->opset, 13);
  EXPECT_EQ(back->nodes().size(), 369u);
  EXPECT_EQ(back->outputs[0]->shape, (Shape{1, 3549, 85}));
}

TEST(RemoveDeadNodes, DropsBranchesThatReachNoOutput) {
  Graph g;
  Value* x = g.add_value("x", DType::kFloat32, {2});
  Value* live = g.add_value("live");
  Value* dead1 = g.add_value("dead1");
  Value* dead2 = g.add_value("dead2");
  g.add_node("Relu", {x}, {live}, "keep");
  g.add_node("Neg", {x}, {dead1}, "drop1");
  g.add_node("Abs", {dead1}, {dead2}, "drop2");
  g.inputs = {x};
  g.outputs = {live};
  EXPECT_TRUE(remove_dead_nodes(g));
  g.verify();
  ASSERT_EQ(g.nodes().size(), 1u);
  EXPECT_EQ(g.nodes()[0]->name, "keep");
  EXPECT_EQ(g.find_value("dead1"), nullptr);
  EXPECT_FALSE(remove_dead_nodes(g));
}

TEST(FoldConstants, ShapeSubgraphFoldsIntoReshapeTarget) {
  // x[2,3,4] -> Shape -> Gather(0) -> Unsqueeze(0) -> Concat(., [-1]) -> Reshape(x, .)   (a flatten by batch)
  Graph g;
  g.opset = 13;
  Value* x = g.add_value("x", DType::kFloat32, {2, 3, 4});
  auto v = [&](const char* name) { return g.add_value(name); };
  Value *shape = v("shape"), *dim0 = v("dim0"), *dim0u = v("dim0u"), *target = v("target"), *y = v("y");
  g.add_node("Shape", {x}, {shape});
  g.add_node("Gather", {shape, g.add_initializer("zero", Tensor::from_int64({}, std::vector<int64_t>{0}))},
             {dim0});
  g.add_node("Unsqueeze",
             {dim0, g.add_initializer("axes0", Tensor::from_int64({1}, std::vector<int64_t>{0}))}, {dim0u});
  g.add_node("Concat",
             {dim0u, g.add_initializer("minus1", Tensor::from_int64({1}, std::vector<int64_t>{-1}))},
             {target})
      ->attrs["axis"] = int64_t{0};
  g.add_node("Reshape", {x, target}, {y}, "reshape");
  g.inputs = {x};
  g.outputs = {y};
  ASSERT_TRUE(fold_constants(g));
  g.verify();
  ASSERT_EQ(g.nodes().size(), 1u);
  EXPECT_EQ(const_ints(g.find_node("reshape")->input(1)), (std::vector<int64_t>{2, -1}));
}

TEST(FoldConstants, ArithmeticSliceCastRange) {
  Graph g;
  g.opset = 13;
  Value* x = g.add_value("x", DType::kFloat32, {1});
  auto v = [&](const char* name) { return g.add_value(name); };
  Value *r = v("r"), *rf = v("rf"), *half = v("half"), *sl = v("sl"), *sum = v("sum"), *out = v("out");
  auto i64 = [&](const char* name, std::vector<int64_t> values) {
    return g.add_initializer(name, Tensor::from_int64({static_cast<int64_t>(values.size())}, values));
  };
  auto scalar = [&](const char* name, int64_t value) {
    return g.add_initializer(name, Tensor::from_int64({}, std::vector<int64_t>{value}));
  };
  g.add_node("Range", {scalar("start", 1), scalar("limit", 10), scalar("delta", 3)}, {r});  // 1 4 7
  g.add_node("Cast", {r}, {rf})->attrs["to"] = int64_t{1};                                  // float
  g.add_node("Div", {rf, g.add_initializer("two", Tensor::scalar_float(2))}, {half});       // .5 2 3.5
  g.add_node("Slice", {half, i64("s", {-2}), i64("e", {100})}, {sl});                       // 2 3.5
  g.add_node("Add", {sl, sl}, {sum});                                                       // 4 7
  g.add_node("Mul", {x, sum}, {out}, "consumer");  // not constant: stays
  g.inputs = {x};
  g.outputs = {out};
  ASSERT_TRUE(fold_constants(g));
  g.verify();
  ASSERT_EQ(g.nodes().size(), 1u);
  EXPECT_EQ(g.find_node("consumer")->input(1)->initializer->to_float(), (std::vector<float>{4.0f, 7.0f}));
}

TEST(FoldConstants, Yolov5nConstantNodesBecomeInitializers) {
  auto g = load_onnx(test::model_path("yolov5n.onnx"));
  ASSERT_TRUE(fold_constants(*g));
  g->verify();
  auto counts = test::op_counts(*g);
  EXPECT_EQ(counts["Constant"], 0);
  EXPECT_EQ(g->nodes().size(), 263u - 27u);
  EXPECT_EQ(counts["Reshape"], 6);
  auto back = load_onnx_from_bytes(serialize_onnx(*g), "folded");
  EXPECT_EQ(back->outputs[0]->shape, (Shape{1, 25200, 85}));
}

}  // namespace
}  // namespace partq

namespace partq {
namespace {

// The target-size input of a DETR post-processor: marked by name and shape, fed the image's width and height
// in its own type, one row per image; an image of unknown size is an error naming both inputs.
TEST(SizeInputs, MarkedByNameAndShapeAndFedInTheirOwnType) {
  Graph g;
  Value* image = g.add_value("images", DType::kFloat32, {3, 3, 32, 48}, true);
  Value* sizes = g.add_value("orig_target_sizes", DType::kFloat32, {3, 2}, true);
  Value* wrong_shape = g.add_value("target_sizes_hw", DType::kInt64, {3, 3}, true);
  g.inputs = {image, sizes, wrong_shape};
  EXPECT_TRUE(mark_size_inputs(g));
  EXPECT_EQ(g.size_inputs, (std::set<std::string>{"orig_target_sizes"}));
  EXPECT_FALSE(mark_size_inputs(g));  // nothing new
  const Tensor fed = size_input_value(g, *sizes);
  EXPECT_EQ(fed.dtype, DType::kFloat32);
  EXPECT_EQ(fed.to_float(), (std::vector<float>{48, 32, 48, 32, 48, 32}));
  sizes->dtype = DType::kInt32;
  EXPECT_EQ(size_input_value(g, *sizes).to_int64(), (std::vector<int64_t>{48, 32, 48, 32, 48, 32}));
  image->shape = {3, 3, -1, -1};
  try {
    size_input_value(g, *sizes);
    FAIL() << "a dynamic image size was fed";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cannot give it the size of image input 'images' [3,3,-1,-1]"),
              std::string::npos)
        << e.what();
  }
  // PaddleDetection's im_shape (height, width) and scale_factor (a scale of 1: boxes stay in input pixels).
  Graph paddle;
  Value* im_shape = paddle.add_value("im_shape", DType::kFloat32, {2, 2}, true);
  Value* scale_factor = paddle.add_value("scale_factor", DType::kFloat32, {2, 2}, true);
  paddle.inputs = {im_shape, paddle.add_value("image", DType::kFloat32, {2, 3, 32, 48}, true), scale_factor};
  EXPECT_TRUE(mark_size_inputs(paddle));
  EXPECT_EQ(paddle.size_inputs, (std::set<std::string>{"im_shape", "scale_factor"}));
  EXPECT_EQ(size_input_value(paddle, *im_shape).to_float(), (std::vector<float>{32, 48, 32, 48}));
  EXPECT_EQ(size_input_value(paddle, *scale_factor).to_float(), (std::vector<float>{1, 1, 1, 1}));
  EXPECT_EQ(size_input_meaning(*im_shape), "the image's height and width");
  EXPECT_EQ(size_input_meaning(*scale_factor), "a scale of 1");
  // Without an image input there is nothing to take the size from: nothing is marked.
  Graph alone;
  alone.inputs = {alone.add_value("orig_target_sizes", DType::kInt64, {1, 2}, true),
                  alone.add_value("other", DType::kFloat32, {1, 4}, true)};
  EXPECT_FALSE(mark_size_inputs(alone));
}

}  // namespace
}  // namespace partq
