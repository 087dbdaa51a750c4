// Tensor construction and element conversion.
#include <cstring>

#include "half.hpp"
#include "partq/error.hpp"
#include "partq/ir.hpp"

namespace partq {

Tensor::Tensor(DType dtype_, Shape shape_) : dtype(dtype_), shape(std::move(shape_)) {
  const int64_t n = shape_numel(shape);
  if (n < 0) fail("cannot allocate a tensor of unknown shape {}", shape_str(shape));
  if (dtype == DType::kUndefined) fail("cannot allocate a tensor of undefined dtype");
  bytes.assign(static_cast<size_t>(n) * dtype_size(dtype), std::byte{0});
}

namespace {

// Calls fn(i, value) for every element, value converted to Out.
template <typename Out, typename Fn>
void for_each_as(const Tensor& t, Fn&& fn) {
  const size_t n = dtype_size(t.dtype) ? t.bytes.size() / dtype_size(t.dtype) : 0;
  auto run = [&](auto tag) {
    using T = decltype(tag);
    auto data = t.as<T>();
    for (size_t i = 0; i < n; ++i)
      fn(i, static_cast<Out>(data[i]));
  };
  switch (t.dtype) {
    case DType::kFloat32:
      run(float{});
      break;
    case DType::kFloat64:
      run(double{});
      break;
    case DType::kInt64:
      run(int64_t{});
      break;
    case DType::kInt32:
      run(int32_t{});
      break;
    case DType::kInt8:
      run(int8_t{});
      break;
    case DType::kUInt8:
      run(uint8_t{});
      break;
    case DType::kBool:
      run(uint8_t{});
      break;
    case DType::kFloat16: {
      auto data = t.as<uint16_t>();
      for (size_t i = 0; i < n; ++i)
        fn(i, static_cast<Out>(detail::half_to_float(data[i])));
      break;
    }
    case DType::kUndefined:
      fail("cannot read elements of a tensor of undefined dtype");
  }
}

}  // namespace

std::vector<int64_t> Tensor::to_int64() const {
  std::vector<int64_t> out(bytes.size() / std::max<size_t>(dtype_size(dtype), 1));
  for_each_as<int64_t>(*this, [&](size_t i, int64_t v) { out[i] = v; });
  return out;
}

std::vector<float> Tensor::to_float() const {
  std::vector<float> out(bytes.size() / std::max<size_t>(dtype_size(dtype), 1));
  for_each_as<float>(*this, [&](size_t i, float v) { out[i] = v; });
  return out;
}

Tensor Tensor::from_float(Shape shape, std::span<const float> values) {
  Tensor t(DType::kFloat32, std::move(shape));
  if (static_cast<int64_t>(values.size()) != t.numel())
    fail("from_float: {} values for shape {}", values.size(), shape_str(t.shape));
  std::memcpy(t.bytes.data(), values.data(), t.bytes.size());
  return t;
}

Tensor Tensor::from_int64(Shape shape, std::span<const int64_t> values) {
  Tensor t(DType::kInt64, std::move(shape));
  if (static_cast<int64_t>(values.size()) != t.numel())
    fail("from_int64: {} values for shape {}", values.size(), shape_str(t.shape));
  std::memcpy(t.bytes.data(), values.data(), t.bytes.size());
  return t;
}

}  // namespace partq
