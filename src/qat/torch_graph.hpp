// A partq Graph executed in libtorch, for training: every Conv weight and bias is a torch parameter, and the
// quantized model is the float simulation of its Q/DQ graph (fake quantization with straight-through
// gradients). Only the nodes the requested outputs depend on are run, so a detector's float decode after
// its last convs is never executed.
#pragma once

#include <partq/engine.hpp>
#include <partq/ir.hpp>

#include <torch/torch.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace partq::qat {

// How the quantized model reads its tensors: per-tensor scales of the quantized activations, which nodes
// read each quantized copy, which convs run INT8 (weights fake-quantized per output channel).
struct FakeQuant {
  std::map<std::string, float> activation_scales{};
  std::map<std::string, std::vector<std::string>> quantized_consumers{};
  std::vector<std::string> int8_nodes{};
  // Learned activation scales (LSQ: gradients reach the scale), by tensor; they replace activation_scales.
  std::map<std::string, torch::Tensor> learned_scales{};
  int weight_max_code = 127;  // EngineOptions::weight_max_code: 63 for reduced-range weights

  // What an INT8 engine configuration runs (int8_options_from_plan in partq/engine_quant.hpp).
  static FakeQuant of(const EngineOptions& int8);
};

class TorchGraph {
 public:
  // `outputs`: value names to compute. Errors: an unknown output name, a node on the way the executor does
  // not support (naming node and op), a Conv whose weight is not a constant float tensor.
  TorchGraph(const Graph& graph, std::vector<std::string> outputs);

  // Runs the graph on `input` ([N, C, H, W] float). With `fq`, the quantized model; without, the float one.
  std::vector<torch::Tensor> forward(const torch::Tensor& input, const FakeQuant* fq) const;

  // The trainable tensors (Conv weights and biases, each divided by its INT8 step), and their convs.
  std::vector<torch::Tensor> parameters() const;
  const std::vector<std::string>& trained_layers() const { return trained_layers_; }
  void set_requires_grad(bool on);

  // Copies the current parameter values into `graph`'s initializers (by value name).
  void write_back(Graph& graph) const;

 private:
  torch::Tensor constant(const Value* v) const;

  std::vector<const Node*> schedule_;                // nodes to run, in graph order
  std::map<const Value*, size_t> last_use_;          // index in schedule_ of a value's last reader
  std::map<std::string, torch::Tensor> params_;      // by initializer name, in units_ (value / unit)
  std::map<std::string, torch::Tensor> units_;       // per output channel (weights) or per tensor (bias)
  std::map<const Value*, torch::Tensor> constants_;  // other float / int initializers
  // Graph::size_inputs: the value partq feeds, as one row repeated to each batch's size.
  std::map<const Value*, torch::Tensor> size_inputs_;
  std::vector<std::string> trained_layers_;
  std::vector<const Value*> outputs_;
  const Value* input_ = nullptr;
};

}  // namespace partq::qat
