// Slice and Split: strided copies out of the input, read in whatever layout it has; outputs are plain.
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
  const Strides dst = dense_strides(dims);
  add_kernel(lw, lw.node.op_type, {x}, {y}, "strided_copy", [=](ExecContext& ctx, const KernelStep& s) {
    const size_t elem = dtype_size(dtype);
    strided_copy(elem, dims, ctx.ptr(s.inputs[0]) + offset * elem, strides, ctx.ptr(s.outputs[0]), dst);
  });
}

}  // namespace

void lower_slice(Lowering& lw) {
  int x = lw.input(0);
  const RtValue& xv = lw.value(x);
  const Shape in = xv.shape;
  const int64_t rank = static_cast<int64_t>(in.size());
  std::vector<int64_t> starts, ends, axes, steps;
  if (lw.opset() < 10) {
    starts = lw.node.attr_ints("starts");
    ends = lw.node.attr_ints("ends");
    axes = lw.node.attr_ints("axes");
  } else {
    starts = lw.require_constant(1, "starts").to_int64();
    ends = lw.require_constant(2, "ends").to_int64();
    if (lw.has_input(3)) axes = lw.require_constant(3, "axes").to_int64();
    if (lw.has_input(4)) steps = lw.require_constant(4, "steps").to_int64();
  }
  if (axes.empty())
    for (size_t i = 0; i < starts.size(); ++i)
      axes.push_back(static_cast<int64_t>(i));
  if (steps.empty()) steps.assign(starts.size(), 1);
  if (ends.size() != starts.size() || axes.size() != starts.size() || steps.size() != starts.size())
    lw.invalid("starts/ends/axes/steps differ in length");
  const Strides src = value_strides(xv);
  Shape dims = in;
  Strides strides = src;
  int64_t offset = 0;
  for (size_t i = 0; i < starts.size(); ++i) {
    const int64_t a = lw.axis(axes[i], rank), d = in[a], step = steps[i];
    if (step == 0) lw.invalid("step 0");
    int64_t s = starts[i], e = ends[i];
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
    dims[a] = count;
    strides[a] = src[a] * step;
    offset += s * src[a];
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
  const Strides src = value_strides(xv);
  int64_t start = 0;
  for (size_t i = 0; i < n_out; ++i) {
    Shape dims = in;
    dims[axis] = sizes[i];
    add_view_copy(lw, x, i, dims, start * src[axis], src);
    start += sizes[i];
  }
}

}  // namespace partq::engine
