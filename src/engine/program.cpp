#include "program.hpp"

#include <partq/error.hpp>

namespace partq::engine {

using dt = dnnl::memory::data_type;

dt dnnl_dtype(DType t) {
  switch (t) {
    case DType::kFloat32:
      return dt::f32;
    case DType::kInt32:
      return dt::s32;
    case DType::kInt8:
      return dt::s8;
    case DType::kUInt8:
      return dt::u8;
    case DType::kBool:
      return dt::u8;
    default:
      fail("tensor type {} has no oneDNN kernels", dtype_name(t));
  }
}

dnnl::memory::dims dnnl_dims(const Shape& shape) {
  if (shape.empty()) return {1};
  return dnnl::memory::dims(shape.begin(), shape.end());
}

dnnl::memory::dims plain_strides(const Shape& shape) {
  dnnl::memory::dims dims = dnnl_dims(shape);
  dnnl::memory::dims s(dims.size(), 1);
  for (int i = static_cast<int>(dims.size()) - 2; i >= 0; --i)
    s[i] = s[i + 1] * dims[i + 1];
  return s;
}

dnnl::memory::desc plain_md(const Shape& shape, DType t) {
  return dnnl::memory::desc(dnnl_dims(shape), dnnl_dtype(t), plain_strides(shape));
}

dnnl::memory::desc md_of(const RtValue& v) {
  if (!v.strides.empty())
    return dnnl::memory::desc(dnnl_dims(v.shape), dnnl_dtype(v.dtype),
                              dnnl::memory::dims(v.strides.begin(), v.strides.end()));
  if (v.layout == Layout::kNhwc)
    return dnnl::memory::desc(dnnl_dims(v.shape), dnnl_dtype(v.dtype), dnnl::memory::format_tag::acdb);
  return plain_md(v.shape, v.dtype);
}

void ExecContext::bind(int id, std::byte* p) {
  ptrs_[id] = p;
  if (mems_[id]) mems_[id].set_data_handle(p);
}

dnnl::memory& ExecContext::mem(int id) {
  if (!mems_[id]) mems_[id] = dnnl::memory(md_of(values_[id]), engine, ptrs_[id]);
  return mems_[id];
}

}  // namespace partq::engine
