// MaxPool, AveragePool, GlobalAveragePool, GlobalMaxPool: oneDNN pooling in the input's layout.
#include <algorithm>

#include "common.hpp"
#include "registry.hpp"

namespace partq::engine {

namespace {

using dims = dnnl::memory::dims;

void lower_pool(Lowering& lw, dnnl::algorithm alg, bool global) {
  const Node& n = lw.node;
  int x = lw.input(0);
  const RtValue& xv = lw.value(x);
  // s8 input (INT8 flowing through a MaxPool, the compiler checked the scales): max commutes with
  // quantization.
  const bool s8 = xv.dtype == DType::kInt8 && xv.scale > 0 && alg == dnnl::algorithm::pooling_max;
  if (xv.dtype != DType::kFloat32 && !s8) lw.unsupported("input type {}", dtype_name(xv.dtype));
  if (xv.shape.size() < 3 || xv.shape.size() > 5) lw.unsupported("input rank {}", xv.shape.size());
  if (n.outputs.size() > 1 && n.outputs[1] && !n.outputs[1]->name.empty())
    lw.unsupported("the Indices output");
  const Shape xs = xv.shape;
  const size_t sp = xs.size() - 2;
  Shape kernel, strides(sp, 1), dil(sp, 1), pb(sp, 0), pe(sp, 0), out(sp, 1);
  if (global) {
    kernel.assign(xs.begin() + 2, xs.end());
  } else {
    kernel = n.attr_ints("kernel_shape");
    strides = n.attr_ints("strides", Shape(sp, 1));
    dil = n.attr_ints("dilations", Shape(sp, 1));
    Shape pads = n.attr_ints("pads", Shape(2 * sp, 0));
    if (kernel.size() != sp || strides.size() != sp || dil.size() != sp || pads.size() != 2 * sp)
      lw.invalid("kernel_shape/strides/pads do not match the input rank {}", xs.size());
    if (n.attr_int("storage_order", 0) != 0) lw.unsupported("storage_order=1");
    pb.assign(pads.begin(), pads.begin() + sp);
    pe.assign(pads.begin() + sp, pads.end());
  }
  const bool ceil_mode = n.attr_int("ceil_mode", 0) != 0;
  const std::string auto_pad = n.attr_string("auto_pad", "NOTSET");
  for (size_t i = 0; i < sp; ++i) {
    const int64_t in = xs[i + 2], s = strides[i], ek = (kernel[i] - 1) * dil[i] + 1;
    if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
      out[i] = (in + s - 1) / s;
      int64_t total = std::max<int64_t>(0, (out[i] - 1) * s + ek - in);
      pb[i] = auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
      pe[i] = total - pb[i];
      continue;
    }
    if (auto_pad == "VALID")
      pb[i] = pe[i] = 0;
    else if (auto_pad != "NOTSET")
      lw.unsupported("auto_pad '{}'", auto_pad);
    int64_t span = in + pb[i] + pe[i] - ek;
    out[i] = (ceil_mode ? (span + s - 1) / s : span / s) + 1;
    // In ceil mode the last window must start inside the input or the left padding (PyTorch / ONNX rule).
    if (ceil_mode && (out[i] - 1) * s >= in + pb[i]) --out[i];
    // oneDNN wants the padding that makes the (floor-rounded) output size exact: extend it for ceil mode.
    if (ceil_mode) pe[i] = std::max(pe[i], (out[i] - 1) * s + ek - in - pb[i]);
  }
  Shape ys = {xs[0], xs[1]};
  ys.insert(ys.end(), out.begin(), out.end());
  const Layout layout = xv.layout;
  int y = lw.define_output(0, xv.dtype, ys, layout, xv.scale, xv.zero_point);
  const RtValue& yv = lw.value(y);
  if (alg == dnnl::algorithm::pooling_avg_include_padding && n.attr_int("count_include_pad", 0) == 0)
    alg = dnnl::algorithm::pooling_avg_exclude_padding;
  auto to_dims = [](const Shape& s, int64_t minus = 0) {
    dims d;
    for (int64_t v : s)
      d.push_back(v - minus);
    return d;
  };
  dnnl::pooling_v2_forward::desc d(dnnl::prop_kind::forward_inference, alg, md_of(xv), md_of(yv),
                                   to_dims(strides), to_dims(kernel), to_dims(dil, 1), to_dims(pb),
                                   to_dims(pe));
  dnnl::pooling_v2_forward::primitive_desc pd(d, lw.dnnl_engine());
  auto step = std::make_unique<PrimitiveStep>();
  step->prim = dnnl::pooling_v2_forward(pd);
  step->value_args = {{DNNL_ARG_SRC, x}, {DNNL_ARG_DST, y}};
  init_step(*step, lw, lw.node.op_type, {x}, {y}, pd.impl_info_str());
  lw.add_step(std::move(step));
}

}  // namespace

void lower_max_pool(Lowering& lw) {
  lower_pool(lw, dnnl::algorithm::pooling_max, false);
}
void lower_average_pool(Lowering& lw) {
  lower_pool(lw, dnnl::algorithm::pooling_avg_include_padding, false);
}
void lower_global_average_pool(Lowering& lw) {
  lower_pool(lw, dnnl::algorithm::pooling_avg_exclude_padding, true);
}
void lower_global_max_pool(Lowering& lw) {
  lower_pool(lw, dnnl::algorithm::pooling_max, true);
}

}  // namespace partq::engine
