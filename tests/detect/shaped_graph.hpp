// Small detector graphs built in code with a static shape on every value (box_encoding() and the ONNX writer
// read shapes), and the helpers the decoder tests share.
#pragma once

#include <gtest/gtest.h>
#include <partq/coco.hpp>
#include <partq/error.hpp>
#include <partq/ir.hpp>

#include <array>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace partq::testing {

// A graph with one image input [1, 3, side, side].
class ShapedGraph {
 public:
  explicit ShapedGraph(int64_t side) : g_(std::make_unique<Graph>()) {
    g_->opset = 13;
    image_ = g_->add_value("images", DType::kFloat32, {1, 3, side, side}, true);
    g_->inputs.push_back(image_);
  }
  Value* image() const { return image_; }
  Value* constant(Shape shape, float fill = 0.0f) {
    Tensor t(DType::kFloat32, shape);
    for (float& v : t.as<float>())
      v = fill;
    return g_->add_initializer(g_->unique_value_name("const"), std::move(t));
  }
  Value* ints(std::vector<int64_t> v) {
    return g_->add_initializer(g_->unique_value_name("ints"),
                               Tensor::from_int64({static_cast<int64_t>(v.size())}, v));
  }
  Value* op(const std::string& type, std::vector<Value*> inputs, Shape shape,
            std::map<std::string, AttrValue> attrs = {}) {
    return ops(type, std::move(inputs), {std::move(shape)}, std::move(attrs))[0];
  }
  std::vector<Value*> ops(const std::string& type, std::vector<Value*> inputs, std::vector<Shape> shapes,
                          std::map<std::string, AttrValue> attrs = {}) {
    const std::string name = g_->unique_node_name(type);
    std::vector<Value*> outs;
    for (Shape& s : shapes)
      outs.push_back(
          g_->add_value(g_->unique_value_name(name + "_out"), DType::kFloat32, std::move(s), true));
    g_->add_node(type, inputs, outs, name)->attrs = std::move(attrs);
    return outs;
  }
  void output(Value* v) { g_->outputs.push_back(v); }
  Graph& graph() { return *g_; }

 private:
  std::unique_ptr<Graph> g_;
  Value* image_;
};

// The Error message `f` throws, or "" when it throws none.
inline std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

inline void expect_detection(const Detection& d, int64_t image_id, int64_t category, float score,
                             std::array<float, 4> bbox) {
  EXPECT_EQ(d.image_id, image_id);
  EXPECT_EQ(d.category_id, category);
  EXPECT_FLOAT_EQ(d.score, score);
  for (int k = 0; k < 4; ++k)
    EXPECT_NEAR(d.bbox[k], bbox[k], 1e-4) << "bbox[" << k << "]";
}

}  // namespace partq::testing
