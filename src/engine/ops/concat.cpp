// Concat. 4D along channels with an NHWC operand: per pixel, one contiguous copy per input into NHWC.
// Otherwise a strided copy per input into its slice of the plain output (any type), in place over a Split's
// source when the Concat puts a Split output back where it came from.
#include <algorithm>
#include <cstring>

#include "../focus_quantize.hpp"
#include "common.hpp"
#include "registry.hpp"

namespace partq::engine {
namespace {

// yolox's Focus in INT8: the Concat of four quantized stride-2 Slices of one 3-channel f32 image (each a
// dense copy of a view of it, RtValue::copy_of). One step quantizes the image straight into the NHWC s8
// output; the per-slice quantize steps (and the Slices' copies) are left without readers and dropped.
bool lower_focus_concat(Lowering& lw, const std::vector<int>& ins, const Shape& out, float scale) {
  if (ins.size() != 4 || lw.num_inputs() != 4 || !lw.fuse() || !can_quantize_focus()) return false;
  std::array<int64_t, 4> offsets{};
  int src = -1;
  Strides strides;
  for (size_t i = 0; i < 4; ++i) {
    const int fid = lw.id_of(lw.node.input(i));
    if (fid < 0 || lw.value(ins[i]).scale != scale ||
        lw.value(ins[i]).zero_point != lw.value(ins[0]).zero_point)
      return false;
    const RtValue& f = lw.value(fid);
    if (f.dtype != DType::kFloat32 || f.copy_of < 0 || f.shape.size() != 4 || f.shape[1] != 3 ||
        f.copy_strides.size() != 4 || f.copy_strides[3] != 2 || f.shape != lw.value(ins[0]).shape)
      return false;
    if (i == 0) {
      src = f.copy_of;
      strides = f.copy_strides;
    } else if (f.copy_of != src || f.copy_strides != strides) {
      return false;
    }
    offsets[i] = f.copy_offset;
  }
  if (lw.value(src).dtype != DType::kFloat32) return false;
  const int zero_point = lw.value(ins[0]).zero_point;
  const int y = lw.define_output(0, DType::kInt8, out, Layout::kNhwc, scale, zero_point);
  auto step = quantize_focus_step({.inv_scale = 1.f / scale, .zero_point = zero_point}, offsets, strides);
  const std::string impl = step->impl;
  init_step(*step, lw, "Quantize+Concat", {src}, {y}, impl);
  step->precision = Precision::kInt8;
  lw.add_step(std::move(step));
  return true;
}

}  // namespace

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
  // s8 inputs (INT8 flowing through a Concat): the compiler checked that they share the output's scale and
  // zero point.
  const float scale = first.scale;
  const int zero_point = first.zero_point;
  const bool s8 = dtype == DType::kInt8 && scale > 0;
  if (s8 && rank == 4 && axis == 1 && lower_focus_concat(lw, ins, out, scale)) return;
  if ((dtype == DType::kFloat32 || s8) && rank == 4 && axis == 1 && any_nhwc) {
    for (int& id : ins)
      id = lw.as_nhwc(id);
    int y = lw.define_output(0, dtype, out, Layout::kNhwc, s8 ? scale : 0.f, s8 ? zero_point : 0);
    // Channels of NHWC tensors: per pixel, one contiguous run per input (oneDNN's simple concat is slower).
    add_kernel(lw, "Concat", ins, {y}, "concat_nhwc", [](ExecContext& ctx, const KernelStep& s) {
      const RtValue& yv = ctx.value(s.outputs[0]);
      const size_t elem = dtype_size(yv.dtype);
      const int64_t pixels = yv.shape[0] * yv.shape[2] * yv.shape[3];
      const size_t row = static_cast<size_t>(yv.shape[1]) * elem;
      std::byte* dst = ctx.ptr(s.outputs[0]);
      constexpr int64_t kBlock = 256;
      parallel_for((pixels + kBlock - 1) / kBlock, [&](int64_t blk) {
        const int64_t p0 = blk * kBlock, p1 = std::min(pixels, p0 + kBlock);
        size_t offset = 0;
        for (int id : s.inputs) {
          const size_t n = static_cast<size_t>(ctx.value(id).shape[1]) * elem;
          copy_rows(dst + p0 * row + offset, static_cast<int64_t>(row), ctx.ptr(id) + p0 * n,
                    static_cast<int64_t>(n), n, p1 - p0);
          offset += n;
        }
      });
    });
    return;
  }
  for (int& id : ins)
    id = lw.as_plain(id);
  std::vector<int64_t> offsets;
  int64_t offset = 0;
  for (int id : ins) {
    offsets.push_back(offset);
    offset += lw.value(id).shape[axis];
  }
  // In place: the output takes over the buffer of a Split's source when this Concat puts some Split output
  // back where it was (a detection head rewrites a few columns and keeps the rest); only the other inputs
  // are copied, and the Split step left without readers is dropped by the compiler.
  int y = -1;
  std::vector<int> copied;
  std::vector<int64_t> copied_at;
  if (lw.fuse() && !s8 && lw.num_inputs() == ins.size()) {
    for (size_t i = 0; i < ins.size() && y < 0; ++i) {
      const Value* v = lw.node.input(i);
      const Node* split = v->producer;
      if (!split || split->op_type != "Split" || v->consumers.size() != 1) continue;
      const Value* src = split->input(0);
      const int src_id = lw.id_of(src);
      if (src_id < 0 || src->consumers.size() != 1 || lw.is_graph_output(src)) continue;
      const RtValue& sv = lw.value(src_id);
      int root = src_id;
      while (lw.value(root).alias_of >= 0)
        root = lw.value(root).alias_of;
      if (sv.layout != Layout::kPlain || sv.is_constant() || lw.value(root).graph_input >= 0 ||
          sv.dtype != dtype || sv.shape != out || sv.scale > 0)
        continue;
      const int64_t split_axis =
          split->attr_int("axis", 0) < 0 ? split->attr_int("axis", 0) + rank : split->attr_int("axis", 0);
      if (split_axis != axis) continue;
      int64_t split_offset = 0;  // where v starts in the Split's source
      for (const Value* o : split->outputs) {
        if (o == v) break;
        const int oid = o ? lw.id_of(o) : -1;
        split_offset = oid < 0 ? -1 : split_offset + lw.value(oid).shape[axis];
        if (split_offset < 0) break;
      }
      if (split_offset != offsets[i]) continue;
      lw.mark_overwritten(src);
      y = lw.alias_output(0, src_id, out);
      for (size_t j = 0; j < ins.size(); ++j)
        if (j != i) {
          copied.push_back(ins[j]);
          copied_at.push_back(offsets[j]);
        }
    }
  }
  if (y < 0) {
    y = lw.define_output(0, dtype, out, Layout::kPlain, s8 ? scale : 0.f, s8 ? zero_point : 0);
    // Inputs whose producers can write straight into their slice of the output (a detection head's
    // per-level boxes reaching the final Concat through a Reshape): nothing to copy for them.
    const Strides ys = dense_strides(out);
    for (size_t i = 0; i < ins.size(); ++i)
      if (!lw.fuse() || !lw.place_inside(ins[i], y, offsets[i] * ys[axis], ys)) {
        copied.push_back(ins[i]);
        copied_at.push_back(offsets[i]);
      }
    if (copied.empty()) return;
  }
  add_kernel(
      lw, "Concat", copied, {y}, copied.size() < ins.size() ? "concat_in_place" : "concat",
      [axis, copied_at](ExecContext& ctx, const KernelStep& s) {
        std::byte* dst = ctx.ptr(s.outputs[0]);
        const RtValue& yv = ctx.value(s.outputs[0]);
        const Strides ys = value_strides(yv);
        const size_t elem = dtype_size(yv.dtype);
        for (size_t k = 0; k < s.inputs.size(); ++k) {
          const RtValue& xv = ctx.value(s.inputs[k]);
          strided_copy(elem, xv.shape, ctx.ptr(s.inputs[k]), value_strides(xv),
                       dst + copied_at[k] * ys[axis] * elem, ys);
        }
      },
      true);
}

}  // namespace partq::engine
