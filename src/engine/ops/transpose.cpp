// Transpose: a oneDNN reorder from a permuted strided view of the input (any layout) to a plain output;
// partq's strided copy where whole rows stay contiguous, and for int64 and other types oneDNN does not move.
#include <numeric>

#include "common.hpp"
#include "registry.hpp"

namespace partq::engine {
namespace {

// The NHWC value whose plain twin (a layout reorder) `id` is, or a Reshape of that twin, and the strides that
// read `id` straight from the NHWC bytes; -1 if `id` is not such a value.
int nhwc_source(const Lowering& lw, int id, Strides& strides) {
  for (int v = id; v >= 0; v = lw.value(v).alias_of) {
    const RtValue& rv = lw.value(v);
    if (rv.is_constant()) return -1;
    if (rv.twin_of < 0) continue;
    const RtValue& src = lw.value(rv.twin_of);
    if (src.layout != Layout::kNhwc || src.dtype != lw.value(id).dtype || src.scale != lw.value(id).scale ||
        src.zero_point != lw.value(id).zero_point)
      return -1;
    return reshape_strides(src.shape, nhwc_strides(src.shape), lw.value(id).shape, strides) ? rv.twin_of : -1;
  }
  return -1;
}

// Transpose(Concat(Reshape(a), Reshape(b), ...)) where a, b, ... are NHWC (a detection head gathering its
// levels: [N,C,H,W] -> [N,C,HW] -> concat on HW -> [N,HW,C]): each level is copied once, from its NHWC bytes
// to its place in the output. The plain twins, their Concat and the Transpose's own pass are then dead, and
// the compiler drops them. False, with nothing added, when the pattern does not hold.
bool lower_transpose_of_nhwc_concat(Lowering& lw, const std::vector<int64_t>& perm) {
  const Value* xin = lw.node.input(0);
  const Node* cat = xin ? xin->producer : nullptr;
  if (!lw.fuse() || !cat || cat->op_type != "Concat" || xin->consumers.size() != 1 || lw.is_graph_output(xin))
    return false;
  const RtValue& xv = lw.in(0);
  const int64_t rank = static_cast<int64_t>(xv.shape.size());
  int64_t axis = cat->attr_int("axis", 0);
  if (axis < 0) axis += rank;
  if (axis < 0 || axis >= rank) return false;
  std::vector<int> sources;
  std::vector<Shape> shapes;
  std::vector<Strides> reads;
  for (const Value* v : cat->inputs) {
    const int id = v ? lw.id_of(v) : -1;
    if (id < 0) return false;
    Strides st;
    const int src = nhwc_source(lw, id, st);
    if (src < 0 || lw.value(id).dtype != xv.dtype) return false;
    sources.push_back(src);
    shapes.push_back(lw.value(id).shape);
    reads.push_back(st);
  }
  Shape out(rank);
  for (int64_t i = 0; i < rank; ++i)
    out[i] = xv.shape[perm[i]];
  const int y = lw.define_output(0, xv.dtype, out, Layout::kPlain, xv.scale, xv.zero_point);
  const Strides ys = dense_strides(out);
  int64_t out_axis = 0;
  while (perm[out_axis] != axis)
    ++out_axis;
  // Per level: its shape and NHWC read strides in output dim order, and where it starts in the output.
  struct Part {
    Shape shape;
    Strides from;
    int64_t offset = 0;
  };
  std::vector<Part> parts;
  int64_t along = 0;
  for (size_t k = 0; k < sources.size(); ++k) {
    Part p{Shape(rank), Strides(rank), along * ys[out_axis]};
    for (int64_t i = 0; i < rank; ++i) {
      p.shape[i] = shapes[k][perm[i]];
      p.from[i] = reads[k][perm[i]];
    }
    along += shapes[k][axis];
    parts.push_back(std::move(p));
  }
  add_kernel(lw, "Transpose", sources, {y}, "gather_nhwc_levels",
             [parts, ys](ExecContext& ctx, const KernelStep& s) {
               const size_t elem = dtype_size(ctx.value(s.outputs[0]).dtype);
               for (size_t k = 0; k < parts.size(); ++k)
                 strided_copy(elem, parts[k].shape, ctx.ptr(s.inputs[k]), parts[k].from,
                              ctx.ptr(s.outputs[0]) + parts[k].offset * elem, ys);
             });
  return true;
}

}  // namespace

void lower_transpose(Lowering& lw) {
  int x = lw.input(0);
  const RtValue xv = lw.value(x);
  const Shape in = xv.shape;
  const size_t rank = in.size();
  std::vector<int64_t> perm = lw.node.attr_ints("perm");
  if (perm.empty()) {
    perm.resize(rank);
    std::iota(perm.rbegin(), perm.rend(), 0);
  }
  if (perm.size() != rank) lw.invalid("perm has {} entries for rank {}", perm.size(), rank);
  std::vector<bool> seen(rank, false);
  for (int64_t& p : perm) {
    p = lw.axis(p, static_cast<int64_t>(rank));
    if (seen[p]) lw.invalid("perm repeats axis {}", p);
    seen[p] = true;
  }
  if (lower_transpose_of_nhwc_concat(lw, perm)) return;
  Strides src = value_strides(xv);
  // A Reshape of an NHWC value's plain twin (a detection head: Conv -> Reshape -> Transpose) is read straight
  // from the NHWC bytes through the reshape's strides; the twin's reorder is then dead and the compiler drops
  // it (its values can no longer be tapped, as with any fusion).
  if (lw.fuse()) {
    int root = x;
    while (lw.value(root).alias_of >= 0)
      root = lw.value(root).alias_of;
    const RtValue& rv = lw.value(root);
    Strides direct;
    if (rv.twin_of >= 0 && !rv.is_constant() && lw.value(rv.twin_of).layout == Layout::kNhwc &&
        lw.value(rv.twin_of).dtype == xv.dtype &&
        reshape_strides(lw.value(rv.twin_of).shape, nhwc_strides(lw.value(rv.twin_of).shape), in, direct)) {
      x = rv.twin_of;
      src = direct;
    }
  }
  Shape out(rank);
  Strides view(rank);
  for (size_t i = 0; i < rank; ++i) {
    out[i] = in[perm[i]];
    view[i] = src[perm[i]];
  }
  int y = lw.define_output(0, xv.dtype, out, Layout::kPlain);
  const bool dnnl_type = xv.dtype == DType::kFloat32 || xv.dtype == DType::kInt32 ||
                         xv.dtype == DType::kInt8 || xv.dtype == DType::kUInt8;
  // Rows that stay contiguous (a detection head moves whole 85-float boxes): one memcpy per row beats
  // oneDNN's reorder, which treats the view as a general transposition.
  const bool contiguous_rows = rank > 1 && view.back() == 1 && out.back() * dtype_size(xv.dtype) >= 64;
  if (dnnl_type && rank > 0 && shape_numel(out) > 0 && !contiguous_rows) {
    dnnl::memory::desc src_md(dnnl_dims(out), dnnl_dtype(xv.dtype),
                              dnnl::memory::dims(view.begin(), view.end()));
    dnnl::memory::desc dst_md = plain_md(out, xv.dtype);
    dnnl::reorder::primitive_desc pd(lw.dnnl_engine(), src_md, lw.dnnl_engine(), dst_md);
    auto step = std::make_unique<PrimitiveStep>();
    step->prim = dnnl::reorder(pd);
    step->view_args = {{DNNL_ARG_FROM, x, src_md}, {DNNL_ARG_TO, y, dst_md}};
    init_step(*step, lw, "Transpose", {x}, {y}, pd.impl_info_str());
    lw.add_step(std::move(step));
    return;
  }
  // Strides are read as the step runs (either side may become a strided view, Compiler::place_inside),
  // except when reading an NHWC value through a reshape (never a view).
  const bool direct = x != lw.input(0);
  add_kernel(
      lw, "Transpose", {x}, {y}, "strided_copy",
      [out, view, perm, direct](ExecContext& ctx, const KernelStep& s) {
        Strides from = view;
        if (!direct) {
          const Strides src = value_strides(ctx.value(s.inputs[0]));
          for (size_t i = 0; i < perm.size(); ++i)
            from[i] = src[perm[i]];
        }
        strided_copy(dtype_size(ctx.value(s.inputs[0]).dtype), out, ctx.ptr(s.inputs[0]), from,
                     ctx.ptr(s.outputs[0]), value_strides(ctx.value(s.outputs[0])));
      },
      true);
}

}  // namespace partq::engine
