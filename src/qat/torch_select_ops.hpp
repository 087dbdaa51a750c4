// The QAT executor's transformer and selection ops (internal to partq_qat; dispatched by run_op): what DETR
// models (RT-DETR) and NMS-free heads run between their convolutions. Normalisation and sampling carry
// gradients; the selections pass them through the values they pick.
#pragma once

#include <partq/ir.hpp>

#include <torch/torch.h>

#include <string>
#include <vector>

namespace partq::qat {

// True if run_select_op evaluates `op_type`.
bool select_op_supported(const std::string& op_type);
// LayerNormalization, InstanceNormalization, GridSample, Erf, Sin, Cos, Floor, Ceil, TopK, ArgMax, ArgMin,
// Gather, GatherElements, Where, the comparisons, Not / And / Or / Xor, Cast, Expand, Tile, Mod.
std::vector<torch::Tensor> run_select_op(const Node& node, const std::vector<torch::Tensor>& in);

}  // namespace partq::qat
