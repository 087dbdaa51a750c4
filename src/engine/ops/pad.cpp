// Pad (constant, edge, reflect, wrap; negative pads crop), in the input's own layout: an NHWC activation
// stays NHWC. A constant zero Pad in front of a Conv never gets here: fold_pad_into_conv moves it into the
// Conv's own padding.
#include <cstring>

#include "common.hpp"
#include "registry.hpp"

namespace partq::engine {

namespace {

enum class PadMode { kConstant, kEdge, kReflect, kWrap };

// The input index an output index reads along one dim, or -1 for the constant.
int64_t source_index(int64_t out, int64_t before, int64_t dim, PadMode mode) {
  const int64_t i = out - before;
  if (i >= 0 && i < dim) return i;
  switch (mode) {
    case PadMode::kConstant:
      return -1;
    case PadMode::kEdge:
      return i < 0 ? 0 : dim - 1;
    case PadMode::kReflect: {
      if (dim == 1) return 0;
      const int64_t period = 2 * (dim - 1);
      const int64_t r = ((i % period) + period) % period;
      return r < dim ? r : period - r;
    }
    case PadMode::kWrap:
      return ((i % dim) + dim) % dim;
  }
  return -1;
}

struct PadGeometry {
  Shape in, out;  // ONNX dim order
  Strides in_strides, out_strides;
  std::vector<int64_t> before;
  PadMode mode = PadMode::kConstant;
  size_t elem = 4;
  std::vector<std::byte> fill;  // one element of the constant
};

// One output row (the innermost dim by output stride) at a time; the row's source dims resolved once.
void run_pad(const PadGeometry& g, const std::byte* x, std::byte* y) {
  const size_t rank = g.out.size();
  if (rank == 0) {
    std::memcpy(y, x, g.elem);
    return;
  }
  size_t inner = 0;  // the dim with the smallest output stride
  for (size_t d = 1; d < rank; ++d)
    if (g.out_strides[d] < g.out_strides[inner]) inner = d;
  const int64_t row = g.out[inner];
  const int64_t rows = row ? shape_numel(g.out) / row : 0;
  const bool dense_row = g.in_strides[inner] == 1 && g.out_strides[inner] == 1;
  parallel_for(rows, [&](int64_t r) {
    int64_t src = 0, dst = 0, rem = r;
    bool constant_row = false;
    for (size_t d = rank; d-- > 0;) {
      if (d == inner) continue;
      const int64_t o = rem % g.out[d];
      rem /= g.out[d];
      const int64_t i = source_index(o, g.before[d], g.in[d], g.mode);
      if (i < 0) constant_row = true;
      src += i * g.in_strides[d];
      dst += o * g.out_strides[d];
    }
    std::byte* out = y + dst * static_cast<int64_t>(g.elem);
    const int64_t os = g.out_strides[inner] * static_cast<int64_t>(g.elem);
    if (constant_row) {
      for (int64_t k = 0; k < row; ++k)
        std::memcpy(out + k * os, g.fill.data(), g.elem);
      return;
    }
    const std::byte* in = x + src * static_cast<int64_t>(g.elem);
    const int64_t is = g.in_strides[inner] * static_cast<int64_t>(g.elem);
    const int64_t b = g.before[inner], n = g.in[inner];
    // The part of the row that copies the input row in order.
    const int64_t k0 = std::clamp<int64_t>(b, 0, row), k1 = std::clamp<int64_t>(b + n, 0, row);
    for (int64_t k = 0; k < row; ++k) {
      if (dense_row && k == k0 && k1 > k0) {
        std::memcpy(out + k * os, in + (k - b) * is, static_cast<size_t>(k1 - k0) * g.elem);
        k = k1 - 1;
        continue;
      }
      const int64_t i = source_index(k, b, n, g.mode);
      std::memcpy(out + k * os, i < 0 ? g.fill.data() : in + i * is, g.elem);
    }
  });
}

std::vector<std::byte> fill_bytes(const Lowering& lw, DType dtype) {
  const Tensor* value = lw.has_input(2) ? &lw.require_constant(2, "constant_value") : nullptr;
  if (value && value->numel() > 1)
    lw.invalid("constant_value has {} elements (a scalar expected)", value->numel());
  const bool given = value && value->numel() == 1;
  std::vector<std::byte> bytes(dtype_size(dtype));
  if (dtype == DType::kFloat32) {
    const float v = given ? value->to_float().at(0) : 0.f;
    std::memcpy(bytes.data(), &v, sizeof v);
  } else if (dtype == DType::kInt64) {
    const int64_t v = given ? value->to_int64().at(0) : 0;
    std::memcpy(bytes.data(), &v, sizeof v);
  } else {
    const int32_t v = given ? static_cast<int32_t>(value->to_int64().at(0)) : 0;
    std::memcpy(bytes.data(), &v, sizeof v);
  }
  return bytes;
}

}  // namespace

void lower_pad(Lowering& lw) {
  int x = lw.input(0);
  const DType dtype = lw.value(x).dtype;
  if (dtype != DType::kFloat32 && dtype != DType::kInt64 && dtype != DType::kInt32)
    lw.unsupported("input type {}", dtype_name(dtype));
  PadGeometry g;
  g.in = lw.value(x).shape;
  const int64_t rank = static_cast<int64_t>(g.in.size());
  const std::string mode = lw.node.attr_string("mode", "constant");
  g.mode = mode == "constant"  ? PadMode::kConstant
           : mode == "edge"    ? PadMode::kEdge
           : mode == "reflect" ? PadMode::kReflect
           : mode == "wrap"    ? PadMode::kWrap
                               : (lw.unsupported("mode '{}'", mode), PadMode::kConstant);
  const std::vector<int64_t> pads = lw.require_constant(1, "pads").to_int64();
  std::vector<int64_t> axes;
  if (lw.has_input(3)) {
    for (int64_t a : lw.require_constant(3, "axes").to_int64())
      axes.push_back(lw.axis(a, rank));
  } else {
    for (int64_t a = 0; a < rank; ++a)
      axes.push_back(a);
  }
  if (pads.size() != 2 * axes.size())
    lw.invalid("pads has {} values for {} axes (2 per axis expected)", pads.size(), axes.size());
  g.before.assign(rank, 0);
  std::vector<int64_t> after(rank, 0);
  for (size_t i = 0; i < axes.size(); ++i) {
    g.before[axes[i]] = pads[i];
    after[axes[i]] = pads[i + axes.size()];
  }
  g.out = g.in;
  for (int64_t d = 0; d < rank; ++d) {
    g.out[d] = g.in[d] + g.before[d] + after[d];
    if (g.out[d] < 0) lw.invalid("pads {} crop dim {} (size {}) below 0", shape_str(pads), d, g.in[d]);
    if (g.mode != PadMode::kConstant && g.in[d] == 0 && g.out[d] > 0)
      lw.invalid("mode '{}' cannot pad dim {} of size 0", mode, d);
  }
  const Layout layout = lw.value(x).layout == Layout::kNhwc && rank == 4 ? Layout::kNhwc : Layout::kPlain;
  if (layout != lw.value(x).layout) x = lw.as_plain(x);
  g.in_strides = value_strides(lw.value(x));
  int y = lw.define_output(0, dtype, g.out, layout);
  g.out_strides = value_strides(lw.value(y));
  g.elem = dtype_size(dtype);
  g.fill = fill_bytes(lw, dtype);
  add_kernel(lw, "Pad", {x}, {y}, "pad", [g](ExecContext& ctx, const KernelStep& s) {
    run_pad(g, ctx.ptr(s.inputs[0]), ctx.ptr(s.outputs[0]));
  });
}

}  // namespace partq::engine
