// Element-wise unary ops. Layout-agnostic: the output takes the input's layout and the op runs over the
// buffer. oneDNN eltwise where it has the function, a plain loop otherwise (HardSigmoid, Floor, Ceil, Sin,
// Cos (sin-cos position embeddings), Erf: oneDNN 2.6 has erf only inside gelu_erf).
#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>
#include <map>
#include <string>

#include "common.hpp"
#include "registry.hpp"

namespace partq::engine {

namespace {

struct EltwiseSpec {
  dnnl::algorithm alg = dnnl::algorithm::undef;
  float alpha = 0.f, beta = 0.f;
};

float scalar_or(const Lowering& lw, size_t i, float fallback) {
  if (!lw.has_input(i)) return fallback;
  const Tensor& t = lw.require_constant(i, "the bound");
  if (t.numel() != 1) lw.invalid("bound input {} is not a scalar", i);
  return t.to_float()[0];
}

void add_own(Lowering& lw, int x, int y, std::string name, float (*fn)(float, float, float), float a,
             float b) {
  add_kernel(lw, lw.node.op_type, {x}, {y}, std::move(name),
             [fn, a, b](ExecContext& ctx, const KernelStep& s) {
               const float* in = ctx.data<float>(s.inputs[0]);
               float* out = ctx.data<float>(s.outputs[0]);
               const int64_t n = shape_numel(ctx.value(s.inputs[0]).shape);
               constexpr int64_t kChunk = 16384;
               parallel_for((n + kChunk - 1) / kChunk, [&](int64_t c) {
                 const int64_t end = std::min(n, (c + 1) * kChunk);
                 for (int64_t i = c * kChunk; i < end; ++i)
                   out[i] = fn(in[i], a, b);
               });
             });
}

// Neg / Abs of integers: shape arithmetic (an expanded LayerNormalization negates its axis).
void lower_integer_sign(Lowering& lw, int x) {
  const RtValue& xv = lw.value(x);
  const bool neg = lw.node.op_type == "Neg";
  const int y = lw.define_output(0, xv.dtype, xv.shape, xv.layout);
  auto run = [neg](auto* in, auto* out, int64_t n) {
    for (int64_t i = 0; i < n; ++i)
      out[i] = neg ? -in[i] : (in[i] < 0 ? -in[i] : in[i]);
  };
  const bool wide = xv.dtype == DType::kInt64;
  add_kernel(lw, lw.node.op_type, {x}, {y}, "integer_sign",
             [run, wide](ExecContext& ctx, const KernelStep& s) {
               const int64_t n = shape_numel(ctx.value(s.inputs[0]).shape);
               if (wide)
                 run(ctx.data<int64_t>(s.inputs[0]), ctx.data<int64_t>(s.outputs[0]), n);
               else
                 run(ctx.data<int32_t>(s.inputs[0]), ctx.data<int32_t>(s.outputs[0]), n);
             });
}

}  // namespace

void lower_unary(Lowering& lw) {
  using alg = dnnl::algorithm;
  const Node& n = lw.node;
  const std::string& op = n.op_type;
  int x = lw.input(0);
  const RtValue& xv = lw.value(x);
  if ((op == "Neg" || op == "Abs") && (xv.dtype == DType::kInt64 || xv.dtype == DType::kInt32))
    return lower_integer_sign(lw, x);
  if (xv.dtype != DType::kFloat32) lw.unsupported("input type {}", dtype_name(xv.dtype));
  const Layout layout = xv.layout;
  const Shape shape = xv.shape;

  // Functions oneDNN 2.6 eltwise lacks, as partq's own loop.
  static const std::map<std::string, float (*)(float, float, float)> kOwn = {
      {"HardSigmoid", [](float v, float a, float b) { return std::clamp(a * v + b, 0.f, 1.f); }},
      {"Floor", [](float v, float, float) { return std::floor(v); }},
      {"Ceil", [](float v, float, float) { return std::ceil(v); }},
      {"Erf", [](float v, float, float) { return std::erf(v); }},
      {"Sin", [](float v, float, float) { return std::sin(v); }},
      {"Cos", [](float v, float, float) { return std::cos(v); }},
  };
  if (const auto own = kOwn.find(op); own != kOwn.end()) {
    const int y = lw.define_output(0, DType::kFloat32, shape, layout);
    std::string kernel = op;
    std::transform(kernel.begin(), kernel.end(), kernel.begin(),
                   [](unsigned char ch) { return std::tolower(ch); });
    // Only HardSigmoid has parameters (alpha, beta); the other functions ignore them.
    add_own(lw, x, y, kernel, own->second, n.attr_float("alpha", 0.2f), n.attr_float("beta", 0.5f));
    return;
  }

  EltwiseSpec e;
  if (op == "Relu")
    e = {alg::eltwise_relu};
  else if (op == "LeakyRelu")
    e = {alg::eltwise_relu, n.attr_float("alpha", 0.01f)};
  else if (op == "Sigmoid")
    e = {alg::eltwise_logistic};
  else if (op == "HardSwish")
    e = {alg::eltwise_hardswish};
  else if (op == "Elu")
    e = {alg::eltwise_elu, n.attr_float("alpha", 1.f)};
  else if (op == "Tanh")
    e = {alg::eltwise_tanh};
  else if (op == "Exp")
    e = {alg::eltwise_exp};
  else if (op == "Log")
    e = {alg::eltwise_log};
  else if (op == "Sqrt")
    e = {alg::eltwise_sqrt};
  else if (op == "Abs")
    e = {alg::eltwise_abs};
  else if (op == "Neg")
    e = {alg::eltwise_linear, -1.f, 0.f};
  else if (op == "Softplus")
    e = {alg::eltwise_soft_relu};
  else if (op == "Reciprocal")
    e = {alg::eltwise_pow, 1.f, -1.f};
  else if (op == "Clip") {
    float lo = std::numeric_limits<float>::lowest(), hi = std::numeric_limits<float>::max();
    if (n.has_attr("min") || n.has_attr("max")) {
      lo = n.attr_float("min", lo);
      hi = n.attr_float("max", hi);
    } else {
      lo = scalar_or(lw, 1, lo);
      hi = scalar_or(lw, 2, hi);
    }
    e = {alg::eltwise_clip_v2, lo, hi};
  } else {
    lw.unsupported("no element-wise lowering");
  }
  int y = lw.define_output(0, DType::kFloat32, shape, layout);
  dnnl::memory::desc md = md_of(xv);
  dnnl::eltwise_forward::desc d(dnnl::prop_kind::forward_inference, e.alg, md, e.alpha, e.beta);
  dnnl::eltwise_forward::primitive_desc pd(d, lw.dnnl_engine());
  auto step = std::make_unique<PrimitiveStep>();
  step->prim = dnnl::eltwise_forward(pd);
  step->value_args = {{DNNL_ARG_SRC, x}, {DNNL_ARG_DST, y}};
  init_step(*step, lw, op, {x}, {y}, pd.impl_info_str());
  lw.add_step(std::move(step));
}

}  // namespace partq::engine
