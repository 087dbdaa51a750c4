// Helpers for engine tests: build small graphs in code, random tensors with fixed seeds, compare results.
#pragma once

#include <gtest/gtest.h>
#include <partq/engine.hpp>
#include <partq/ir.hpp>

#include <cmath>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

// For tests of the s8 convolution kernels themselves (their steps, their fusions): on a CPU without VNNI the
// engine runs INT8 convolutions in f32 instead (partq::int8_convolutions_run_in_s8), so there is nothing to
// test.
#define PARTQ_SKIP_WITHOUT_S8_CONVS()        \
  if (!partq::int8_convolutions_run_in_s8()) \
  GTEST_SKIP() << "this CPU has no VNNI: INT8 convolutions run in f32 (int8_convolutions_run_in_s8)"

namespace partq::test {

inline Tensor random_tensor(const Shape& shape, unsigned seed, float lo = -1.f, float hi = 1.f) {
  Tensor t(DType::kFloat32, shape);
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  for (float& v : t.as<float>())
    v = dist(rng);
  return t;
}

// A fluent builder: each op() adds one node with a fresh output value.
class GraphBuilder {
 public:
  GraphBuilder() : graph_(std::make_unique<Graph>()) {}

  Value* input(const std::string& name, const Shape& shape, DType dtype = DType::kFloat32) {
    Value* v = graph_->add_value(name, dtype, shape, true);
    graph_->inputs.push_back(v);
    return v;
  }
  Value* constant(const std::string& name, Tensor t) { return graph_->add_initializer(name, std::move(t)); }
  Value* ints(const std::string& name, std::vector<int64_t> v) {
    return constant(name, Tensor::from_int64({static_cast<int64_t>(v.size())}, v));
  }
  Value* op(const std::string& type, std::vector<Value*> inputs, std::map<std::string, AttrValue> attrs = {},
            const std::string& name = "") {
    return ops(type, std::move(inputs), 1, std::move(attrs), name)[0];
  }
  std::vector<Value*> ops(const std::string& type, std::vector<Value*> inputs, int n_out,
                          std::map<std::string, AttrValue> attrs = {}, const std::string& name = "") {
    std::string node_name = name.empty() ? graph_->unique_node_name(type) : name;
    std::vector<Value*> outs;
    for (int i = 0; i < n_out; ++i)
      outs.push_back(graph_->add_value(graph_->unique_value_name(node_name + "_out")));
    Node* n = graph_->add_node(type, inputs, outs, node_name);
    n->attrs = std::move(attrs);
    return outs;
  }
  void output(Value* v) { graph_->outputs.push_back(v); }
  Graph& graph() { return *graph_; }

 private:
  std::unique_ptr<Graph> graph_;
};

inline std::vector<Tensor> run_graph(Graph& g, const std::vector<Tensor>& inputs,
                                     EngineOptions options = {}) {
  auto engine = Engine::create(g, options);
  return engine->run(inputs);
}

// How many times `what` occurs in `text` (steps of a kind in Engine::describe).
inline size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t p = text.find(what); p != std::string::npos; p = text.find(what, p + 1))
    ++n;
  return n;
}

inline void expect_near(const Tensor& got, const Tensor& want, float tol = 1e-4f) {
  ASSERT_EQ(got.shape, want.shape);
  auto g = got.to_float();
  auto w = want.to_float();
  size_t bad = 0, first = 0;
  for (size_t i = 0; i < w.size(); ++i)
    if (!(std::fabs(g[i] - w[i]) <= tol * (1.f + std::fabs(w[i]))) && bad++ == 0) first = i;
  EXPECT_EQ(bad, 0u) << "first mismatch at " << first << ": got " << g[first] << " want " << w[first];
}

// Every output of `fused` has the same bits as the unfused engine's on the same inputs (fusions that only
// move data must not change a value).
inline void expect_same_bits_as_unfused(Graph& g, const std::vector<Tensor>& inputs,
                                        const std::vector<Tensor>& fused) {
  const auto want = Engine::create(g, {.fuse = false})->run(inputs);
  ASSERT_EQ(fused.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    ASSERT_EQ(fused[i].shape, want[i].shape) << "output " << i;
    ASSERT_EQ(fused[i].bytes.size(), want[i].bytes.size()) << "output " << i;
    EXPECT_EQ(std::memcmp(fused[i].bytes.data(), want[i].bytes.data(), want[i].bytes.size()), 0)
        << "output " << i;
  }
}

inline float sigmoid(float x) {
  return 1.f / (1.f + std::exp(-x));
}

// Plain-loop reference convolution (NCHW, OIHW weights, groups, dilation, asymmetric pads).
struct ConvParams {
  int64_t group = 1;
  std::vector<int64_t> strides{1, 1}, dilations{1, 1}, pads{0, 0, 0, 0};
};

inline Tensor reference_conv(const Tensor& x, const Tensor& w, const Tensor* b, const ConvParams& p) {
  const int64_t N = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3];
  const int64_t OC = w.shape[0], ICg = w.shape[1], KH = w.shape[2], KW = w.shape[3];
  const int64_t G = p.group, OCg = OC / G;
  const int64_t OH = (H + p.pads[0] + p.pads[2] - ((KH - 1) * p.dilations[0] + 1)) / p.strides[0] + 1;
  const int64_t OW = (W + p.pads[1] + p.pads[3] - ((KW - 1) * p.dilations[1] + 1)) / p.strides[1] + 1;
  (void)C;
  Tensor y(DType::kFloat32, {N, OC, OH, OW});
  auto xs = x.as<float>();
  auto ws = w.as<float>();
  auto ys = y.as<float>();
  for (int64_t n = 0; n < N; ++n)
    for (int64_t oc = 0; oc < OC; ++oc)
      for (int64_t oh = 0; oh < OH; ++oh)
        for (int64_t ow = 0; ow < OW; ++ow) {
          double acc = b ? b->as<float>()[oc] : 0.0;
          const int64_t g = oc / OCg;
          for (int64_t ic = 0; ic < ICg; ++ic)
            for (int64_t kh = 0; kh < KH; ++kh)
              for (int64_t kw = 0; kw < KW; ++kw) {
                int64_t ih = oh * p.strides[0] - p.pads[0] + kh * p.dilations[0];
                int64_t iw = ow * p.strides[1] - p.pads[1] + kw * p.dilations[1];
                if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                acc += xs[((n * x.shape[1] + g * ICg + ic) * H + ih) * W + iw] *
                       ws[((oc * ICg + ic) * KH + kh) * KW + kw];
              }
          ys[((n * OC + oc) * OH + oh) * OW + ow] = static_cast<float>(acc);
        }
  return y;
}

inline std::map<std::string, AttrValue> conv_attrs(const ConvParams& p, const Shape& w) {
  return {{"group", p.group},
          {"strides", p.strides},
          {"dilations", p.dilations},
          {"pads", p.pads},
          {"kernel_shape", std::vector<int64_t>{w[2], w[3]}}};
}

template <typename F>
Tensor map_tensor(const Tensor& t, F f) {
  Tensor out = t;
  for (float& v : out.as<float>())
    v = f(v);
  return out;
}

}  // namespace partq::test
