#include "torch_shape_ops.hpp"

#include <partq/error.hpp>

#include <algorithm>

namespace partq::qat {

namespace {

// Axes from input 1 (a constant) or, for the older forms, the `axes` attribute, as written.
std::vector<int64_t> raw_axes(const Node& node) {
  const Value* v = node.input(1);
  if (!v) return node.attr_ints("axes");
  if (!v->initializer)
    fail("QAT: {} '{}' has non-constant axes ('{}'); only constants are supported", node.op_type, node.name,
         v->name);
  return v->initializer->to_int64();
}

// The same, normalised to `rank` and sorted.
std::vector<int64_t> read_axes(const Node& node, int64_t rank) {
  std::vector<int64_t> axes = raw_axes(node);
  for (int64_t& a : axes)
    if (a < 0) a += rank;
  std::sort(axes.begin(), axes.end());
  return axes;
}

}  // namespace

std::vector<int64_t> constant_ints(const Node& node, size_t i, const char* what) {
  const Value* v = node.input(i);
  if (!v) return {};
  if (!v->initializer)
    fail("QAT: {} '{}' has a non-constant {} ('{}'); only constants are supported", node.op_type, node.name,
         what, v->name);
  return v->initializer->to_int64();
}

int64_t norm_axis(int64_t axis, int64_t rank) {
  return axis < 0 ? axis + rank : axis;
}

torch::Tensor average_pool(const Node& node, const torch::Tensor& x) {
  const std::vector<int64_t> k = node.attr_ints("kernel_shape");
  if (k.size() != 2 || x.dim() != 4) fail("QAT: AveragePool '{}' is not 2D", node.name);
  if (const std::string ap = node.attr_string("auto_pad", "NOTSET"); ap != "NOTSET" && ap != "VALID")
    fail("QAT: AveragePool '{}' uses auto_pad={}; only explicit pads are supported", node.name, ap);
  const std::vector<int64_t> p = node.attr_ints("pads", {0, 0, 0, 0});
  const bool include_pad = node.attr_int("count_include_pad", 0) != 0;
  const bool ceil = node.attr_int("ceil_mode", 0) != 0;
  const std::vector<int64_t> strides = node.attr_ints("strides", {1, 1});
  if (p.size() != 4) fail("QAT: AveragePool '{}' is not 2D (pads has {} values)", node.name, p.size());
  if (p[0] == p[2] && p[1] == p[3] && 2 * p[0] <= k[0] && 2 * p[1] <= k[1])
    return torch::avg_pool2d(x, k, strides, {p[0], p[1]}, ceil, include_pad);
  // Uneven pads count as zeros only when the divisor includes them; otherwise torch has no such pooling.
  if (!include_pad || ceil)
    fail("QAT: AveragePool '{}' has uneven pads {} without count_include_pad; not supported", node.name,
         fmt::format("[{}]", fmt::join(p, ",")));
  return torch::avg_pool2d(torch::constant_pad_nd(x, {p[1], p[3], p[0], p[2]}, 0), k, strides, {0, 0}, false,
                           true);
}

torch::Tensor global_pool(const Node& node, const torch::Tensor& x) {
  std::vector<int64_t> spatial;
  for (int64_t d = 2; d < x.dim(); ++d)
    spatial.push_back(d);
  if (node.op_type == "GlobalAveragePool") return x.mean(spatial, /*keepdim=*/true);
  return x.amax(spatial, /*keepdim=*/true);
}

torch::Tensor reduce(const Node& node, const std::vector<torch::Tensor>& in) {
  const torch::Tensor& x = in[0];
  std::vector<int64_t> axes = read_axes(node, x.dim());
  if (axes.empty()) {
    if (node.attr_int("noop_with_empty_axes", 0) != 0) return x;
    for (int64_t d = 0; d < x.dim(); ++d)
      axes.push_back(d);
  }
  const bool keep = node.attr_int("keepdims", 1) != 0;
  const std::string& op = node.op_type;
  if (op == "ReduceMean") return x.mean(axes, keep);
  if (op == "ReduceSum") return x.sum(axes, keep);
  if (op == "ReduceMax") return x.amax(axes, keep);
  return x.amin(axes, keep);  // ReduceMin
}

torch::Tensor squeeze(const Node& node, const std::vector<torch::Tensor>& in) {
  torch::Tensor x = in[0];
  std::vector<int64_t> axes = read_axes(node, x.dim());
  if (axes.empty()) return x.squeeze();
  for (auto it = axes.rbegin(); it != axes.rend(); ++it) {
    if (x.size(*it) != 1)
      fail("QAT: Squeeze '{}' squeezes axis {} of size {}", node.name, *it,
           static_cast<int64_t>(x.size(*it)));
    x = x.squeeze(*it);
  }
  return x;
}

torch::Tensor unsqueeze(const Node& node, const std::vector<torch::Tensor>& in) {
  torch::Tensor x = in[0];
  // Negative axes count from the end of the output, which has one dim more per axis.
  const auto out_rank = static_cast<int64_t>(x.dim() + raw_axes(node).size());
  for (int64_t axis : read_axes(node, out_rank))
    x = x.unsqueeze(axis);
  return x;
}

torch::Tensor conv_transpose(const Node& node, const std::vector<torch::Tensor>& in) {
  const torch::Tensor& x = in[0];
  const torch::Tensor& w = in[1];
  if (x.dim() != 4 || w.dim() != 4) fail("QAT: ConvTranspose '{}' is not 2D", node.name);
  if (node.has_attr("output_shape"))
    fail("QAT: ConvTranspose '{}' gives output_shape; only pads are supported", node.name);
  if (const std::string ap = node.attr_string("auto_pad", "NOTSET"); ap != "NOTSET" && ap != "VALID")
    fail("QAT: ConvTranspose '{}' uses auto_pad={}; only explicit pads are supported", node.name, ap);
  const std::vector<int64_t> p = node.attr_ints("pads", {0, 0, 0, 0});
  if (p.size() != 4) fail("QAT: ConvTranspose '{}' is not 2D (pads has {} values)", node.name, p.size());
  // ONNX pads crop the full transposed-conv output (begin and end on their own), so compute it whole first.
  const torch::Tensor full = torch::conv_transpose2d(
      x, w, in.size() > 2 ? in[2] : torch::Tensor(), node.attr_ints("strides", {1, 1}), {0, 0},
      node.attr_ints("output_padding", {0, 0}), node.attr_int("group", 1),
      node.attr_ints("dilations", {1, 1}));
  return full.slice(2, p[0], full.size(2) - p[2]).slice(3, p[1], full.size(3) - p[3]);
}

torch::Tensor gemm(const Node& node, const std::vector<torch::Tensor>& in) {
  if (node.op_type == "MatMul") return torch::matmul(in[0], in[1]);
  const torch::Tensor a = node.attr_int("transA", 0) ? in[0].t() : in[0];
  const torch::Tensor b = node.attr_int("transB", 0) ? in[1].t() : in[1];
  torch::Tensor y = torch::matmul(a, b) * node.attr_float("alpha", 1.f);
  if (in.size() > 2 && in[2].defined()) y = y + in[2] * node.attr_float("beta", 1.f);
  return y;
}

}  // namespace partq::qat
