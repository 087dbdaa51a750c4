// Slice and Split: strided copies out of the input, read in whatever layout it has; outputs are plain.
#include <algorithm>
#include <limits>

#include "common.hpp"
#include "registry.hpp"

namespace partq::engine {

namespace {

// Output i is the view (offset, dims, strides) of the input.
void add_view_copy(Lowering& lw, int x, size_t out_index, const Shape& dims, int64_t offset,
                   const Strides& strides) {
  const DType dtype = lw.value(x).dtype;
  int y = lw.define_output(out_index, dtype, dims, Layout::kPlain);
  lw.mark_copy_of(y, x, offset, strides);
  const Strides dst = dense_strides(dims);
  add_kernel(lw, lw.node.op_type, {x}, {y}, "strided_copy", [=](ExecContext& ctx, const KernelStep& s) {
    const size_t elem = dtype_size(dtype);
    strided_copy(elem, dims, ctx.ptr(s.inputs[0]) + offset * elem, strides, ctx.ptr(s.outputs[0]), dst);
  });
}

struct SliceArgs {
  std::vector<int64_t> starts, ends, axes, steps;
};

// A Slice node's starts / ends / axes / steps; `constant(i, what)` returns input i's compile-time data.
template <typename F>
SliceArgs read_slice_args(const Node& node, int64_t opset, F&& constant) {
  SliceArgs a;
  if (opset < 10) {
    a.starts = node.attr_ints("starts");
    a.ends = node.attr_ints("ends");
    a.axes = node.attr_ints("axes");
  } else {
    a.starts = constant(1, "starts").to_int64();
    a.ends = constant(2, "ends").to_int64();
    if (node.input(3)) a.axes = constant(3, "axes").to_int64();
    if (node.input(4)) a.steps = constant(4, "steps").to_int64();
  }
  if (a.axes.empty())
    for (size_t i = 0; i < a.starts.size(); ++i)
      a.axes.push_back(static_cast<int64_t>(i));
  if (a.steps.empty()) a.steps.assign(a.starts.size(), 1);
  return a;
}

// Narrows the view (dims, strides, offset) of some buffer by a Slice: `dims` is the Slice's input shape on
// entry, its output shape on return.
void apply_slice(const Lowering& lw, const SliceArgs& a, Shape& dims, Strides& strides, int64_t& offset) {
  if (a.ends.size() != a.starts.size() || a.axes.size() != a.starts.size() ||
      a.steps.size() != a.starts.size())
    lw.invalid("starts/ends/axes/steps differ in length");
  const Shape in = dims;
  const Strides src = strides;
  const int64_t rank = static_cast<int64_t>(in.size());
  for (size_t i = 0; i < a.starts.size(); ++i) {
    const int64_t ax = lw.axis(a.axes[i], rank), d = in[ax], step = a.steps[i];
    if (step == 0) lw.invalid("step 0");
    int64_t s = a.starts[i], e = a.ends[i];
    if (s < 0) s += d;
    if (e < 0 && e > std::numeric_limits<int64_t>::min() / 2) e += d;
    int64_t count;
    if (step > 0) {
      s = std::clamp<int64_t>(s, 0, d);
      e = std::clamp<int64_t>(e, 0, d);
      count = e > s ? (e - s + step - 1) / step : 0;
    } else {
      s = std::clamp<int64_t>(s, 0, d - 1);
      e = std::clamp<int64_t>(e, -1, d - 1);
      count = s > e ? (s - e + (-step) - 1) / (-step) : 0;
    }
    dims[ax] = count;
    strides[ax] = src[ax] * step;
    offset += s * src[ax];
  }
}

// When input 0 is the output of another Slice read by no one else (yolox's Focus: rows, then columns), the
// view of that Slice's own input, narrowed by it: one strided copy instead of two. The first Slice's step is
// then left without readers and the compiler drops it. Returns the id to read, or -1.
int compose_with_input_slice(Lowering& lw, Shape& dims, Strides& strides, int64_t& offset) {
  const Value* v = lw.node.input(0);
  const Node* p = v ? v->producer : nullptr;
  if (!lw.fuse() || !p || p->op_type != "Slice" || v->consumers.size() != 1 || lw.is_graph_output(v))
    return -1;
  const int vid = lw.id_of(v), src = lw.id_of(p->input(0));
  if (vid < 0 || src < 0 || lw.value(vid).is_constant() || lw.value(vid).alias_of >= 0) return -1;
  for (size_t i = 1; i < p->inputs.size(); ++i) {
    const int id = p->input(i) ? lw.id_of(p->input(i)) : -1;
    if (p->input(i) && (id < 0 || !lw.value(id).is_constant())) return -1;
  }
  const SliceArgs pa = read_slice_args(*p, lw.opset(), [&](size_t i, const char*) -> const Tensor& {
    return *lw.value(lw.id_of(p->input(i))).constant;
  });
  const RtValue& sv = lw.value(src);
  Shape d = sv.shape;
  Strides st = value_strides(sv);
  int64_t off = 0;
  apply_slice(lw, pa, d, st, off);
  if (d != lw.value(vid).shape) return -1;
  apply_slice(lw,
              read_slice_args(
                  lw.node, lw.opset(),
                  [&](size_t i, const char* what) -> const Tensor& { return lw.require_constant(i, what); }),
              d, st, off);
  dims = std::move(d);
  strides = std::move(st);
  offset = off;
  return src;
}

}  // namespace

void lower_slice(Lowering& lw) {
  Shape dims;
  Strides strides;
  int64_t offset = 0;
  int x = compose_with_input_slice(lw, dims, strides, offset);
  if (x < 0) {
    x = lw.input(0);
    dims = lw.value(x).shape;
    strides = value_strides(lw.value(x));
    offset = 0;
    apply_slice(lw,
                read_slice_args(lw.node, lw.opset(),
                                [&](size_t i, const char* what) -> const Tensor& {
                                  return lw.require_constant(i, what);
                                }),
                dims, strides, offset);
  }
  add_view_copy(lw, x, 0, dims, offset, strides);
}

void lower_split(Lowering& lw) {
  int x = lw.input(0);
  const RtValue& xv = lw.value(x);
  const Shape in = xv.shape;
  const int64_t axis = lw.axis(lw.node.attr_int("axis", 0), static_cast<int64_t>(in.size()));
  const size_t n_out = lw.node.outputs.size();
  std::vector<int64_t> sizes =
      lw.has_input(1) ? lw.require_constant(1, "split").to_int64() : lw.node.attr_ints("split");
  if (sizes.empty()) {
    const int64_t chunk = (in[axis] + static_cast<int64_t>(n_out) - 1) / static_cast<int64_t>(n_out);
    for (size_t i = 0; i < n_out; ++i)
      sizes.push_back(std::min(chunk, in[axis] - chunk * static_cast<int64_t>(i)));
  }
  int64_t total = 0;
  for (int64_t s : sizes)
    total += s;
  if (sizes.size() != n_out || total != in[axis])
    lw.invalid("split sizes do not add up to dim {} ({}) over {} outputs", axis, in[axis], n_out);
  const DType dtype = xv.dtype;
  int64_t start = 0;
  for (size_t i = 0; i < n_out; ++i) {
    Shape dims = in;
    dims[axis] = sizes[i];
    int y = lw.define_output(i, dtype, dims, Layout::kPlain);
    // The strides are read as the step runs: the input may become a strided view later
    // (Compiler::place_inside).
    add_kernel(
        lw, "Split", {x}, {y}, "strided_copy",
        [dims, axis, start](ExecContext& ctx, const KernelStep& s) {
          const RtValue& xv = ctx.value(s.inputs[0]);
          const Strides src = value_strides(xv);
          const size_t elem = dtype_size(xv.dtype);
          strided_copy(elem, dims, ctx.ptr(s.inputs[0]) + start * src[axis] * static_cast<int64_t>(elem), src,
                       ctx.ptr(s.outputs[0]), value_strides(ctx.value(s.outputs[0])));
        },
        true);
    start += sizes[i];
  }
}

}  // namespace partq::engine
