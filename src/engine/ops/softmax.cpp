// Softmax: oneDNN softmax on the plain layout. Before opset 13 the input is seen as 2D [prod(:axis),
// prod(axis:)].
#include "common.hpp"
#include "registry.hpp"

namespace partq::engine {

void lower_softmax(Lowering& lw) {
  int x = lw.as_plain(lw.input(0));
  const Shape shape = lw.value(x).shape;
  if (lw.value(x).dtype != DType::kFloat32) lw.unsupported("input type {}", dtype_name(lw.value(x).dtype));
  const int64_t rank = static_cast<int64_t>(shape.size());
  const bool old = lw.opset() < 13;
  int64_t axis = lw.axis(lw.node.attr_int("axis", old ? 1 : -1), std::max<int64_t>(rank, 1));
  Shape view = shape.empty() ? Shape{1} : shape;
  if (old) {
    view = {product(shape, 0, axis), product(shape, axis, shape.size())};
    axis = 1;
  }
  int y = lw.define_output(0, DType::kFloat32, shape, Layout::kPlain);
  dnnl::memory::desc md = plain_md(view, DType::kFloat32);
  dnnl::softmax_forward::desc d(dnnl::prop_kind::forward_inference, md, static_cast<int>(axis));
  dnnl::softmax_forward::primitive_desc pd(d, lw.dnnl_engine());
  auto step = std::make_unique<PrimitiveStep>();
  step->prim = dnnl::softmax_forward(pd);
  step->view_args = {{DNNL_ARG_SRC, x, md}, {DNNL_ARG_DST, y, md}};
  init_step(*step, lw, "Softmax", {x}, {y}, pd.impl_info_str());
  lw.add_step(std::move(step));
}

}  // namespace partq::engine
