// TopK, ArgMax / ArgMin and GatherElements: the selection ops an NMS-free detector (YOLOv10, YOLO26) exports
// after its head to pick its best predictions. Plain layouts; f32, int64 and int32 data. Ties go to the lower
// index, as ONNX Runtime and torch.topk do; NaN ranks above every number (torch.topk), so the ordering stays
// a strict weak one whatever the data.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

#include "common.hpp"
#include "registry.hpp"

namespace partq::engine {

namespace {

// Whether `a` ranks before `b` when picking the largest (or the smallest) values.
template <typename T>
bool ranks_before(T a, T b, bool largest) {
  if constexpr (std::is_floating_point_v<T>) {
    const bool na = std::isnan(a), nb = std::isnan(b);
    if (na || nb) return largest ? na && !nb : nb && !na;
  }
  return largest ? a > b : a < b;
}

// Calls f(T{}) with the C++ type of a supported data type.
template <typename F>
void with_type(const Lowering& lw, DType dtype, F&& f) {
  switch (dtype) {
    case DType::kFloat32:
      return f(float{});
    case DType::kInt64:
      return f(int64_t{});
    case DType::kInt32:
      return f(int32_t{});
    default:
      lw.unsupported("input type {} (float32, int64, int32 only)", dtype_name(dtype));
  }
}

// An axis of a plain tensor as outer x extent x inner.
struct AxisGeometry {
  int64_t outer = 1, extent = 1, inner = 1;
};

AxisGeometry split_at(const Shape& s, int64_t axis) {
  return {product(s, 0, axis), s[axis], product(s, axis + 1, s.size())};
}

}  // namespace

void lower_top_k(Lowering& lw) {
  const int x = lw.as_plain(lw.input(0));
  const RtValue& xv = lw.value(x);
  const Shape shape = xv.shape;
  if (shape.empty()) lw.invalid("input is a scalar");
  const int64_t axis = lw.axis(lw.node.attr_int("axis", -1), static_cast<int64_t>(shape.size()));
  const std::vector<int64_t> kv = lw.require_constant(1, "K").to_int64();
  if (kv.size() != 1) lw.invalid("K holds {} values, expected 1", kv.size());
  const int64_t k = kv[0];
  if (k < 0 || k > shape[axis])
    lw.invalid("K = {} is outside [0, {}], the size of axis {} of input {}", k, shape[axis], axis,
               shape_str(shape));
  const bool largest = lw.node.attr_int("largest", 1) != 0;
  // sorted = 0 allows any order: the sorted one is as good.
  Shape out = shape;
  out[axis] = k;
  const AxisGeometry g = split_at(shape, axis);
  const DType dtype = xv.dtype;
  with_type(lw, dtype, [&](auto type) {
    using T = decltype(type);
    const int values = lw.define_output(0, dtype, out, Layout::kPlain);
    const int indices = lw.define_output(1, DType::kInt64, out, Layout::kPlain);
    add_kernel(lw, "TopK", {x}, {values, indices}, "top_k", [=](ExecContext& ctx, const KernelStep& s) {
      const T* src = ctx.data<T>(s.inputs[0]);
      T* val = ctx.data<T>(s.outputs[0]);
      int64_t* idx = ctx.data<int64_t>(s.outputs[1]);
      parallel_for(g.outer * g.inner, [&](int64_t task) {
        const int64_t o = task / g.inner, i = task % g.inner;
        const T* row = src + o * g.extent * g.inner + i;
        std::vector<int64_t> order(g.extent);
        std::iota(order.begin(), order.end(), 0);
        std::partial_sort(order.begin(), order.begin() + k, order.end(), [&](int64_t a, int64_t b) {
          const T va = row[a * g.inner], vb = row[b * g.inner];
          if (ranks_before(va, vb, largest)) return true;
          if (ranks_before(vb, va, largest)) return false;
          return a < b;
        });
        for (int64_t j = 0; j < k; ++j) {
          const int64_t at = (o * k + j) * g.inner + i;
          val[at] = row[order[j] * g.inner];
          idx[at] = order[j];
        }
      });
    });
  });
}

void lower_arg_max_min(Lowering& lw) {
  const int x = lw.as_plain(lw.input(0));
  const RtValue& xv = lw.value(x);
  const Shape shape = xv.shape;
  if (shape.empty()) lw.invalid("input is a scalar");
  const int64_t axis = lw.axis(lw.node.attr_int("axis", 0), static_cast<int64_t>(shape.size()));
  const bool keepdims = lw.node.attr_int("keepdims", 1) != 0;
  const bool last = lw.node.attr_int("select_last_index", 0) != 0;
  const bool largest = lw.node.op_type == "ArgMax";
  if (shape[axis] == 0) lw.invalid("axis {} of input {} is empty", axis, shape_str(shape));
  Shape out = shape;
  if (keepdims)
    out[axis] = 1;
  else
    out.erase(out.begin() + axis);
  const AxisGeometry g = split_at(shape, axis);
  with_type(lw, xv.dtype, [&](auto type) {
    using T = decltype(type);
    const int y = lw.define_output(0, DType::kInt64, out, Layout::kPlain);
    add_kernel(lw, lw.node.op_type, {x}, {y}, "arg_select", [=](ExecContext& ctx, const KernelStep& s) {
      const T* src = ctx.data<T>(s.inputs[0]);
      int64_t* dst = ctx.data<int64_t>(s.outputs[0]);
      parallel_for(g.outer * g.inner, [&](int64_t task) {
        const int64_t o = task / g.inner, i = task % g.inner;
        const T* row = src + o * g.extent * g.inner + i;
        int64_t best = 0;
        for (int64_t j = 1; j < g.extent; ++j) {
          const T v = row[j * g.inner], b = row[best * g.inner];
          if (ranks_before(v, b, largest) || (last && !ranks_before(b, v, largest))) best = j;
        }
        dst[task] = best;
      });
    });
  });
}

void lower_gather_elements(Lowering& lw) {
  const int data = lw.as_plain(lw.input(0));
  const int index = lw.as_plain(lw.input(1));
  const RtValue& dv = lw.value(data);
  const RtValue& iv = lw.value(index);
  if (iv.dtype != DType::kInt64 && iv.dtype != DType::kInt32)
    lw.unsupported("index type {}", dtype_name(iv.dtype));
  const Shape ds = dv.shape, is = iv.shape;
  const int64_t rank = static_cast<int64_t>(ds.size());
  if (rank == 0 || static_cast<int64_t>(is.size()) != rank)
    lw.invalid("indices {} and data {} must have the same rank (at least 1)", shape_str(is), shape_str(ds));
  const int64_t axis = lw.axis(lw.node.attr_int("axis", 0), rank);
  for (int64_t d = 0; d < rank; ++d)
    if (d != axis && is[d] > ds[d])
      lw.invalid("indices {} exceed data {} on axis {}", shape_str(is), shape_str(ds), d);
  const Strides dstr = dense_strides(ds);
  const int64_t extent = ds[axis], count = shape_numel(is), row = rank ? is.back() : 1;
  const DType index_type = iv.dtype;
  const size_t elem = dtype_size(dv.dtype);
  const std::string name = lw.node.name;
  const int y = lw.define_output(0, dv.dtype, is, Layout::kPlain);
  add_kernel(lw, "GatherElements", {data, index}, {y}, "gather_elements",
             [=](ExecContext& ctx, const KernelStep& s) {
               const std::byte* src = ctx.ptr(s.inputs[0]);
               std::byte* dst = ctx.ptr(s.outputs[0]);
               const int64_t* i64 = index_type == DType::kInt64 ? ctx.data<int64_t>(s.inputs[1]) : nullptr;
               const int32_t* i32 = index_type == DType::kInt32 ? ctx.data<int32_t>(s.inputs[1]) : nullptr;
               for (int64_t e = 0; e < count; ++e) {  // check first: no error from inside the threads
                 const int64_t i = i64 ? i64[e] : i32[e];
                 if (i < -extent || i >= extent)
                   fail("node '{}' (op GatherElements): index {} out of range [-{}, {})", name, i, extent,
                        extent);
               }
               parallel_for(row ? count / row : 0, [&](int64_t r) {
                 // The data offset of the row's first element, every dim but the axis.
                 int64_t base = 0, rem = r;
                 for (int64_t d = rank - 2; d >= 0; --d) {
                   if (d != axis) base += (rem % is[d]) * dstr[d];
                   rem /= is[d];
                 }
                 for (int64_t j = 0; j < row; ++j) {
                   const int64_t e = r * row + j;
                   int64_t i = i64 ? i64[e] : i32[e];
                   if (i < 0) i += extent;
                   const int64_t off = base + i * dstr[axis] + (axis == rank - 1 ? 0 : j * dstr[rank - 1]);
                   std::memcpy(dst + e * elem, src + off * elem, elem);
                 }
               });
             });
}

}  // namespace partq::engine
