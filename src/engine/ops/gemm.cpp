// Gemm and MatMul on oneDNN's matmul primitive (Debian's reference BLAS is far slower, see ONEDNN-NOTES.md).
// Transposes are strided views; Gemm's alpha is an output scale and beta·C a (pre-divided) bias.
#include "common.hpp"
#include "registry.hpp"

namespace partq::engine {

namespace {

using dims = dnnl::memory::dims;
const auto kF32 = dnnl::memory::data_type::f32;

}  // namespace

void lower_gemm(Lowering& lw) {
  const Node& n = lw.node;
  int a = lw.as_plain(lw.input(0)), b = lw.as_plain(lw.input(1));
  const Shape as = lw.value(a).shape, bs = lw.value(b).shape;
  if (lw.value(a).dtype != DType::kFloat32 || lw.value(b).dtype != DType::kFloat32)
    lw.unsupported("non-f32 inputs");
  if (as.size() != 2 || bs.size() != 2)
    lw.invalid("inputs must be 2D, got {} and {}", shape_str(as), shape_str(bs));
  const bool ta = n.attr_int("transA", 0) != 0, tb = n.attr_int("transB", 0) != 0;
  const float alpha = n.attr_float("alpha", 1.f), beta = n.attr_float("beta", 1.f);
  const int64_t M = ta ? as[1] : as[0], K = ta ? as[0] : as[1];
  const int64_t K2 = tb ? bs[1] : bs[0], N = tb ? bs[0] : bs[1];
  if (K != K2) lw.invalid("inner dims {} and {} differ", K, K2);
  if (alpha == 0.f) lw.unsupported("alpha = 0");
  dnnl::memory::desc a_md({M, K}, kF32, ta ? dims{1, M} : dims{K, 1});
  dnnl::memory::desc b_md({K, N}, kF32, tb ? dims{1, K} : dims{N, 1});
  dnnl::memory::desc y_md({M, N}, kF32, dims{N, 1});
  dnnl::primitive_attr attr;
  if (alpha != 1.f) attr.set_output_scales(0, {alpha});

  auto step = std::make_unique<PrimitiveStep>();
  std::vector<int> inputs = {a, b};
  dnnl::memory::desc bias_md;
  if (lw.has_input(2) && beta != 0.f) {
    int c = lw.as_plain(lw.input(2));
    Shape cs = lw.value(c).shape;
    while (cs.size() < 2)
      cs.insert(cs.begin(), 1);
    if (cs.size() != 2 || (cs[0] != 1 && cs[0] != M) || (cs[1] != 1 && cs[1] != N))
      lw.invalid("C {} does not broadcast to [{},{}]", shape_str(lw.value(c).shape), M, N);
    bias_md = dnnl::memory::desc({cs[0], cs[1]}, kF32, dims{cs[1], 1});
    // oneDNN computes alpha * (A·B + bias), so the bias is beta·C / alpha.
    if (const Tensor* ct = lw.constant(2)) {
      std::vector<float> v = ct->to_float();
      for (float& f : v)
        f *= beta / alpha;
      step->owned_args.emplace_back(DNNL_ARG_BIAS, owned_memory(lw.dnnl_engine(), bias_md, v.data()));
    } else {
      if (beta != alpha) lw.unsupported("a run-time C with beta != alpha");
      step->view_args.emplace_back(DNNL_ARG_BIAS, c, bias_md);
      inputs.push_back(c);
    }
  }
  dnnl::matmul::desc d =
      bias_md ? dnnl::matmul::desc(a_md, b_md, bias_md, y_md) : dnnl::matmul::desc(a_md, b_md, y_md);
  dnnl::matmul::primitive_desc pd(d, attr, lw.dnnl_engine());
  int y = lw.define_output(0, DType::kFloat32, {M, N}, Layout::kPlain);
  step->prim = dnnl::matmul(pd);
  step->view_args.emplace_back(DNNL_ARG_SRC, a, a_md);
  step->view_args.emplace_back(DNNL_ARG_WEIGHTS, b, b_md);
  step->view_args.emplace_back(DNNL_ARG_DST, y, y_md);
  init_step(*step, lw, "Gemm", inputs, {y}, pd.impl_info_str());
  lw.add_step(std::move(step));
}

void lower_matmul(Lowering& lw) {
  int a = lw.as_plain(lw.input(0)), b = lw.as_plain(lw.input(1));
  if (lw.value(a).dtype != DType::kFloat32 || lw.value(b).dtype != DType::kFloat32)
    lw.unsupported("non-f32 inputs");
  Shape as = lw.value(a).shape, bs = lw.value(b).shape;
  if (as.empty() || bs.empty()) lw.invalid("scalar operand");
  const bool a_vec = as.size() == 1, b_vec = bs.size() == 1;
  if (a_vec) as.insert(as.begin(), 1);
  if (b_vec) bs.push_back(1);
  const size_t rank = std::max(as.size(), bs.size());
  while (as.size() < rank)
    as.insert(as.begin(), 1);
  while (bs.size() < rank)
    bs.insert(bs.begin(), 1);
  if (as[rank - 1] != bs[rank - 2]) lw.invalid("inner dims {} and {} differ", as[rank - 1], bs[rank - 2]);
  Shape ys(rank);
  for (size_t i = 0; i + 2 < rank; ++i) {
    if (as[i] != bs[i] && as[i] != 1 && bs[i] != 1) lw.invalid("batch dims do not broadcast");
    ys[i] = std::max(as[i], bs[i]);
  }
  ys[rank - 2] = as[rank - 2];
  ys[rank - 1] = bs[rank - 1];
  Shape out = ys;  // the ONNX output drops the dims the 1-D promotion added
  if (b_vec) out.pop_back();
  if (a_vec) out.erase(out.end() - (b_vec ? 1 : 2));
  dnnl::memory::desc a_md = plain_md(as, DType::kFloat32), b_md = plain_md(bs, DType::kFloat32),
                     y_md = plain_md(ys, DType::kFloat32);
  dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(a_md, b_md, y_md), lw.dnnl_engine());
  int y = lw.define_output(0, DType::kFloat32, out, Layout::kPlain);
  auto step = std::make_unique<PrimitiveStep>();
  step->prim = dnnl::matmul(pd);
  step->view_args = {{DNNL_ARG_SRC, a, a_md}, {DNNL_ARG_WEIGHTS, b, b_md}, {DNNL_ARG_DST, y, y_md}};
  init_step(*step, lw, "MatMul", {a, b}, {y}, pd.impl_info_str());
  lw.add_step(std::move(step));
}

}  // namespace partq::engine
