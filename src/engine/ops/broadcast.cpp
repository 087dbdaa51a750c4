// The shape-computing ops of dynamic-axis exports (a YOLO grid built from arange / meshgrid / expand):
// Expand, Tile, ConstantOfShape, Equal / Less / Greater / LessOrEqual / GreaterOrEqual, Not, Where; and the
// variadic Sum / Mean / Max / Min (Max and Min of exactly two inputs go through binary.cpp). Plain layout;
// with compile-time inputs they are evaluated while compiling, like the other shape ops.
#include <algorithm>
#include <cstring>

#include "common.hpp"
#include "registry.hpp"

namespace partq::engine {

namespace {

// Calls f(offsets of the output element in each operand) for every output element, in order.
template <typename F>
void for_each_broadcast(const Shape& out, const std::vector<Strides>& operands, F&& f) {
  const int64_t n = shape_numel(out);
  const size_t rank = out.size(), count = operands.size();
  std::vector<int64_t> index(rank, 0), offsets(count, 0);
  for (int64_t i = 0; i < n; ++i) {
    f(offsets.data());
    for (size_t d = rank; d-- > 0;) {
      for (size_t k = 0; k < count; ++k)
        offsets[k] += operands[k][d];
      if (++index[d] < out[d]) break;
      for (size_t k = 0; k < count; ++k)
        offsets[k] -= operands[k][d] * out[d];
      index[d] = 0;
    }
  }
}

Shape broadcast_or_fail(const Lowering& lw, const Shape& a, const Shape& b) {
  Shape out;
  if (!broadcast_shape(a, b, out))
    lw.invalid("shapes {} and {} do not broadcast", shape_str(a), shape_str(b));
  return out;
}

bool scalar_type(DType t) {
  return t == DType::kFloat32 || t == DType::kInt64 || t == DType::kInt32 || t == DType::kBool ||
         t == DType::kInt8 || t == DType::kUInt8;
}

enum class Compare { kEqual, kLess, kGreater, kLessOrEqual, kGreaterOrEqual, kAnd, kOr, kXor };

template <typename T>
void run_compare(Compare c, const Shape& out, const T* a, const Strides& sa, const T* b, const Strides& sb,
                 uint8_t* y) {
  int64_t i = 0;
  for_each_broadcast(out, {sa, sb}, [&](const int64_t* o) {
    const T x = a[o[0]], z = b[o[1]];
    bool r = false;
    switch (c) {
      case Compare::kEqual:
        r = x == z;
        break;
      case Compare::kLess:
        r = x < z;
        break;
      case Compare::kGreater:
        r = x > z;
        break;
      case Compare::kLessOrEqual:
        r = x <= z;
        break;
      case Compare::kGreaterOrEqual:
        r = x >= z;
        break;
      case Compare::kAnd:
        r = x && z;
        break;
      case Compare::kOr:
        r = x || z;
        break;
      case Compare::kXor:
        r = (x != 0) != (z != 0);
        break;
    }
    y[i++] = r ? 1 : 0;
  });
}

}  // namespace

void lower_expand(Lowering& lw) {
  const int x = lw.as_plain(lw.input(0));
  const RtValue& xv = lw.value(x);
  const std::vector<int64_t> target = lw.require_constant(1, "shape").to_int64();
  const Shape out = broadcast_or_fail(lw, xv.shape, Shape(target.begin(), target.end()));
  const Strides src = broadcast_strides(xv.shape, out);
  const size_t elem = dtype_size(xv.dtype);
  const int y = lw.define_output(0, xv.dtype, out, Layout::kPlain);
  add_kernel(lw, "Expand", {x}, {y}, "broadcast_copy", [=](ExecContext& ctx, const KernelStep& s) {
    strided_copy(elem, out, ctx.ptr(s.inputs[0]), src, ctx.ptr(s.outputs[0]), dense_strides(out));
  });
}

void lower_tile(Lowering& lw) {
  const int x = lw.as_plain(lw.input(0));
  const RtValue& xv = lw.value(x);
  const std::vector<int64_t> repeats = lw.require_constant(1, "repeats").to_int64();
  if (repeats.size() != xv.shape.size())
    lw.invalid("{} repeats for an input of rank {}", repeats.size(), xv.shape.size());
  // The output seen as [r0, d0, r1, d1, ...]: the repeat dims read the input with stride 0.
  Shape view, out;
  Strides src;
  const Strides in = dense_strides(xv.shape);
  for (size_t d = 0; d < repeats.size(); ++d) {
    if (repeats[d] < 0) lw.invalid("negative repeat {}", repeats[d]);
    view.insert(view.end(), {repeats[d], xv.shape[d]});
    src.insert(src.end(), {0, in[d]});
    out.push_back(repeats[d] * xv.shape[d]);
  }
  const size_t elem = dtype_size(xv.dtype);
  const int y = lw.define_output(0, xv.dtype, out, Layout::kPlain);
  add_kernel(lw, "Tile", {x}, {y}, "broadcast_copy", [=](ExecContext& ctx, const KernelStep& s) {
    strided_copy(elem, view, ctx.ptr(s.inputs[0]), src, ctx.ptr(s.outputs[0]), dense_strides(view));
  });
}

void lower_constant_of_shape(Lowering& lw) {
  const std::vector<int64_t> dims = lw.require_constant(0, "shape").to_int64();
  Tensor value = Tensor::scalar_float(0.f);
  if (const auto it = lw.node.attrs.find("value"); it != lw.node.attrs.end()) {
    const Tensor* t = std::get_if<Tensor>(&it->second);
    if (!t || t->numel() != 1) lw.invalid("value must be a one-element tensor");
    value = *t;
  }
  if (!scalar_type(value.dtype)) lw.unsupported("value type {}", dtype_name(value.dtype));
  const Shape shape(dims.begin(), dims.end());
  Tensor filled(value.dtype, shape);
  const size_t elem = dtype_size(value.dtype);
  for (int64_t i = 0; i < shape_numel(shape); ++i)
    std::memcpy(filled.bytes.data() + i * elem, value.bytes.data(), elem);
  lw.define_constant_output(0, std::move(filled));
}

void lower_compare(Lowering& lw) {
  const std::string& op = lw.node.op_type;
  const Compare c = op == "Equal"            ? Compare::kEqual
                    : op == "Less"           ? Compare::kLess
                    : op == "Greater"        ? Compare::kGreater
                    : op == "LessOrEqual"    ? Compare::kLessOrEqual
                    : op == "GreaterOrEqual" ? Compare::kGreaterOrEqual
                    : op == "And"            ? Compare::kAnd
                    : op == "Or"             ? Compare::kOr
                                             : Compare::kXor;
  const int a = lw.as_plain(lw.input(0)), b = lw.as_plain(lw.input(1));
  const DType t = lw.value(a).dtype;
  const bool logical = c == Compare::kAnd || c == Compare::kOr || c == Compare::kXor;
  if (logical && t != DType::kBool) lw.invalid("input type {} (bool expected)", dtype_name(t));
  if (lw.value(b).dtype != t)
    lw.unsupported("mixed input types {} and {}", dtype_name(t), dtype_name(lw.value(b).dtype));
  if (t != DType::kFloat32 && t != DType::kInt64 && t != DType::kInt32 && t != DType::kBool)
    lw.unsupported("input type {}", dtype_name(t));
  const Shape out = broadcast_or_fail(lw, lw.value(a).shape, lw.value(b).shape);
  const Strides sa = broadcast_strides(lw.value(a).shape, out),
                sb = broadcast_strides(lw.value(b).shape, out);
  const int y = lw.define_output(0, DType::kBool, out, Layout::kPlain);
  add_kernel(lw, op, {a, b}, {y}, "compare", [=](ExecContext& ctx, const KernelStep& s) {
    uint8_t* dst = ctx.data<uint8_t>(s.outputs[0]);
    const int ia = s.inputs[0], ib = s.inputs[1];
    if (t == DType::kFloat32)
      run_compare(c, out, ctx.data<float>(ia), sa, ctx.data<float>(ib), sb, dst);
    else if (t == DType::kInt64)
      run_compare(c, out, ctx.data<int64_t>(ia), sa, ctx.data<int64_t>(ib), sb, dst);
    else if (t == DType::kInt32)
      run_compare(c, out, ctx.data<int32_t>(ia), sa, ctx.data<int32_t>(ib), sb, dst);
    else
      run_compare(c, out, ctx.data<uint8_t>(ia), sa, ctx.data<uint8_t>(ib), sb, dst);
  });
}

void lower_not(Lowering& lw) {
  const int x = lw.as_plain(lw.input(0));
  if (lw.value(x).dtype != DType::kBool) lw.unsupported("input type {}", dtype_name(lw.value(x).dtype));
  const int64_t n = shape_numel(lw.value(x).shape);
  const int y = lw.define_output(0, DType::kBool, lw.value(x).shape, Layout::kPlain);
  add_kernel(lw, "Not", {x}, {y}, "not", [n](ExecContext& ctx, const KernelStep& s) {
    const uint8_t* src = ctx.data<uint8_t>(s.inputs[0]);
    uint8_t* dst = ctx.data<uint8_t>(s.outputs[0]);
    for (int64_t i = 0; i < n; ++i)
      dst[i] = src[i] ? 0 : 1;
  });
}

void lower_where(Lowering& lw) {
  const int c = lw.as_plain(lw.input(0)), a = lw.as_plain(lw.input(1)), b = lw.as_plain(lw.input(2));
  if (lw.value(c).dtype != DType::kBool)
    lw.invalid("condition type {} (bool expected)", dtype_name(lw.value(c).dtype));
  const DType t = lw.value(a).dtype;
  if (lw.value(b).dtype != t)
    lw.unsupported("mixed input types {} and {}", dtype_name(t), dtype_name(lw.value(b).dtype));
  if (!scalar_type(t)) lw.unsupported("input type {}", dtype_name(t));
  const Shape out =
      broadcast_or_fail(lw, broadcast_or_fail(lw, lw.value(c).shape, lw.value(a).shape), lw.value(b).shape);
  const std::vector<Strides> strides{broadcast_strides(lw.value(c).shape, out),
                                     broadcast_strides(lw.value(a).shape, out),
                                     broadcast_strides(lw.value(b).shape, out)};
  const size_t elem = dtype_size(t);
  const int y = lw.define_output(0, t, out, Layout::kPlain);
  add_kernel(lw, "Where", {c, a, b}, {y}, "where", [=](ExecContext& ctx, const KernelStep& s) {
    const uint8_t* cond = ctx.data<uint8_t>(s.inputs[0]);
    const std::byte *xa = ctx.ptr(s.inputs[1]), *xb = ctx.ptr(s.inputs[2]);
    std::byte* dst = ctx.ptr(s.outputs[0]);
    for_each_broadcast(out, strides, [&](const int64_t* o) {
      std::memcpy(dst, cond[o[0]] ? xa + o[1] * elem : xb + o[2] * elem, elem);
      dst += elem;
    });
  });
}

void lower_variadic(Lowering& lw) {
  const std::string& op = lw.node.op_type;
  if (lw.num_inputs() == 0) lw.invalid("no inputs");
  std::vector<int> ids;
  Shape out;
  for (size_t i = 0; i < lw.num_inputs(); ++i) {
    ids.push_back(lw.as_plain(lw.input(i)));
    if (lw.value(ids.back()).dtype != DType::kFloat32)
      lw.unsupported("input type {}", dtype_name(lw.value(ids.back()).dtype));
    out = i == 0 ? lw.value(ids[0]).shape : broadcast_or_fail(lw, out, lw.value(ids.back()).shape);
  }
  std::vector<Strides> strides;
  for (int id : ids)
    strides.push_back(broadcast_strides(lw.value(id).shape, out));
  const bool max = op == "Max", min = op == "Min", mean = op == "Mean";
  const int y = lw.define_output(0, DType::kFloat32, out, Layout::kPlain);
  add_kernel(lw, op, ids, {y}, "variadic", [=](ExecContext& ctx, const KernelStep& s) {
    std::vector<const float*> x;
    for (int id : s.inputs)
      x.push_back(ctx.data<float>(id));
    float* dst = ctx.data<float>(s.outputs[0]);
    const size_t n = x.size();
    for_each_broadcast(out, strides, [&](const int64_t* o) {
      float acc = x[0][o[0]];
      for (size_t k = 1; k < n; ++k) {
        const float v = x[k][o[k]];
        acc = max ? std::max(acc, v) : min ? std::min(acc, v) : acc + v;
      }
      *dst++ = mean ? acc / static_cast<float>(n) : acc;
    });
  });
}

}  // namespace partq::engine
