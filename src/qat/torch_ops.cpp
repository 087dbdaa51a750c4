#include "torch_ops.hpp"

#include <partq/error.hpp>

#include "torch_select_ops.hpp"
#include "torch_shape_ops.hpp"

#include <algorithm>
#include <limits>
#include <set>

namespace partq::qat {

namespace {

// ONNX pads [begin..., end...] of the last two dims -> (symmetric padding, or explicit pad applied first).
struct Pads2d {
  std::vector<int64_t> symmetric{0, 0};
  std::vector<int64_t> explicit_pad{};  // torch order: left, right, top, bottom
};

Pads2d pads_2d(const Node& node) {
  if (const std::string ap = node.attr_string("auto_pad", "NOTSET"); ap != "NOTSET" && ap != "VALID")
    fail("QAT: {} '{}' uses auto_pad={}; only explicit pads are supported", node.op_type, node.name, ap);
  const std::vector<int64_t> p = node.attr_ints("pads", {0, 0, 0, 0});
  if (p.size() != 4) fail("QAT: {} '{}' is not 2D (pads has {} values)", node.op_type, node.name, p.size());
  Pads2d out;
  if (p[0] == p[2] && p[1] == p[3])
    out.symmetric = {p[0], p[1]};
  else
    out.explicit_pad = {p[1], p[3], p[0], p[2]};
  return out;
}

torch::Tensor binary(const std::string& op, const torch::Tensor& a, const torch::Tensor& b) {
  if (op == "Add") return a + b;
  if (op == "Sub") return a - b;
  if (op == "Mul") return a * b;
  if (op == "Div") return a / b;
  return torch::pow(a, b);  // Pow
}

// Max, Min, Sum, Mean of any number of inputs, broadcast together.
torch::Tensor variadic(const std::string& op, const std::vector<torch::Tensor>& in) {
  torch::Tensor acc = in[0];
  for (size_t i = 1; i < in.size(); ++i)
    acc = op == "Max" ? torch::maximum(acc, in[i]) : op == "Min" ? torch::minimum(acc, in[i]) : acc + in[i];
  return op == "Mean" ? acc / static_cast<double>(in.size()) : acc;
}

std::vector<torch::Tensor> slice(const Node& node, const std::vector<torch::Tensor>& in) {
  std::vector<int64_t> starts, ends, axes, steps;
  if (node.input(1)) {
    starts = constant_ints(node, 1, "starts");
    ends = constant_ints(node, 2, "ends");
    axes = constant_ints(node, 3, "axes");
    steps = constant_ints(node, 4, "steps");
  } else {
    starts = node.attr_ints("starts");
    ends = node.attr_ints("ends");
    axes = node.attr_ints("axes");
  }
  const int64_t rank = in[0].dim();
  if (axes.empty())
    for (size_t i = 0; i < starts.size(); ++i)
      axes.push_back(static_cast<int64_t>(i));
  if (steps.empty()) steps.assign(starts.size(), 1);
  torch::Tensor x = in[0];
  for (size_t i = 0; i < starts.size(); ++i) {
    if (steps[i] <= 0)
      fail("QAT: Slice '{}' has a step of {}; only positive steps are supported", node.name, steps[i]);
    const int64_t axis = norm_axis(axes[i], rank), dim = x.size(axis);
    auto clampi = [dim](int64_t v) { return std::clamp(v < 0 ? v + dim : v, int64_t{0}, dim); };
    x = x.slice(axis, clampi(starts[i]), clampi(ends[i]), steps[i]);
  }
  return {x};
}

torch::Tensor reshape(const Node& node, const torch::Tensor& x) {
  std::vector<int64_t> shape = constant_ints(node, 1, "shape");
  if (node.attr_int("allowzero", 0) == 0)
    for (size_t i = 0; i < shape.size(); ++i)
      if (shape[i] == 0) shape[i] = x.size(static_cast<int64_t>(i));
  // An export traced at batch 1 hard-codes that batch in its Reshape targets ([1, 3, 85, 80, 80],
  // [1, -1, 85]); training runs batches of any size, so a leading 1 becomes the data's batch, as set_batch
  // does for the engine, when the other sizes fit it.
  if (!shape.empty() && shape[0] == 1 && x.dim() > 0 && x.size(0) > 1) {
    int64_t known = x.size(0);
    bool inferred = false;
    for (size_t i = 1; i < shape.size(); ++i)
      shape[i] < 0 ? inferred = true : known *= shape[i];
    if (known > 0 && (inferred ? x.numel() % known == 0 : x.numel() == known)) shape[0] = x.size(0);
  }
  return x.reshape(shape);
}

std::vector<torch::Tensor> split(const Node& node, const torch::Tensor& x) {
  const int64_t axis = norm_axis(node.attr_int("axis", 0), x.dim());
  std::vector<int64_t> sizes = node.input(1) ? constant_ints(node, 1, "split") : node.attr_ints("split");
  if (sizes.empty()) {
    const auto n = static_cast<int64_t>(node.outputs.size());
    sizes.assign(n, (x.size(axis) + n - 1) / n);
    sizes.back() = x.size(axis) - (n - 1) * sizes[0];
  }
  return x.split_with_sizes(sizes, axis);
}

torch::Tensor resize(const Node& node, const torch::Tensor& x) {
  const std::string mode = node.attr_string("mode", "nearest");
  const std::string ctm = node.attr_string("coordinate_transformation_mode", "half_pixel");
  const std::string nearest = node.attr_string("nearest_mode", "round_prefer_floor");
  if (x.dim() != 4) fail("QAT: Resize '{}' is not 4D", node.name);
  std::vector<int64_t> out{x.size(2), x.size(3)};
  if (const Value* sizes = node.input(3); sizes && sizes->initializer && sizes->initializer->numel() == 4) {
    const auto s = sizes->initializer->to_int64();
    out = {s[2], s[3]};
  } else if (const Value* scales = node.input(2); scales && scales->initializer) {
    const auto s = scales->initializer->to_float();
    if (s.size() != 4 || s[0] != 1.f || s[1] != 1.f)
      fail("QAT: Resize '{}' scales batch or channels; only spatial scaling is supported", node.name);
    out = {static_cast<int64_t>(x.size(2) * s[2]), static_cast<int64_t>(x.size(3) * s[3])};
  } else {
    fail("QAT: Resize '{}' has no constant scales or sizes", node.name);
  }
  // Integer up-sampling where every output pixel copies input pixel floor(out / scale) (what torch's nearest
  // interpolation computes): asymmetric coordinates rounded down, or half-pixel ones rounded to nearest.
  const bool integer = out[0] % x.size(2) == 0 && out[1] % x.size(3) == 0;
  const bool asymmetric_floor =
      ctm == "asymmetric" && (nearest == "floor" || nearest == "round_prefer_floor");
  const bool half_pixel_round =
      ctm == "half_pixel" && (nearest == "round_prefer_floor" || nearest == "round_prefer_ceil");
  if (mode != "nearest" || !integer || !(asymmetric_floor || half_pixel_round))
    fail(
        "QAT: Resize '{}' (mode {}, coordinate_transformation_mode {}, nearest_mode {}) is not supported; "
        "only integer nearest up-sampling is",
        node.name, mode, ctm, nearest);
  return torch::upsample_nearest2d(x, out);
}

torch::Tensor clip(const Node& node, const std::vector<torch::Tensor>& in) {
  auto bound = [&](size_t i, const char* attr, float fallback) {
    if (const Value* v = node.input(i)) {
      if (!v->initializer) fail("QAT: Clip '{}' has a non-constant bound '{}'", node.name, v->name);
      return v->initializer->to_float().at(0);
    }
    return node.attr_float(attr, fallback);
  };
  const float lo = bound(1, "min", -std::numeric_limits<float>::infinity());
  const float hi = bound(2, "max", std::numeric_limits<float>::infinity());
  return torch::clamp(in[0], lo, hi);
}

torch::Tensor max_pool(const Node& node, const torch::Tensor& x) {
  const std::vector<int64_t> k = node.attr_ints("kernel_shape");
  if (k.size() != 2) fail("QAT: MaxPool '{}' is not 2D", node.name);
  const Pads2d p = pads_2d(node);
  torch::Tensor in = x;
  if (!p.explicit_pad.empty())
    in = torch::constant_pad_nd(x, p.explicit_pad, -std::numeric_limits<float>::infinity());
  return torch::max_pool2d(in, k, node.attr_ints("strides", {1, 1}), p.symmetric,
                           node.attr_ints("dilations", {1, 1}), node.attr_int("ceil_mode", 0) != 0);
}

const std::set<std::string>& supported() {
  static const std::set<std::string> ops{"Conv",          "Add",
                                         "Sub",           "Mul",
                                         "Div",           "Pow",
                                         "Sigmoid",       "Relu",
                                         "LeakyRelu",     "Tanh",
                                         "Exp",           "HardSigmoid",
                                         "HardSwish",     "Clip",
                                         "Identity",      "Concat",
                                         "Reshape",       "Flatten",
                                         "Transpose",     "Slice",
                                         "Split",         "MaxPool",
                                         "Resize",        "Softmax",
                                         "Softplus",      "Elu",
                                         "Abs",           "Neg",
                                         "Sqrt",          "Log",
                                         "Reciprocal",    "Max",
                                         "Min",           "Sum",
                                         "Mean",          "PRelu",
                                         "AveragePool",   "GlobalAveragePool",
                                         "GlobalMaxPool", "ReduceMean",
                                         "ReduceSum",     "ReduceMax",
                                         "ReduceMin",     "Squeeze",
                                         "Unsqueeze",     "ConvTranspose",
                                         "Gemm",          "MatMul"};
  return ops;
}

}  // namespace

bool op_supported(const std::string& op_type) {
  return supported().count(op_type) != 0 || select_op_supported(op_type);
}

torch::Tensor run_conv(const Node& node, const torch::Tensor& x, const torch::Tensor& weight,
                       const torch::Tensor& bias) {
  if (weight.dim() != 4) fail("QAT: Conv '{}' is not 2D (weight has rank {})", node.name, weight.dim());
  const Pads2d p = pads_2d(node);
  const torch::Tensor in = p.explicit_pad.empty() ? x : torch::constant_pad_nd(x, p.explicit_pad, 0);
  return torch::conv2d(in, weight, bias, node.attr_ints("strides", {1, 1}), p.symmetric,
                       node.attr_ints("dilations", {1, 1}), node.attr_int("group", 1));
}

std::vector<torch::Tensor> run_op(const Node& node, const std::vector<torch::Tensor>& in) {
  const std::string& op = node.op_type;
  if (!node.domain.empty() || !op_supported(op) || op == "Conv")
    fail("QAT: node '{}' has op {}{}, which the training executor does not support", node.name,
         node.domain.empty() ? "" : node.domain + ".", op);
  for (size_t i = 0; i < in.size(); ++i)
    if (!in[i].defined() && node.input(i) && (op != "Clip" && op != "Resize" && op != "Slice"))
      fail("QAT: node '{}' ({}) input {} is missing", node.name, op, i);
  if (select_op_supported(op)) return run_select_op(node, in);
  if (op == "Add" || op == "Sub" || op == "Mul" || op == "Div" || op == "Pow")
    return {binary(op, in[0], in[1])};
  if (op == "Sigmoid") return {torch::sigmoid(in[0])};
  if (op == "Relu") return {torch::relu(in[0])};
  if (op == "LeakyRelu") return {torch::leaky_relu(in[0], node.attr_float("alpha", 0.01f))};
  if (op == "Tanh") return {torch::tanh(in[0])};
  if (op == "Exp") return {torch::exp(in[0])};
  if (op == "Softplus") return {torch::softplus(in[0])};
  if (op == "Elu") return {torch::elu(in[0], node.attr_float("alpha", 1.f))};
  if (op == "Abs") return {torch::abs(in[0])};
  if (op == "Neg") return {-in[0]};
  if (op == "Sqrt") return {torch::sqrt(in[0])};
  if (op == "Log") return {torch::log(in[0])};
  if (op == "Reciprocal") return {torch::reciprocal(in[0])};
  if (op == "Max" || op == "Min" || op == "Sum" || op == "Mean") return {variadic(op, in)};
  if (op == "PRelu") return {torch::where(in[0] >= 0, in[0], in[0] * in[1])};
  if (op == "AveragePool") return {average_pool(node, in[0])};
  if (op == "GlobalAveragePool" || op == "GlobalMaxPool") return {global_pool(node, in[0])};
  if (op.rfind("Reduce", 0) == 0) return {reduce(node, in)};
  if (op == "Squeeze") return {squeeze(node, in)};
  if (op == "Unsqueeze") return {unsqueeze(node, in)};
  if (op == "ConvTranspose") return {conv_transpose(node, in)};
  if (op == "Gemm" || op == "MatMul") return {gemm(node, in)};
  if (op == "HardSigmoid")
    return {torch::clamp(in[0] * node.attr_float("alpha", 0.2f) + node.attr_float("beta", 0.5f), 0, 1)};
  if (op == "HardSwish") return {in[0] * torch::clamp(in[0] / 6 + 0.5, 0, 1)};
  if (op == "Clip") return {clip(node, in)};
  if (op == "Identity") return {in[0]};
  if (op == "Softmax") return {torch::softmax(in[0], norm_axis(node.attr_int("axis", -1), in[0].dim()))};
  if (op == "Concat") {
    std::vector<torch::Tensor> parts(in.begin(), in.end());
    return {torch::cat(parts, norm_axis(node.attr_int("axis", 0), in[0].dim()))};
  }
  if (op == "Reshape") return {reshape(node, in[0])};
  if (op == "Flatten") {
    const int64_t axis = norm_axis(node.attr_int("axis", 1), in[0].dim());
    int64_t outer = 1;
    for (int64_t d = 0; d < axis; ++d)
      outer *= in[0].size(d);
    return {in[0].reshape({outer, -1})};
  }
  if (op == "Transpose") {
    std::vector<int64_t> perm = node.attr_ints("perm");
    if (perm.empty())
      for (int64_t i = in[0].dim() - 1; i >= 0; --i)
        perm.push_back(i);
    return {in[0].permute(perm)};
  }
  if (op == "Slice") return slice(node, in);
  if (op == "Split") return split(node, in[0]);
  if (op == "MaxPool") return {max_pool(node, in[0])};
  return {resize(node, in[0])};
}

}  // namespace partq::qat
