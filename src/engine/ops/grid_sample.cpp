// GridSample (opset 16; the 4-D form of opset 20): the sampling step of multi-scale deformable attention
// (RT-DETR, D-FINE, RF-DETR decoders). X [N,C,H,W] read at the grid's normalised (x, y) points, grid
// [N,Ho,Wo,2], output [N,C,Ho,Wo]. Bilinear and nearest; zeros, border and reflection padding; both
// align_corners conventions. Coordinates are worked out once per output point and reused for every channel.
#include <cmath>

#include "common.hpp"
#include "registry.hpp"

namespace partq::engine {

namespace {

enum class Padding { kZeros, kBorder, kReflection };

// Folds `x` back into [lo, hi] as a mirror would (ONNX's reflection padding), for any distance outside.
float reflect(float x, float lo, float hi) {
  const float range = hi - lo;
  if (range <= 0) return lo;
  if (x >= lo && x <= hi) return x;
  const float d = x < lo ? lo - x : x - hi;
  const float flips = std::floor(d / range);
  const float r = d - flips * range;
  const bool even = std::fmod(flips, 2.f) == 0.f;
  if (x < lo) return even ? lo + r : hi - r;
  return even ? hi - r : lo + r;
}

struct Axis {
  int64_t size = 0;
  bool align_corners = false;
  Padding padding = Padding::kZeros;

  // Normalised [-1, 1] to pixel coordinates.
  float unnormalise(float g) const {
    return align_corners ? (g + 1.f) / 2.f * static_cast<float>(size - 1)
                         : ((g + 1.f) * static_cast<float>(size) - 1.f) / 2.f;
  }
  float lo() const { return align_corners ? 0.f : -0.5f; }
  float hi() const { return align_corners ? static_cast<float>(size - 1) : static_cast<float>(size) - 0.5f; }
  // The coordinate interpolation starts from: border clamps and reflection mirrors it into the image.
  float source(float g) const {
    const float x = unnormalise(g);
    if (padding == Padding::kBorder) return std::clamp(x, 0.f, static_cast<float>(size - 1));
    if (padding == Padding::kReflection) return reflect(x, lo(), hi());
    return x;
  }
  // The pixel read for integer coordinate i, or -1 for a zero (outside the image, zeros padding).
  int64_t pixel(int64_t i) const {
    if (i >= 0 && i < size) return i;
    if (padding == Padding::kZeros) return -1;
    if (padding == Padding::kBorder) return std::clamp<int64_t>(i, 0, size - 1);
    const auto r = static_cast<int64_t>(reflect(static_cast<float>(i), lo(), hi()));
    return std::clamp<int64_t>(r, 0, size - 1);
  }
};

}  // namespace

void lower_grid_sample(Lowering& lw) {
  const int x = lw.as_plain(lw.input(0));
  const int grid = lw.as_plain(lw.input(1));
  const RtValue& xv = lw.value(x);
  const RtValue& gv = lw.value(grid);
  if (xv.dtype != DType::kFloat32 || gv.dtype != DType::kFloat32)
    lw.unsupported("input types {} / {} (float32 only)", dtype_name(xv.dtype), dtype_name(gv.dtype));
  const Shape xs = xv.shape, gs = gv.shape;
  if (xs.size() != 4) lw.unsupported("input of rank {} (4-D [N,C,H,W] only)", xs.size());
  if (gs.size() != 4 || gs[0] != xs[0] || gs[3] != 2)
    lw.invalid("grid {} must be [N, H_out, W_out, 2] for input {}", shape_str(gs), shape_str(xs));

  const std::string mode = lw.node.attr_string("mode", "bilinear");
  const bool nearest = mode == "nearest";
  if (!nearest && mode != "bilinear" && mode != "linear")
    lw.unsupported("mode '{}' (bilinear / linear and nearest only)", mode);
  const std::string pad = lw.node.attr_string("padding_mode", "zeros");
  Padding padding = Padding::kZeros;
  if (pad == "border")
    padding = Padding::kBorder;
  else if (pad == "reflection")
    padding = Padding::kReflection;
  else if (pad != "zeros")
    lw.invalid("padding_mode '{}' (zeros, border or reflection)", pad);
  const bool align = lw.node.attr_int("align_corners", 0) != 0;

  const int64_t n = xs[0], channels = xs[1], ho = gs[1], wo = gs[2];
  const Axis ax{xs[3], align, padding}, ay{xs[2], align, padding};
  const int y = lw.define_output(0, DType::kFloat32, {n, channels, ho, wo}, Layout::kPlain);
  add_kernel(lw, "GridSample", {x, grid}, {y}, nearest ? "grid_sample_nearest" : "grid_sample_bilinear",
             [=](ExecContext& ctx, const KernelStep& s) {
               const float* src = ctx.data<float>(s.inputs[0]);
               const float* g = ctx.data<float>(s.inputs[1]);
               float* dst = ctx.data<float>(s.outputs[0]);
               const int64_t plane = ay.size * ax.size, out_plane = ho * wo;
               parallel_for(n * ho, [&](int64_t task) {
                 const int64_t b = task / ho, oy = task % ho;
                 const float* image = src + b * channels * plane;
                 float* out = dst + b * channels * out_plane + oy * wo;
                 for (int64_t ox = 0; ox < wo; ++ox) {
                   const float* point = g + ((b * ho + oy) * wo + ox) * 2;
                   const float fx = ax.source(point[0]), fy = ay.source(point[1]);
                   if (nearest) {
                     // nearbyint: halves round to even, as ONNX's reference and ONNX Runtime do.
                     const int64_t px = ax.pixel(static_cast<int64_t>(std::nearbyint(fx)));
                     const int64_t py = ay.pixel(static_cast<int64_t>(std::nearbyint(fy)));
                     for (int64_t c = 0; c < channels; ++c)
                       out[c * out_plane + ox] =
                           px < 0 || py < 0 ? 0.f : image[c * plane + py * ax.size + px];
                     continue;
                   }
                   const float x0f = std::floor(fx), y0f = std::floor(fy);
                   const float wx = fx - x0f, wy = fy - y0f;
                   const auto x0 = static_cast<int64_t>(x0f), y0 = static_cast<int64_t>(y0f);
                   const int64_t cx[2] = {ax.pixel(x0), ax.pixel(x0 + 1)};
                   const int64_t cy[2] = {ay.pixel(y0), ay.pixel(y0 + 1)};
                   const float w[4] = {(1 - wx) * (1 - wy), wx * (1 - wy), (1 - wx) * wy, wx * wy};
                   int64_t at[4];
                   for (int k = 0; k < 4; ++k) {
                     const int64_t px = cx[k & 1], py = cy[k >> 1];
                     at[k] = px < 0 || py < 0 ? -1 : py * ax.size + px;
                   }
                   for (int64_t c = 0; c < channels; ++c) {
                     const float* p = image + c * plane;
                     float v = 0;
                     for (int k = 0; k < 4; ++k)
                       if (at[k] >= 0) v += w[k] * p[at[k]];
                     out[c * out_plane + ox] = v;
                   }
                 }
               });
             });
}

}  // namespace partq::engine
