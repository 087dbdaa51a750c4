// Models of opsets 18..22 and IR versions 9..12 (what current exporters write) are read through their
// opset-17 forms; forms without one are refused naming the node. The outputs of such a model are checked
// against ONNX Runtime in tests/parity/newer_opset_test.cpp.
#include <gtest/gtest.h>

#include <string>

#include "onnx_model_builder.hpp"
#include "partq/error.hpp"
#include "partq/onnx_io.hpp"
#include "test_util.hpp"

namespace partq {
namespace {

using test::OnnxModelBuilder;

std::string load_error(const std::string& bytes) {
  try {
    load_onnx_from_bytes(bytes, "newer.onnx");
  } catch (const Error& e) {
    return e.what();
  }
  return "(loaded)";
}

const Node* only_node(const Graph& g, const std::string& op) {
  const Node* found = nullptr;
  for (const auto& n : g.nodes())
    if (n->op_type == op) {
      EXPECT_EQ(found, nullptr) << "two " << op << " nodes";
      found = n.get();
    }
  return found;
}

// yolov5n's nodes mean the same at every opset up to 22; stamped with a newer opset and IR version (as a
// re-export with a current exporter would be), it loads as the same graph.
TEST(NewerOpsets, Yolov5nStampedWithANewerOpsetLoadsAsTheSameGraph) {
  const auto original = load_onnx(test::model_path("yolov5n.onnx"));
  onnx::ModelProto model;
  ASSERT_TRUE(model.ParseFromString(test::read_bytes(test::model_path("yolov5n.onnx"))));
  for (int64_t opset : {18, 19, 20, 21, 22}) {
    for (auto& imp : *model.mutable_opset_import())
      if (imp.domain().empty()) imp.set_version(opset);
    model.set_ir_version(10);
    auto g = load_onnx_from_bytes(model.SerializeAsString(), "yolov5n-restamped.onnx");
    EXPECT_EQ(g->opset, 17);
    EXPECT_EQ(g->file_opset, opset);
    EXPECT_EQ(g->ir_version, 8);
    EXPECT_EQ(test::op_counts(*g), test::op_counts(*original)) << "opset " << opset;
    EXPECT_EQ(g->outputs[0]->shape, original->outputs[0]->shape);
  }
}

TEST(NewerOpsets, Opset17WithANewerIrVersionLoads) {
  OnnxModelBuilder b(17, 10);
  b.input("x", {1, 4});
  b.node("Relu", {"x"}, {"y"});
  b.output("y", {1, 4});
  auto g = load_onnx_from_bytes(b.bytes(), "ir10.onnx");
  EXPECT_EQ(g->opset, 17);
  EXPECT_EQ(g->file_opset, 0);
  EXPECT_EQ(g->ir_version, 8);
}

TEST(NewerOpsets, ReduceAxesInputBecomesTheAttribute) {
  OnnxModelBuilder b(18);
  b.input("x", {1, 4, 8, 8});
  b.ints("axes", {2, 3});
  b.node("ReduceMean", {"x", "axes"}, {"m"}, "mean");
  // Axes from a Constant node are constant too.
  auto& c = b.node("Constant", {}, {"axes1"});
  {
    auto* a = c.add_attribute();
    a->set_name("value");
    a->set_type(onnx::AttributeProto::TENSOR);
    a->mutable_t()->set_data_type(onnx::TensorProto::INT64);
    a->mutable_t()->add_dims(1);
    a->mutable_t()->add_int64_data(1);
  }
  OnnxModelBuilder::attr(b.node("ReduceMax", {"x", "axes1"}, {"mx"}, "max"), "keepdims", int64_t{0});
  OnnxModelBuilder::attr(b.node("Constant", {}, {"axes2"}), "value_ints", {3});
  b.node("ReduceMin", {"x", "axes2"}, {"mn"}, "min");
  b.output("m", {1, 4, 1, 1});
  b.output("mx", {1, 8, 8});
  b.output("mn", {1, 4, 8, 1});
  auto g = load_onnx_from_bytes(b.bytes(), "reduce18.onnx");
  const Node* mean = g->find_node("mean");
  ASSERT_NE(mean, nullptr);
  EXPECT_EQ(mean->inputs.size(), 1u);
  EXPECT_EQ(mean->attr_ints("axes"), (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(mean->outputs[0]->shape, (Shape{1, 4, 1, 1}));
  const Node* mx = g->find_node("max");
  ASSERT_NE(mx, nullptr);
  EXPECT_EQ(mx->attr_ints("axes"), (std::vector<int64_t>{1}));
  EXPECT_EQ(mx->outputs[0]->shape, (Shape{1, 8, 8}));
  EXPECT_EQ(g->find_node("min")->attr_ints("axes"), (std::vector<int64_t>{3}));
  EXPECT_EQ(g->find_node("min")->outputs[0]->shape, (Shape{1, 4, 8, 1}));
}

TEST(NewerOpsets, ReduceWithoutAxesReducesAllOrIsANoOp) {
  OnnxModelBuilder b(18);
  b.input("x", {2, 3});
  b.node("ReduceMin", {"x"}, {"all"}, "all");
  OnnxModelBuilder::attr(b.node("ReduceMean", {"x"}, {"same"}, "noop"), "noop_with_empty_axes", int64_t{1});
  b.output("all", {1, 1});
  b.output("same", {2, 3});
  auto g = load_onnx_from_bytes(b.bytes(), "reduce_noop.onnx");
  EXPECT_EQ(g->find_node("all")->op_type, "ReduceMin");
  EXPECT_FALSE(g->find_node("all")->has_attr("axes"));
  EXPECT_EQ(g->find_node("noop")->op_type, "Identity");
  EXPECT_EQ(g->find_node("noop")->outputs[0]->shape, (Shape{2, 3}));
}

TEST(NewerOpsets, ReduceAxesComputedAtRunTimeAreRefusedNamingTheNode) {
  OnnxModelBuilder b(18);
  b.input("x", {1, 4, 8, 8});
  b.node("Shape", {"x"}, {"s"});
  b.node("ReduceMean", {"x", "s"}, {"m"}, "dynamic_mean");
  b.output("m", {1, 1, 1, 1});
  const std::string error = load_error(b.bytes());
  EXPECT_NE(error.find("newer.onnx: node 'dynamic_mean' (ReduceMean)"), std::string::npos) << error;
  EXPECT_NE(error.find("computed at run time"), std::string::npos) << error;
}

TEST(NewerOpsets, SplitNumOutputsIsDropped) {
  OnnxModelBuilder b(18);
  b.input("x", {1, 4, 2, 2});
  auto& split = b.node("Split", {"x"}, {"a", "b"}, "split");
  OnnxModelBuilder::attr(split, "axis", int64_t{1});
  OnnxModelBuilder::attr(split, "num_outputs", int64_t{2});
  b.output("a", {1, 2, 2, 2});
  b.output("b", {1, 2, 2, 2});
  auto g = load_onnx_from_bytes(b.bytes(), "split18.onnx");
  const Node* s = g->find_node("split");
  EXPECT_FALSE(s->has_attr("num_outputs"));
  EXPECT_EQ(s->outputs[1]->shape, (Shape{1, 2, 2, 2}));

  OnnxModelBuilder wrong(18);
  wrong.input("x", {1, 4, 2, 2});
  OnnxModelBuilder::attr(wrong.node("Split", {"x"}, {"a", "b"}, "split"), "num_outputs", int64_t{3});
  wrong.output("a", {1, 2, 2, 2});
  wrong.output("b", {1, 2, 2, 2});
  const std::string error = load_error(wrong.bytes());
  EXPECT_NE(error.find("node 'split' (Split): num_outputs is 3 but the node has 2 outputs"),
            std::string::npos)
      << error;
}

TEST(NewerOpsets, MishIsWrittenWithSoftplusTanhAndMul) {
  OnnxModelBuilder b(18);
  b.input("x", {1, 4});
  b.node("Mish", {"x"}, {"y"}, "act");
  b.output("y", {1, 4});
  auto g = load_onnx_from_bytes(b.bytes(), "mish.onnx");
  ASSERT_EQ(g->nodes().size(), 3u);
  const Node* mul = only_node(*g, "Mul");
  ASSERT_NE(mul, nullptr);
  EXPECT_EQ(mul->name, "act");  // the activation keeps its name (sensitivity reports name layers by it)
  EXPECT_EQ(mul->outputs[0]->name, "y");
  ASSERT_NE(mul->inputs[1]->producer, nullptr);
  ASSERT_EQ(mul->inputs[1]->producer->op_type, "Tanh");
  EXPECT_EQ(mul->inputs[1]->producer->inputs[0]->producer->op_type, "Softplus");
  EXPECT_EQ(mul->inputs[0]->name, "x");
}

TEST(NewerOpsets, DefaultValuedNewAttributesAreDropped) {
  OnnxModelBuilder b(19);
  b.input("x", {1, 2, 4, 4});
  b.floats("scales", {4}, {1, 1, 2, 2});
  auto& resize = b.node("Resize", {"x", "", "scales"}, {"up"}, "resize");
  OnnxModelBuilder::attr(resize, "mode", std::string("nearest"));
  OnnxModelBuilder::attr(resize, "antialias", int64_t{0});
  OnnxModelBuilder::attr(resize, "keep_aspect_ratio_policy", std::string("stretch"));
  auto& pool = b.node("AveragePool", {"x"}, {"p"}, "pool");
  OnnxModelBuilder::attr(pool, "kernel_shape", {3, 3});
  OnnxModelBuilder::attr(pool, "pads", {1, 1, 1, 1});
  OnnxModelBuilder::attr(pool, "dilations", {1, 1});
  auto& cast = b.node("Cast", {"x"}, {"c"}, "cast");
  OnnxModelBuilder::attr(cast, "to", int64_t{onnx::TensorProto::FLOAT16});
  OnnxModelBuilder::attr(cast, "saturate", int64_t{1});
  OnnxModelBuilder::attr(b.node("Cast", {"c"}, {"c32"}, "back"), "to", int64_t{onnx::TensorProto::FLOAT});
  b.output("up", {1, 2, 8, 8});
  b.output("p", {1, 2, 4, 4});
  b.output("c32", {1, 2, 4, 4});
  auto g = load_onnx_from_bytes(b.bytes(), "attrs19.onnx");
  EXPECT_FALSE(g->find_node("resize")->has_attr("antialias"));
  EXPECT_FALSE(g->find_node("resize")->has_attr("keep_aspect_ratio_policy"));
  EXPECT_EQ(g->find_node("resize")->outputs[0]->shape, (Shape{1, 2, 8, 8}));
  EXPECT_FALSE(g->find_node("pool")->has_attr("dilations"));
  EXPECT_FALSE(g->find_node("cast")->has_attr("saturate"));
}

TEST(NewerOpsets, QuantizeLinearOutputDtypeBecomesAZeroPoint) {
  OnnxModelBuilder b(21);
  b.input("x", {1, 4});
  b.floats("scale", {}, {0.1f});
  auto& q = b.node("QuantizeLinear", {"x", "scale"}, {"q"}, "q");
  OnnxModelBuilder::attr(q, "output_dtype", int64_t{onnx::TensorProto::INT8});
  OnnxModelBuilder::attr(q, "block_size", int64_t{0});
  b.node("DequantizeLinear", {"q", "scale"}, {"y"}, "dq");
  b.output("y", {1, 4});
  auto g = load_onnx_from_bytes(b.bytes(), "qdq21.onnx");
  const Node* qn = g->find_node("q");
  ASSERT_EQ(qn->inputs.size(), 3u);
  ASSERT_TRUE(qn->inputs[2]->is_constant());
  EXPECT_EQ(qn->inputs[2]->initializer->dtype, DType::kInt8);
  EXPECT_EQ(qn->inputs[2]->initializer->to_int64(), (std::vector<int64_t>{0}));
  EXPECT_EQ(qn->outputs[0]->dtype, DType::kInt8);
  EXPECT_FALSE(qn->has_attr("output_dtype"));
  EXPECT_FALSE(qn->has_attr("block_size"));
}

std::string resize_with(const char* attr_name, const std::string& value, int64_t opset) {
  OnnxModelBuilder b(opset);
  b.input("x", {1, 2, 4, 4});
  b.floats("scales", {4}, {1, 1, 2, 2});
  auto& resize = b.node("Resize", {"x", "", "scales"}, {"up"}, "resize");
  OnnxModelBuilder::attr(resize, "mode", std::string("linear"));
  if (std::string(attr_name) == "antialias")
    OnnxModelBuilder::attr(resize, attr_name, int64_t{1});
  else
    OnnxModelBuilder::attr(resize, attr_name, value);
  b.output("up", {1, 2, 8, 8});
  return b.bytes();
}

std::string one_node(const char* op, int64_t opset, void (*set)(onnx::NodeProto&)) {
  OnnxModelBuilder b(opset);
  b.input("x", {1, 2, 4, 4});
  set(b.node(op, {"x"}, {"y"}, "the_node"));
  b.output("y", {1, 2, 4, 4});
  return b.bytes();
}

TEST(NewerOpsets, FormsWithoutAnOpset17MeaningAreRefusedNamingTheNode) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {resize_with("antialias", "", 18), "node 'resize' (Resize): antialias (opset 18) is not supported"},
      {resize_with("keep_aspect_ratio_policy", "not_larger", 18),
       "keep_aspect_ratio_policy 'not_larger' (opset 18) is not supported"},
      {resize_with("coordinate_transformation_mode", "half_pixel_symmetric", 19),
       "'half_pixel_symmetric' (opset 19) is not supported"},
      {one_node("GroupNormalization", 21, [](onnx::NodeProto&) {}),
       "node 'the_node' (GroupNormalization): GroupNormalization in its opset-21 form is not supported"},
      {one_node("Gelu", 20,
                [](onnx::NodeProto& n) { OnnxModelBuilder::attr(n, "approximate", std::string("fast")); }),
       "node 'the_node' (Gelu): approximate 'fast' (none or tanh)"},
      {one_node("AveragePool", 19,
                [](onnx::NodeProto& n) {
                  OnnxModelBuilder::attr(n, "kernel_shape", {1, 1});
                  OnnxModelBuilder::attr(n, "dilations", {2, 2});
                }),
       "node 'the_node' (AveragePool): dilations other than 1 (opset 19) is not supported"},
      {one_node("Pad", 19,
                [](onnx::NodeProto& n) { OnnxModelBuilder::attr(n, "mode", std::string("wrap")); }),
       "Pad mode 'wrap' (opset 19) is not supported"},
  };
  for (const auto& [bytes, message] : cases) {
    const std::string error = load_error(bytes);
    EXPECT_NE(error.find(message), std::string::npos) << error;
  }
}

TEST(NewerOpsets, OpsetsAndIrVersionsBeyondTheNewestKnownAreRefused) {
  OnnxModelBuilder b(23);
  b.input("x", {1, 4});
  b.node("Relu", {"x"}, {"y"});
  b.output("y", {1, 4});
  EXPECT_NE(load_error(b.bytes()).find("newer.onnx: default-domain opset 23 is not supported (partq accepts "
                                       "1..22)"),
            std::string::npos)
      << load_error(b.bytes());
  OnnxModelBuilder ir(17, 13);
  ir.input("x", {1, 4});
  ir.node("Relu", {"x"}, {"y"});
  ir.output("y", {1, 4});
  EXPECT_NE(load_error(ir.bytes()).find("newer.onnx: ONNX IR version 13 is not supported"), std::string::npos)
      << load_error(ir.bytes());
}

}  // namespace
}  // namespace partq
