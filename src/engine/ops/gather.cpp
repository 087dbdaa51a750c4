// Gather along one axis: whole inner blocks copied per index (any type; indices constant or computed).
#include <cstring>

#include "common.hpp"
#include "registry.hpp"

namespace partq::engine {

void lower_gather(Lowering& lw) {
  int data = lw.as_plain(lw.input(0));
  int idx = lw.as_plain(lw.input(1));
  const RtValue& dv = lw.value(data);
  const RtValue& iv = lw.value(idx);
  if (iv.dtype != DType::kInt64 && iv.dtype != DType::kInt32)
    lw.unsupported("index type {}", dtype_name(iv.dtype));
  const Shape ds = dv.shape;
  const int64_t axis = lw.axis(lw.node.attr_int("axis", 0), static_cast<int64_t>(ds.size()));
  Shape out(ds.begin(), ds.begin() + axis);
  out.insert(out.end(), iv.shape.begin(), iv.shape.end());
  out.insert(out.end(), ds.begin() + axis + 1, ds.end());
  const int64_t outer = product(ds, 0, axis), inner = product(ds, axis + 1, ds.size()), extent = ds[axis];
  const int64_t count = shape_numel(iv.shape);
  const DType index_type = iv.dtype;
  int y = lw.define_output(0, dv.dtype, out, Layout::kPlain);
  const std::string name = lw.node.name;
  add_kernel(lw, "Gather", {data, idx}, {y}, "gather", [=](ExecContext& ctx, const KernelStep& s) {
    const size_t block = inner * dtype_size(ctx.value(s.inputs[0]).dtype);
    const std::byte* src = ctx.ptr(s.inputs[0]);
    std::byte* dst = ctx.ptr(s.outputs[0]);
    std::vector<int64_t> indices(count);
    for (int64_t k = 0; k < count; ++k) {
      int64_t i =
          index_type == DType::kInt64 ? ctx.data<int64_t>(s.inputs[1])[k] : ctx.data<int32_t>(s.inputs[1])[k];
      if (i < 0) i += extent;
      if (i < 0 || i >= extent) fail("node '{}' (op Gather): index {} out of range [0, {})", name, i, extent);
      indices[k] = i;
    }
    parallel_for(outer, [&](int64_t o) {
      for (int64_t k = 0; k < count; ++k)
        std::memcpy(dst + (o * count + k) * block, src + (o * extent + indices[k]) * block, block);
    });
  });
}

}  // namespace partq::engine
