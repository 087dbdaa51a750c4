// A tiny fluent builder for the quantization tests' graphs, and model / scratch paths.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "partq/ir.hpp"
#include "partq/onnx_io.hpp"
#include "partq/passes.hpp"

namespace partq::test {

inline std::string model_path(const std::string& file) {
  return std::string(PARTQ_SHARED_DIR) + "/models/" + file;
}

inline std::string temp_path(const std::string& file) {
  const auto dir = std::filesystem::path(PARTQ_BINARY_DIR) / "quant_test_tmp" / std::to_string(::getpid());
  std::filesystem::create_directories(dir);
  return (dir / file).string();
}

// What `partq` runs: the model after the standard preparation passes (as pipeline's load_model does).
inline std::unique_ptr<Graph> load_prepared(const std::string& file) {
  auto g = load_onnx(model_path(file));
  canonicalize(*g);
  fold_constants(*g);
  fold_batchnorm(*g);
  remove_dead_nodes(*g);
  return g;
}

// NCHW float graphs of 1x1 convs, named by the caller so that tests read like the graph they build.
class TinyGraph {
 public:
  TinyGraph() : g_(std::make_unique<Graph>()) { g_->opset = 13; }

  Value* input(const std::string& name, int64_t c, int64_t hw = 4) {
    Value* v = g_->add_value(name, DType::kFloat32, {1, c, hw, hw});
    g_->inputs.push_back(v);
    return v;
  }
  // 1x1 Conv with `out_c` output channels; weights are small distinct values, bias constant.
  Value* conv(const std::string& name, Value* x, int64_t out_c) {
    const int64_t in_c = x->shape[1];
    std::vector<float> w(static_cast<size_t>(out_c * in_c));
    for (size_t i = 0; i < w.size(); ++i)
      w[i] = 0.05f * static_cast<float>(static_cast<int>(i % 7) - 3);
    std::vector<float> b(static_cast<size_t>(out_c), 0.1f);
    Value* wv = g_->add_initializer(name + ".weight", Tensor::from_float({out_c, in_c, 1, 1}, w));
    Value* bv = g_->add_initializer(name + ".bias", Tensor::from_float({out_c}, b));
    Shape s = x->shape;
    s[1] = out_c;
    return op("Conv", name, {x, wv, bv}, s);
  }
  Value* silu(const std::string& name, Value* x) {
    Value* sig = op("Sigmoid", name + "/Sigmoid", {x}, x->shape);
    return op("Mul", name + "/Mul", {x, sig}, x->shape);
  }
  Value* constant(const std::string& name, float v) {
    return g_->add_initializer(name, Tensor::scalar_float(v));
  }
  Value* op(const std::string& type, const std::string& name, const std::vector<Value*>& inputs,
            Shape shape) {
    Value* out = g_->add_value(name + "_out", DType::kFloat32, std::move(shape));
    g_->add_node(type, inputs, {out}, name);
    return out;
  }
  Node* node(const std::string& name) { return g_->find_node(name); }
  void output(Value* v) { g_->outputs.push_back(v); }
  Graph& graph() { return *g_; }
  std::unique_ptr<Graph> take() { return std::move(g_); }

 private:
  std::unique_ptr<Graph> g_;
};

}  // namespace partq::test
