// BatchNormalization (inference) that no Conv absorbed: y = x * a[c] + b[c], in the input's layout.
#include <cmath>

#include "common.hpp"
#include "registry.hpp"

namespace partq::engine {

void lower_batchnorm(Lowering& lw) {
  const Node& n = lw.node;
  if (n.attr_int("training_mode", 0) != 0) lw.unsupported("training_mode=1");
  for (size_t i = 1; i < n.outputs.size(); ++i)
    if (n.outputs[i] && !n.outputs[i]->name.empty() && !n.outputs[i]->consumers.empty())
      lw.unsupported("the running mean/var outputs");
  int x = lw.input(0);
  const RtValue& xv = lw.value(x);
  if (xv.dtype != DType::kFloat32) lw.unsupported("input type {}", dtype_name(xv.dtype));
  if (xv.shape.size() < 2) lw.invalid("input rank {} < 2", xv.shape.size());
  const int64_t C = xv.shape[1];
  std::vector<float> gamma = lw.require_constant(1, "scale").to_float();
  std::vector<float> beta = lw.require_constant(2, "bias").to_float();
  std::vector<float> mean = lw.require_constant(3, "mean").to_float();
  std::vector<float> var = lw.require_constant(4, "var").to_float();
  if (static_cast<int64_t>(gamma.size()) != C || beta.size() != gamma.size() || mean.size() != gamma.size() ||
      var.size() != gamma.size())
    lw.invalid("parameters do not have {} channels", C);
  const float eps = n.attr_float("epsilon", 1e-5f);
  std::vector<float> a(C), b(C);
  for (int64_t c = 0; c < C; ++c) {
    a[c] = gamma[c] / std::sqrt(var[c] + eps);
    b[c] = beta[c] - mean[c] * a[c];
  }
  const Layout layout = xv.layout;
  const Shape shape = xv.shape;
  int y = lw.define_output(0, DType::kFloat32, shape, layout);
  const int64_t N = shape[0], inner = product(shape, 2, shape.size());
  add_kernel(lw, "BatchNormalization", {x}, {y}, "batchnorm", [=](ExecContext& ctx, const KernelStep& s) {
    const float* in = ctx.data<float>(s.inputs[0]);
    float* out = ctx.data<float>(s.outputs[0]);
    if (layout == Layout::kNhwc) {  // channels innermost
      parallel_for(N * inner, [&](int64_t p) {
        for (int64_t c = 0; c < C; ++c)
          out[p * C + c] = in[p * C + c] * a[c] + b[c];
      });
    } else {
      parallel_for(N * C, [&](int64_t p) {
        const int64_t c = p % C;
        for (int64_t i = 0; i < inner; ++i)
          out[p * inner + i] = in[p * inner + i] * a[c] + b[c];
      });
    }
  });
}

}  // namespace partq::engine
