#include "band_conv.hpp"

#include <omp.h>

#include <algorithm>
#include <map>
#include <tuple>

#include "../cpu_features.hpp"
#include "../silu.hpp"

namespace partq::engine {

namespace {

// A band's f32 output stays within this many bytes, half a core's L2 cache here, to be read back from it.
// (yolov5n INT8 at batch 8 measured 55-59 ms with 256 KiB to 2 MiB bands, 61 ms with 64 KiB.)
constexpr int64_t kBandBytes = int64_t{512} << 10;

}  // namespace

std::unique_ptr<BandConvStep> make_band_conv_step(
    const dnnl::engine& eng, const RtValue& x, const Shape& y, const BandRows& rows, float out_scale,
    const std::function<dnnl::convolution_forward::primitive_desc(
        const dnnl::memory::desc&, const dnnl::memory::desc&, int64_t, int64_t)>& conv_pd,
    const dnnl::memory& weights, const float* bias, int out_zero_point, int src_zero_point,
    std::shared_ptr<const SourceZeroPointFold> folded) {
  if (!(fast_silu_kernels() || cpu_path_overrides().portable_kernels) || x.shape.size() != 4 ||
      y.size() != 4 || x.layout != Layout::kNhwc || !x.strides.empty() || x.is_constant())
    return nullptr;
  const int64_t N = y[0], OC = y[1], OH = y[2], OW = y[3], C = x.shape[1], H = x.shape[2], W = x.shape[3];
  const int64_t row_bytes = OW * OC * static_cast<int64_t>(sizeof(float));
  const int64_t per_image = std::clamp<int64_t>((OH * row_bytes + kBandBytes - 1) / kBandBytes, 1, OH);
  const int64_t threads = std::max(1, omp_get_max_threads());
  if (N * per_image < threads) return nullptr;
  const int64_t band_rows = (OH + per_image - 1) / per_image;

  auto step = std::make_unique<BandConvStep>();
  step->out_scale = out_scale;
  step->out_zero_point = out_zero_point;
  step->source_zero_point = std::move(folded);
  const int64_t extent = (rows.kernel - 1) * rows.dilation + 1;
  std::map<std::tuple<int64_t, int64_t, int64_t>, size_t> part_of;  // (out rows, pad top, pad bottom)
  dnnl::stream s(eng);
  for (int64_t r0 = 0; r0 < OH; r0 += band_rows) {
    const int64_t out_rows = std::min(band_rows, OH - r0);
    const int64_t lo = r0 * rows.stride - rows.pad_top, hi = lo + (out_rows - 1) * rows.stride + extent;
    const int64_t in_lo = std::max<int64_t>(lo, 0), in_hi = std::min(hi, H);
    if (in_hi <= in_lo) return nullptr;  // a band of padding only
    const int64_t pad_top = in_lo - lo, pad_bottom = hi - in_hi;
    auto [it, added] = part_of.try_emplace({out_rows, pad_top, pad_bottom}, step->parts.size());
    if (added) {
      BandConvStep::Part part;
      part.in_rows = in_hi - in_lo;
      part.out_rows = out_rows;
      // NHWC rows are contiguous: the band is a dense NHWC image.
      const dnnl::memory::desc src_md({1, C, part.in_rows, W}, dnnl_dtype(x.dtype),
                                      dnnl::memory::format_tag::acdb);
      const dnnl::memory::desc dst_md({1, OC, out_rows, OW}, dnnl::memory::data_type::f32,
                                      dnnl::memory::format_tag::acdb);
      dnnl::convolution_forward::primitive_desc pd = conv_pd(src_md, dst_md, pad_top, pad_bottom);
      // Edge bands have uneven padding, for which oneDNN may pick another fast kernel (jit_int8 where the
      // whole conv runs brgconv); only a reference kernel is refused.
      if (std::string(pd.impl_info_str()).rfind("ref", 0) == 0) return nullptr;
      part.conv.init(pd, weights, s, step->parts);
      step->scratch_bytes = std::max(step->scratch_bytes, pd.scratchpad_desc().get_size());
      step->out_floats = std::max(step->out_floats, static_cast<size_t>(out_rows * OW * OC));
      const std::string kernel = pd.impl_info_str();
      if (step->impl.find(kernel) == std::string::npos)
        step->impl += (step->impl.empty() ? "" : " / ") + kernel;
      step->shared.init(eng, pd.bias_desc(), bias, src_zero_point);
      step->parts.push_back(std::move(part));
    }
    step->bands.push_back({r0, in_lo, it->second});
  }
  s.wait();
  step->impl += " [partq:silu_bands]";
  return step;
}

void BandConvStep::execute(ExecContext& ctx) {
  ctx.stream.wait();  // the input is complete
  const RtValue& xv = ctx.value(inputs[0]);
  const RtValue& yv = ctx.value(outputs[0]);
  const Strides xs = value_strides(xv);
  const int64_t OC = yv.shape[1], OH = yv.shape[2], OW = yv.shape[3];
  const int64_t items = yv.shape[0] * static_cast<int64_t>(bands.size());
  streams_.prepare(ctx.engine, std::max(1, omp_get_max_threads()));
  const std::byte* x = ctx.ptr(inputs[0]);
  std::byte* y = ctx.ptr(outputs[0]);
  const size_t x_elem = dtype_size(xv.dtype);
  parallel_for(items, [&](int64_t item) {
    const int thread = omp_get_thread_num();
    const PieceMemory mem = piece_memory(scratch_bytes, out_floats);
    const int64_t n = item / static_cast<int64_t>(bands.size());
    const Band& band = bands[item % bands.size()];
    const Part& part = parts[band.part];
    const std::byte* src = x + (n * xs[0] + band.in_row * xs[2]) * static_cast<int64_t>(x_elem);
    part.conv.run(streams_[thread], src, mem.out, mem.scratch, shared);
    if (source_zero_point) source_zero_point->add_owed(mem.out, band.out_row, part.out_rows, OW);
    const int64_t first = (n * OH + band.out_row) * OW, pixels = part.out_rows * OW;
    if (out_scale > 0)
      silu_to_s8(mem.out, reinterpret_cast<int8_t*>(y) + first * OC, pixels, OC, OC, out_scale,
                 out_zero_point);
    else
      silu_to_f32(mem.out, reinterpret_cast<float*>(y) + first * OC, pixels, OC, OC);
  });
}

}  // namespace partq::engine
