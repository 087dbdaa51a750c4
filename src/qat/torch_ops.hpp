// The ONNX operators the QAT executor runs, each as differentiable libtorch calls. Shape-like inputs
// (Reshape's shape, Slice's starts/ends, Split's sizes, Resize's scales/sizes, Clip's bounds, the axes of
// Reduce*, Squeeze and Unsqueeze) must be constants: they are read from the node's initializers, not from
// tensors.
#pragma once

#include <partq/ir.hpp>

#include <torch/torch.h>

#include <string>
#include <vector>

namespace partq::qat {

// True if run_op evaluates `op_type` (default ONNX domain).
bool op_supported(const std::string& op_type);

// Every output of `node`; `in[i]` is input i (undefined for an omitted optional input). Error naming the
// node for attributes or inputs the executor does not handle (asymmetric auto_pad, non-nearest Resize, ...).
std::vector<torch::Tensor> run_op(const Node& node, const std::vector<torch::Tensor>& in);

// ONNX Conv (2D) with explicit weight and bias tensors (bias may be undefined).
torch::Tensor run_conv(const Node& node, const torch::Tensor& x, const torch::Tensor& weight,
                       const torch::Tensor& bias);

}  // namespace partq::qat
