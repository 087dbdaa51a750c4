#include "head_conv.hpp"

#include <omp.h>

#include <algorithm>
#include <cstring>
#include <span>

namespace partq::engine {

namespace {

// The only node reading `v` (as its first input), if `v` is not a graph output.
const Node* sole_reader(const Lowering& lw, const Value* v, const char* op_type) {
  if (!v || lw.is_graph_output(v) || v->consumers.size() != 1) return nullptr;
  const Node* n = v->consumers[0];
  if (n->op_type != op_type || n->input(0) != v || n->outputs.size() != 1) return nullptr;
  for (size_t i = 1; i < n->inputs.size(); ++i)
    if (n->inputs[i] == v) return nullptr;
  return n;
}

// The shape a Reshape to `target` gives `in` (0 copies a dim unless allowzero, one -1 is inferred); empty
// when the target does not fit.
Shape reshaped(const Shape& in, const std::vector<int64_t>& target, bool allowzero) {
  Shape out(target.begin(), target.end());
  int64_t known = 1;
  int infer = -1;
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i] == 0 && !allowzero) {
      if (i >= in.size()) return {};
      out[i] = in[i];
    }
    if (out[i] == -1) {
      if (infer >= 0) return {};
      infer = static_cast<int>(i);
    } else if (out[i] < 0) {
      return {};
    } else {
      known *= out[i];
    }
  }
  if (infer >= 0) {
    if (known <= 0) return {};
    out[infer] = shape_numel(in) / known;
  }
  return shape_numel(out) == shape_numel(in) ? out : Shape{};
}

// Pixels per chunk: a few hundred (the chunk's output, P x OC floats, stays in the core's cache), and at
// least 4 chunks per thread where the tensor allows.
int64_t chunk_pixels(int64_t pixels) {
  const int64_t threads = std::max(1, omp_get_max_threads());
  return std::clamp<int64_t>((pixels + 4 * threads - 1) / (4 * threads), 64, 512);
}

}  // namespace

std::optional<HeadLayout> find_head_layout(const Lowering& lw, const RtValue& x, const Shape& y) {
  if (!lw.fuse() || y.size() != 4 || lw.node.outputs.size() != 1 || x.is_constant() ||
      x.layout != Layout::kNhwc || !x.strides.empty())
    return std::nullopt;
  // A smaller output stays in cache between the whole conv and the transposing copy, which then costs
  // less than running the conv in chunks (measured on yolov5n's heads: equal at 6.5 and 13 MiB, chunks
  // slower below, faster at 52 MiB).
  constexpr int64_t kMinOutputBytes = int64_t{16} << 20;
  if (shape_numel(y) * static_cast<int64_t>(sizeof(float)) < kMinOutputBytes) return std::nullopt;
  const Node* reshape = sole_reader(lw, lw.node.outputs[0], "Reshape");
  if (!reshape || reshape->inputs.size() < 2 || !reshape->input(1)) return std::nullopt;
  const Node* transpose = sole_reader(lw, reshape->outputs[0], "Transpose");
  if (!transpose || transpose->attr_ints("perm") != std::vector<int64_t>{0, 1, 3, 4, 2}) return std::nullopt;
  const int target = lw.id_of(reshape->input(1));
  if (target < 0 || !lw.value(target).is_constant()) return std::nullopt;
  const Shape r = reshaped(y, lw.value(target).constant->to_int64(), reshape->attr_int("allowzero", 0) != 0);
  if (r.size() != 5 || r[0] != y[0] || r[3] != y[2] || r[4] != y[3] || r[1] <= 0 || r[1] * r[2] != y[1])
    return std::nullopt;
  return HeadLayout{r[1], reshape, transpose};
}

