#include "torch_select_ops.hpp"

#include <partq/error.hpp>

#include <set>

#include "torch_shape_ops.hpp"

namespace partq::qat {

namespace {

torch::Tensor layer_norm(const Node& node, const std::vector<torch::Tensor>& in) {
  const torch::Tensor& x = in[0];
  const int64_t axis = norm_axis(node.attr_int("axis", -1), x.dim());
  const std::vector<int64_t> row(x.sizes().begin() + axis, x.sizes().end());
  // Scale / B may broadcast to the normalised dims; torch wants them at full size.
  const torch::Tensor scale = in[1].expand(row);
  const torch::Tensor bias = in.size() > 2 && in[2].defined() ? in[2].expand(row) : torch::Tensor();
  return torch::layer_norm(x, row, scale, bias, node.attr_float("epsilon", 1e-5f));
}

torch::Tensor grid_sample(const Node& node, const std::vector<torch::Tensor>& in) {
  const std::string mode = node.attr_string("mode", "bilinear");
  int64_t interpolation = 0;
  if (mode == "nearest")
    interpolation = 1;
  else if (mode != "bilinear" && mode != "linear")
    fail("QAT: GridSample '{}' has mode '{}'; bilinear and nearest are supported", node.name, mode);
  const std::string pad = node.attr_string("padding_mode", "zeros");
  const int64_t padding = pad == "border" ? 1 : pad == "reflection" ? 2 : 0;
  if (in[0].dim() != 4) fail("QAT: GridSample '{}' is not 4-D", node.name);
  return torch::grid_sampler(in[0], in[1], interpolation, padding, node.attr_int("align_corners", 0) != 0);
}

// ONNX indices may be negative: from the end of `size`.
torch::Tensor wrap_indices(const torch::Tensor& index, int64_t size) {
  const torch::Tensor i = index.to(torch::kInt64);
  return torch::where(i < 0, i + size, i);
}

torch::Tensor gather(const Node& node, const std::vector<torch::Tensor>& in) {
  const int64_t axis = norm_axis(node.attr_int("axis", 0), in[0].dim());
  const torch::Tensor index = wrap_indices(in[1], in[0].size(axis));
  std::vector<int64_t> shape(in[0].sizes().begin(), in[0].sizes().begin() + axis);
  shape.insert(shape.end(), index.sizes().begin(), index.sizes().end());
  shape.insert(shape.end(), in[0].sizes().begin() + axis + 1, in[0].sizes().end());
  return in[0].index_select(axis, index.flatten()).reshape(shape);
}

torch::Tensor compare(const std::string& op, const torch::Tensor& a, const torch::Tensor& b) {
  if (op == "Equal") return torch::eq(a, b);
  if (op == "Less") return torch::lt(a, b);
  if (op == "Greater") return torch::gt(a, b);
  if (op == "LessOrEqual") return torch::le(a, b);
  if (op == "GreaterOrEqual") return torch::ge(a, b);
  if (op == "And") return torch::logical_and(a, b);
  if (op == "Or") return torch::logical_or(a, b);
  return torch::logical_xor(a, b);
}

// `to` holds an ONNX TensorProto data type code.
torch::Tensor cast(const Node& node, const torch::Tensor& x) {
  constexpr int64_t kFloat = 1, kInt32 = 6, kInt64 = 7, kBool = 9;
  const int64_t to = node.attr_int("to", kFloat);
  if (to == kFloat) return x.to(torch::kFloat32);
  if (to == kInt64 || to == kInt32) return x.to(torch::kInt64);  // the executor keeps integers as int64
  if (to == kBool) return x.to(torch::kBool);
  fail("QAT: Cast '{}' to ONNX type {} is not supported (float, int32, int64, bool)", node.name, to);
}

torch::Tensor expand(const Node& node, const torch::Tensor& x) {
  // Bidirectional broadcasting: a 1 in the target keeps the input's dim.
  std::vector<int64_t> target = constant_ints(node, 1, "shape");
  const int64_t rank = std::max<int64_t>(static_cast<int64_t>(target.size()), x.dim());
  std::vector<int64_t> out(rank);
  for (int64_t d = 0; d < rank; ++d) {
    const int64_t t = d - (rank - static_cast<int64_t>(target.size()));
    const int64_t s = d - (rank - x.dim());
    const int64_t td = t >= 0 ? target[t] : 1, sd = s >= 0 ? x.size(s) : 1;
    out[d] = td == 1 ? sd : td;
  }
  return x.expand(out);
}

const std::set<std::string>& supported() {
  static const std::set<std::string> ops{"LayerNormalization",
                                         "InstanceNormalization",
                                         "GridSample",
                                         "Erf",
                                         "Sin",
                                         "Cos",
                                         "Floor",
                                         "Ceil",
                                         "TopK",
                                         "ArgMax",
                                         "ArgMin",
                                         "Gather",
                                         "GatherElements",
                                         "Where",
                                         "Equal",
                                         "Less",
                                         "Greater",
                                         "LessOrEqual",
                                         "GreaterOrEqual",
                                         "Not",
                                         "And",
                                         "Or",
                                         "Xor",
                                         "Cast",
                                         "Expand",
                                         "Tile",
                                         "Mod"};
  return ops;
}

}  // namespace

bool select_op_supported(const std::string& op_type) {
  return supported().count(op_type) != 0;
}

std::vector<torch::Tensor> run_select_op(const Node& node, const std::vector<torch::Tensor>& in) {
  const std::string& op = node.op_type;
  if (op == "LayerNormalization") return {layer_norm(node, in)};
  if (op == "InstanceNormalization")
    return {torch::instance_norm(in[0], in[1], in[2], {}, {}, /*use_input_stats=*/true, 0.1,
                                 node.attr_float("epsilon", 1e-5f), /*cudnn_enabled=*/false)};
  if (op == "GridSample") return {grid_sample(node, in)};
  if (op == "Erf") return {torch::erf(in[0])};
  if (op == "Sin") return {torch::sin(in[0])};
  if (op == "Cos") return {torch::cos(in[0])};
  if (op == "Floor") return {torch::floor(in[0])};
  if (op == "Ceil") return {torch::ceil(in[0])};
  if (op == "TopK") {
    const std::vector<int64_t> k = constant_ints(node, 1, "K");
    if (k.size() != 1) fail("QAT: TopK '{}' needs one K", node.name);
    auto [values, indices] = torch::topk(in[0], k[0], norm_axis(node.attr_int("axis", -1), in[0].dim()),
                                         node.attr_int("largest", 1) != 0, /*sorted=*/true);
    return {values, indices};
  }
  if (op == "ArgMax" || op == "ArgMin") {
    if (node.attr_int("select_last_index", 0) != 0)
      fail("QAT: {} '{}' with select_last_index is not supported", op, node.name);
    const int64_t axis = norm_axis(node.attr_int("axis", 0), in[0].dim());
    const bool keep = node.attr_int("keepdims", 1) != 0;
    return {op == "ArgMax" ? torch::argmax(in[0], axis, keep) : torch::argmin(in[0], axis, keep)};
  }
  if (op == "Gather") return {gather(node, in)};
  if (op == "GatherElements") {
    const int64_t axis = norm_axis(node.attr_int("axis", 0), in[0].dim());
    return {torch::gather(in[0], axis, wrap_indices(in[1], in[0].size(axis)))};
  }
  if (op == "Where") return {torch::where(in[0].to(torch::kBool), in[1], in[2])};
  if (op == "Not") return {torch::logical_not(in[0])};
  if (op == "Cast") return {cast(node, in[0])};
  if (op == "Expand") return {expand(node, in[0])};
  if (op == "Tile") return {in[0].repeat(constant_ints(node, 1, "repeats"))};
  if (op == "Mod")
    return {node.attr_int("fmod", 0) != 0 ? torch::fmod(in[0], in[1]) : torch::remainder(in[0], in[1])};
  return {compare(op, in[0], in[1])};
}

}  // namespace partq::qat
