// The QAT executor's pooling, reduction and axis ops (internal to partq_qat; dispatched by run_op).
#pragma once

#include <partq/ir.hpp>

#include <torch/torch.h>

#include <vector>

namespace partq::qat {

// Input i of `node` as integers; it must be an initializer (Error naming the node otherwise). Empty when the
// optional input is omitted.
std::vector<int64_t> constant_ints(const Node& node, size_t i, const char* what);
int64_t norm_axis(int64_t axis, int64_t rank);

// AveragePool (2D, symmetric pads unless count_include_pad), GlobalAveragePool, GlobalMaxPool.
torch::Tensor average_pool(const Node& node, const torch::Tensor& x);
torch::Tensor global_pool(const Node& node, const torch::Tensor& x);
// ReduceMean / ReduceSum / ReduceMax / ReduceMin: axes from the attribute or the constant second input.
torch::Tensor reduce(const Node& node, const std::vector<torch::Tensor>& in);
// Squeeze / Unsqueeze: axes from the constant second input (canonicalize moves the attribute there).
torch::Tensor squeeze(const Node& node, const std::vector<torch::Tensor>& in);
torch::Tensor unsqueeze(const Node& node, const std::vector<torch::Tensor>& in);

// The weighted ops whose weights QAT keeps as they are (only Conv weights are trained): ConvTranspose (2D),
// Gemm and MatMul. `in[1]` is the weight, fake-quantized by the caller when the node is INT8.
torch::Tensor conv_transpose(const Node& node, const std::vector<torch::Tensor>& in);
torch::Tensor gemm(const Node& node, const std::vector<torch::Tensor>& in);

}  // namespace partq::qat
