// Shape and Constant (known at compile time: no step) and Cast (a conversion loop).
#include <cstring>

#include "common.hpp"
#include "registry.hpp"

namespace partq::engine {

void lower_shape(Lowering& lw) {
  const Shape in = lw.in(0).shape;
  const int64_t rank = static_cast<int64_t>(in.size());
  int64_t start = lw.node.attr_int("start", 0), end = lw.node.attr_int("end", rank);
  if (start < 0) start += rank;
  if (end < 0) end += rank;
  start = std::clamp<int64_t>(start, 0, rank);
  end = std::clamp<int64_t>(end, 0, rank);
  std::vector<int64_t> dims;
  for (int64_t i = start; i < end; ++i)
    dims.push_back(in[i]);
  lw.define_constant_output(0, Tensor::from_int64({static_cast<int64_t>(dims.size())}, dims));
}

void lower_size(Lowering& lw) {
  const int64_t n = shape_numel(lw.in(0).shape);
  lw.define_constant_output(0, Tensor::from_int64({}, std::span<const int64_t>(&n, 1)));
}

void lower_constant(Lowering& lw) {
  const Node& n = lw.node;
  if (const Tensor* t = n.attr_tensor("value")) {
    lw.define_constant_output(0, *t);
  } else if (n.has_attr("value_float")) {
    lw.define_constant_output(0, Tensor::scalar_float(n.attr_float("value_float", 0)));
  } else if (n.has_attr("value_floats")) {
    std::vector<float> v = n.attr_floats("value_floats");
    lw.define_constant_output(0, Tensor::from_float({static_cast<int64_t>(v.size())}, v));
  } else if (n.has_attr("value_int")) {
    int64_t v = n.attr_int("value_int", 0);
    lw.define_constant_output(0, Tensor::from_int64({}, std::span<const int64_t>(&v, 1)));
  } else if (n.has_attr("value_ints")) {
    std::vector<int64_t> v = n.attr_ints("value_ints");
    lw.define_constant_output(0, Tensor::from_int64({static_cast<int64_t>(v.size())}, v));
  } else {
    lw.unsupported("a Constant without value / value_float(s) / value_int(s)");
  }
}

namespace {

template <typename T>
double read_as_double(const std::byte* p, int64_t i) {
  return static_cast<double>(reinterpret_cast<const T*>(p)[i]);
}

double read(DType t, const std::byte* p, int64_t i) {
  switch (t) {
    case DType::kFloat32:
      return read_as_double<float>(p, i);
    case DType::kFloat64:
      return read_as_double<double>(p, i);
    case DType::kInt64:
      return read_as_double<int64_t>(p, i);
    case DType::kInt32:
      return read_as_double<int32_t>(p, i);
    case DType::kInt8:
      return read_as_double<int8_t>(p, i);
    case DType::kUInt8:
      return read_as_double<uint8_t>(p, i);
    case DType::kBool:
      return read_as_double<uint8_t>(p, i) != 0 ? 1.0 : 0.0;
    default:
      return 0;
  }
}

void write(DType t, std::byte* p, int64_t i, double v) {
  switch (t) {
    case DType::kFloat32:
      reinterpret_cast<float*>(p)[i] = static_cast<float>(v);
      break;
    case DType::kFloat64:
      reinterpret_cast<double*>(p)[i] = v;
      break;
    case DType::kInt64:
      reinterpret_cast<int64_t*>(p)[i] = static_cast<int64_t>(v);
      break;
    case DType::kInt32:
      reinterpret_cast<int32_t*>(p)[i] = static_cast<int32_t>(v);
      break;
    case DType::kInt8:
      reinterpret_cast<int8_t*>(p)[i] = static_cast<int8_t>(v);
      break;
    case DType::kUInt8:
      reinterpret_cast<uint8_t*>(p)[i] = static_cast<uint8_t>(v);
      break;
    case DType::kBool:
      reinterpret_cast<uint8_t*>(p)[i] = v != 0;
      break;
    default:
      break;
  }
}

DType from_onnx_type(int64_t t) {
  switch (t) {
    case 1:
      return DType::kFloat32;
    case 2:
      return DType::kUInt8;
    case 3:
      return DType::kInt8;
    case 6:
      return DType::kInt32;
    case 7:
      return DType::kInt64;
    case 9:
      return DType::kBool;
    case 11:
      return DType::kFloat64;
    default:
      return DType::kUndefined;
  }
}

}  // namespace

void lower_cast(Lowering& lw) {
  int x = lw.as_plain(lw.input(0));
  const DType from = lw.value(x).dtype;
  const DType to = from_onnx_type(lw.node.attr_int("to", 0));
  if (to == DType::kUndefined) lw.unsupported("cast to ONNX type {}", lw.node.attr_int("to", 0));
  if (from == DType::kFloat16 || from == DType::kUndefined) lw.unsupported("cast from {}", dtype_name(from));
  const Shape shape = lw.value(x).shape;
  int y = lw.define_output(0, to, shape, Layout::kPlain);
  add_kernel(lw, "Cast", {x}, {y}, "cast", [from, to, shape](ExecContext& ctx, const KernelStep& s) {
    const std::byte* src = ctx.ptr(s.inputs[0]);
    std::byte* dst = ctx.ptr(s.outputs[0]);
    const int64_t n = shape_numel(shape);
    if (from == to) {
      std::memcpy(dst, src, n * dtype_size(from));
      return;
    }
    for (int64_t i = 0; i < n; ++i)
      write(to, dst, i, read(from, src, i));
  });
}

}  // namespace partq::engine
