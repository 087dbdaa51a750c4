// Concat. 4D along channels with an NHWC operand: oneDNN concat into NHWC. Otherwise a strided copy per input
// into its slice of the plain output (any type).
#include "common.hpp"
#include "registry.hpp"

namespace partq::engine {

void lower_concat(Lowering& lw) {
  std::vector<int> ins;
  for (size_t i = 0; i < lw.num_inputs(); ++i)
    if (lw.has_input(i)) ins.push_back(lw.input(i));
  if (ins.empty()) lw.invalid("no inputs");
  const RtValue& first = lw.value(ins[0]);
  const DType dtype = first.dtype;
  const int64_t rank = static_cast<int64_t>(first.shape.size());
  const int64_t axis = lw.axis(lw.node.attr_int("axis", 0), rank);
  Shape out = first.shape;
  out[axis] = 0;
  bool any_nhwc = false;
  for (int id : ins) {
    const RtValue& v = lw.value(id);
    if (v.dtype != dtype || static_cast<int64_t>(v.shape.size()) != rank)
      lw.invalid("inputs differ in type or rank");
    for (int64_t d = 0; d < rank; ++d)
      if (d != axis && v.shape[d] != out[d])
        lw.invalid("input shapes {} and {} differ off the axis", shape_str(v.shape), shape_str(first.shape));
    out[axis] += v.shape[axis];
    any_nhwc = any_nhwc || v.layout == Layout::kNhwc;
  }
  // s8 inputs (INT8 flowing through a Concat): the compiler checked that they share the output's scale.
  const float scale = first.scale;
  const bool s8 = dtype == DType::kInt8 && scale > 0;
  if ((dtype == DType::kFloat32 || s8) && rank == 4 && axis == 1 && any_nhwc) {
    std::vector<dnnl::memory::desc> mds;
    for (int& id : ins) {
      id = lw.as_nhwc(id);
      mds.push_back(md_of(lw.value(id)));
    }
    int y = lw.define_output(0, dtype, out, Layout::kNhwc, s8 ? scale : 0.f);
    dnnl::concat::primitive_desc pd(md_of(lw.value(y)), static_cast<int>(axis), mds, lw.dnnl_engine());
    auto step = std::make_unique<PrimitiveStep>();
    step->prim = dnnl::concat(pd);
    step->value_args.emplace_back(DNNL_ARG_DST, y);
    for (size_t i = 0; i < ins.size(); ++i)
      step->value_args.emplace_back(DNNL_ARG_MULTIPLE_SRC + static_cast<int>(i), ins[i]);
    init_step(*step, lw, "Concat", ins, {y}, pd.impl_info_str());
    lw.add_step(std::move(step));
    return;
  }
  for (int& id : ins)
    id = lw.as_plain(id);
  int y = lw.define_output(0, dtype, out, Layout::kPlain, s8 ? scale : 0.f);
  const Strides ys = dense_strides(out);
  add_kernel(lw, "Concat", ins, {y}, "concat", [axis, ys](ExecContext& ctx, const KernelStep& s) {
    std::byte* dst = ctx.ptr(s.outputs[0]);
    const size_t elem = dtype_size(ctx.value(s.outputs[0]).dtype);
    int64_t offset = 0;
    for (int id : s.inputs) {
      const Shape& shape = ctx.value(id).shape;
      strided_copy(elem, shape, ctx.ptr(id), dense_strides(shape), dst + offset * ys[axis] * elem, ys);
      offset += shape[axis];
    }
  });
}

}  // namespace partq::engine