std::unique_ptr<HeadConvStep> make_head_conv_step(
    const dnnl::engine& eng, const HeadLayout& head, const RtValue& x, const Shape& y,
    const std::string& impl,
    const std::function<dnnl::convolution_forward::primitive_desc(const dnnl::memory::desc&,
                                                                  const dnnl::memory::desc&)>& conv_pd,
    const dnnl::memory& weights, const float* bias, int src_zero_point) {
  const int64_t pixels = y[0] * y[2] * y[3], chunk = chunk_pixels(pixels);
  auto step = std::make_unique<HeadConvStep>();
  step->anchors = head.anchors;
  dnnl::stream s(eng);
  auto make_part = [&](int64_t n, HeadConvStep::Part& part) {
    part.pixels = n;
    const dnnl::memory::desc src_md({1, x.shape[1], 1, n}, dnnl_dtype(x.dtype),
                                    dnnl::memory::format_tag::acdb);
    const dnnl::memory::desc dst_md({1, y[1], 1, n}, dnnl::memory::data_type::f32,
                                    dnnl::memory::format_tag::acdb);
    dnnl::convolution_forward::primitive_desc pd = conv_pd(src_md, dst_md);
    if (pd.impl_info_str() != impl) return false;
    part.conv.init(pd, weights, s, std::span<const HeadConvStep::Part>(&step->chunk, 1));  // tail: chunk's
    step->shared.init(eng, pd.bias_desc(), bias, src_zero_point);
    return true;
  };
  if (!make_part(chunk, step->chunk)) return nullptr;
  if (pixels % chunk != 0 && !make_part(pixels % chunk, step->tail)) return nullptr;
  s.wait();
  step->impl = impl + " [partq:pixel_chunks]";
  return step;
}

void add_head_conv_step(Lowering& lw, const HeadLayout& h, const Shape& y, int x, std::string op,
                        std::unique_ptr<HeadConvStep> step) {
  const std::string how = fmt::format("written straight in the layout of '{}'", h.transpose->name);
  lw.mark_fused_away(lw.node.outputs[0], how);
  lw.mark_fused_away(h.reshape->outputs[0], how);
  lw.absorb(*h.reshape);
  lw.absorb(*h.transpose);
  const int out = lw.define_value(h.transpose->outputs[0], DType::kFloat32,
                                  {y[0], h.anchors, y[2], y[3], y[1] / h.anchors}, Layout::kPlain);
  const std::string impl = step->impl;
  init_step(*step, lw, std::move(op), {x}, {out}, impl);
  step->nodes.insert(step->nodes.begin() + 1, {h.reshape->name, h.transpose->name});
  lw.add_step(std::move(step));
}

void HeadConvStep::execute(ExecContext& ctx) {
  ctx.stream.wait();  // the input is complete
  const RtValue& xv = ctx.value(inputs[0]);
  const RtValue& yv = ctx.value(outputs[0]);  // [N, A, H, W, K]
  const Strides ys = value_strides(yv);
  const int64_t cells = yv.shape[2] * yv.shape[3], box = yv.shape[4], channels = anchors * box;
  const int64_t pixels = yv.shape[0] * cells, chunks = (pixels + chunk.pixels - 1) / chunk.pixels;
  const size_t in_pixel = static_cast<size_t>(xv.shape[1]) * dtype_size(xv.dtype);
  const size_t box_bytes = static_cast<size_t>(box) * sizeof(float);
  streams_.prepare(ctx.engine, std::max(1, omp_get_max_threads()));
  const size_t scratch_bytes = std::max(chunk.conv.scratch_md.get_size(), tail.conv.scratch_md.get_size());
  const size_t out_floats = static_cast<size_t>(chunk.pixels * channels);
  const std::byte* x = ctx.ptr(inputs[0]);
  std::byte* y = ctx.ptr(outputs[0]);
  parallel_for(chunks, [&](int64_t c) {
    const int thread = omp_get_thread_num();
    const PieceMemory mem = piece_memory(scratch_bytes, out_floats);
    const int64_t p0 = c * chunk.pixels, n = std::min(chunk.pixels, pixels - p0);
    const Part& part = n == chunk.pixels ? chunk : tail;
    part.conv.run(streams_[thread], x + p0 * in_pixel, mem.out, mem.scratch, shared);
    for (int64_t q = 0; q < n; ++q) {
      const int64_t p = p0 + q, image = p / cells, cell = p % cells;
      const std::byte* from = reinterpret_cast<const std::byte*>(mem.out + q * channels);
      std::byte* to = y + (image * ys[0] + cell * box) * static_cast<int64_t>(sizeof(float));
      for (int64_t a = 0; a < anchors; ++a)
        std::memcpy(to + a * ys[1] * static_cast<int64_t>(sizeof(float)), from + a * box_bytes, box_bytes);
    }
  });
}

bool HeadConvStep::accepts_view(int id, const RtValue& v) const {
  // Its output, as long as each [H, W, K] slab stays dense.
  if (id != outputs[0] || v.shape.size() != 5 || v.strides.size() != 5) return false;
  return v.strides[4] == 1 && v.strides[3] == v.shape[4] && v.strides[2] == v.shape[3] * v.shape[4];
}

}  // namespace partq::engine
