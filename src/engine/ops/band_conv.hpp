// A Conv+SiLU run on bands of output rows, each band into a small per-thread f32 buffer that stays in cache,
// then SiLU (and the requantization of an s8 output) by partq's own vector code (silu.hpp) into the output.
// oneDNN's fused SiLU post-op costs more than the s8 conv it is fused into; outside the kernel, over a
// buffer that is still in cache, it costs a third of that (docs/ops.md has the measured figures).
// A band of output rows of one image reads a contiguous band of NHWC input rows (the halo rows included), so
// each band is an ordinary conv on a smaller image whose padding is the real padding only at the image's top
// and bottom edges: the same kernel, the same sums.
#pragma once

#include <functional>
#include <vector>

#include "conv_part.hpp"
#include "source_zero_point.hpp"

namespace partq::engine {

class BandConvStep : public Step {
 public:
  struct Part {  // the conv on one band shape: [1, C, in_rows, W] -> [1, OC, out_rows, OW] (f32, NHWC)
    int64_t in_rows = 0, out_rows = 0;
    ConvPart conv;
  };
  struct Band {  // output rows [out_row, out_row + parts[part].out_rows) read input rows from in_row
    int64_t out_row = 0, in_row = 0;
    size_t part = 0;
  };
  std::vector<Part> parts;
  std::vector<Band> bands;  // of one image
  ConvPieceArgs shared;
  float out_scale = 0.f;  // > 0: the output is s8 at this scale (codes with out_zero_point); 0: f32
  int out_zero_point = 0;
  // The input's zero point, folded: what pixels whose window reads padding are owed; null when there is none.
  std::shared_ptr<const SourceZeroPointFold> source_zero_point;
  size_t scratch_bytes = 0, out_floats = 0;  // the largest part's

  void execute(ExecContext& ctx) override;

 private:
  PieceStreams streams_;
};

// The conv's rows: kernel extent, stride and padding along H (the caller's geometry).
struct BandRows {
  int64_t kernel = 1, stride = 1, dilation = 1, pad_top = 0, pad_bottom = 0;
};

// The step for a conv from `x` (4D, dense NHWC) to `y` [N, OC, OH, OW] (NHWC, f32 or, with out_scale > 0, s8
// codes with out_zero_point), or null when banding does not pay (too few bands to share among the threads, no
// vector SiLU on this CPU) or oneDNN has only a reference kernel for a band. The step's `impl` names the
// bands' kernels. `conv_pd(src, dst, pad_top, pad_bottom)` makes the conv's primitive_desc without the SiLU
// post-op and with f32 output (same weights, bias, output scales; user scratchpad) for a band; `weights` is
// the plain weights memory to reorder from, `bias` the bias values the primitives take (null for none). An
// asymmetric `x` has its zero point either declared by `conv_pd` as oneDNN's runtime source zero point, whose
// value is then `src_zero_point`, or folded (`folded`, with the bias already taking its interior part).
std::unique_ptr<BandConvStep> make_band_conv_step(
    const dnnl::engine& eng, const RtValue& x, const Shape& y, const BandRows& rows, float out_scale,
    const std::function<dnnl::convolution_forward::primitive_desc(
        const dnnl::memory::desc&, const dnnl::memory::desc&, int64_t, int64_t)>& conv_pd,
    const dnnl::memory& weights, const float* bias, int out_zero_point, int src_zero_point,
    std::shared_ptr<const SourceZeroPointFold> folded);

}  // namespace partq::engine
