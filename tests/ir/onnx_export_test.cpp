// save -> load round trips; failed saves leave nothing behind.
#include <gtest/gtest.h>

#include <filesystem>

#include "partq/error.hpp"
#include "partq/onnx_io.hpp"
#include "test_util.hpp"

namespace partq {
namespace {

void expect_same_graph(const Graph& a, const Graph& b) {
  ASSERT_EQ(a.nodes().size(), b.nodes().size());
  for (size_t i = 0; i < a.nodes().size(); ++i) {
    const Node& x = *a.nodes()[i];
    const Node& y = *b.nodes()[i];
    EXPECT_EQ(x.name, y.name);
    EXPECT_EQ(x.op_type, y.op_type);
    ASSERT_EQ(x.attrs.size(), y.attrs.size()) << x.name;
    for (const auto& [key, value] : x.attrs) {
      ASSERT_TRUE(y.attrs.count(key)) << x.name << " " << key;
      if (const Tensor* t = std::get_if<Tensor>(&value)) {
        const Tensor* u = std::get_if<Tensor>(&y.attrs.at(key));
        ASSERT_NE(u, nullptr);
        EXPECT_EQ(t->shape, u->shape);
        EXPECT_EQ(t->bytes, u->bytes);
      } else {
        const AttrValue& other = y.attrs.at(key);
        ASSERT_EQ(value.index(), other.index()) << x.name << " " << key;
        std::visit(
            [&](const auto& v) {
              using T = std::decay_t<decltype(v)>;
              if constexpr (!std::is_same_v<T, Tensor>) {
                EXPECT_EQ(v, std::get<T>(other)) << x.name << " " << key;
              }
            },
            value);
      }
    }
    ASSERT_EQ(x.inputs.size(), y.inputs.size());
    for (size_t k = 0; k < x.inputs.size(); ++k)
      EXPECT_EQ(x.inputs[k] ? x.inputs[k]->name : "", y.inputs[k] ? y.inputs[k]->name : "");
  }
  size_t initializers = 0;
  for (const Value* v : a.values()) {
    if (!v->is_constant()) continue;
    ++initializers;
    const Value* w = b.find_value(v->name);
    ASSERT_NE(w, nullptr) << v->name;
    ASSERT_TRUE(w->is_constant());
    EXPECT_EQ(v->initializer->dtype, w->initializer->dtype);
    EXPECT_EQ(v->initializer->shape, w->initializer->shape);
    EXPECT_EQ(v->initializer->bytes, w->initializer->bytes) << v->name;
  }
  EXPECT_GT(initializers, 0u);
  EXPECT_EQ(a.metadata, b.metadata);
  EXPECT_EQ(a.opset, b.opset);
  ASSERT_EQ(a.outputs.size(), b.outputs.size());
  EXPECT_EQ(a.outputs[0]->shape, b.outputs[0]->shape);
  EXPECT_EQ(a.inputs[0]->shape, b.inputs[0]->shape);
}

class RoundTrip : public ::testing::TestWithParam<const char*> {};

TEST_P(RoundTrip, SaveLoadPreservesGraph) {
  auto original = load_onnx(test::model_path(GetParam()));
  const std::string path = test::temp_path(std::string("roundtrip_") + GetParam());
  save_onnx(*original, path);
  auto reloaded = load_onnx(path);
  expect_same_graph(*original, *reloaded);
  std::filesystem::remove(path);
}

INSTANTIATE_TEST_SUITE_P(Models, RoundTrip, ::testing::Values("yolov5n.onnx", "yolox_nano.onnx"));

TEST(OnnxExport, InvalidGraphIsRejectedAndNothingIsWritten) {
  Graph g;
  Value* x = g.add_value("x", DType::kFloat32, {1, 2});
  Value* y = g.add_value("y", DType::kFloat32, {1, 2});
  g.add_node("NoSuchOperator", {x}, {y});
  g.inputs = {x};
  g.outputs = {y};
  const std::string path = test::temp_path("invalid.onnx");
  std::filesystem::remove(path);
  EXPECT_THROW(save_onnx(g, path), Error);
  EXPECT_FALSE(std::filesystem::exists(path));
  for (const auto& entry : std::filesystem::directory_iterator(std::filesystem::path(path).parent_path()))
    EXPECT_EQ(entry.path().string().find("invalid.onnx"), std::string::npos) << entry.path();
}

TEST(OnnxExport, SmallGraphRoundTripsAttributesOfEveryKind) {
  Graph g;
  g.opset = 13;
  g.metadata["names"] = "{0: 'person'}";
  Value* x = g.add_value("x", DType::kFloat32, {1, 2, 4, 4});
  Value* y = g.add_value("y", DType::kFloat32, {1, 2, 2, 2});
  Node* pool = g.add_node("MaxPool", {x}, {y}, "pool");
  pool->attrs["kernel_shape"] = std::vector<int64_t>{2, 2};
  pool->attrs["strides"] = std::vector<int64_t>{2, 2};
  pool->attrs["auto_pad"] = std::string("NOTSET");
  Value* z = g.add_value("z", DType::kFloat32, {1, 2, 2, 2});
  Node* leaky = g.add_node("LeakyRelu", {y}, {z}, "leaky");
  leaky->attrs["alpha"] = 0.25f;
  g.inputs = {x};
  g.outputs = {z};
  auto back = load_onnx_from_bytes(serialize_onnx(g), "in-memory");
  EXPECT_EQ(back->find_node("pool")->attr_ints("kernel_shape"), (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(back->find_node("pool")->attr_string("auto_pad", ""), "NOTSET");
  EXPECT_EQ(back->find_node("leaky")->attr_float("alpha", 0), 0.25f);
  EXPECT_EQ(back->metadata.at("names"), "{0: 'person'}");
  EXPECT_EQ(back->find_value("y")->shape, (Shape{1, 2, 2, 2}));
}

}  // namespace
}  // namespace partq
