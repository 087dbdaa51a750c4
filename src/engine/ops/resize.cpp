// Resize (and Upsample): nearest and linear, the ONNX coordinate transformations, computed from per-dim index
// tables. Works in either layout (NHWC copies whole channel vectors). Linear interpolates the last two dims.
#include <cmath>

#include "common.hpp"
#include "registry.hpp"

namespace partq::engine {

namespace {

// Position in the input of output coordinate `x` along one dim.
// `out` is the resized length before flooring (in * scale), as in the ONNX reference implementation.
double source_coord(const std::string& mode, int64_t x, double scale, int64_t in, double out) {
  if (mode == "half_pixel") return (x + 0.5) / scale - 0.5;
  if (mode == "pytorch_half_pixel") return out > 1 ? (x + 0.5) / scale - 0.5 : 0.0;
  if (mode == "align_corners") return out == 1 ? 0.0 : x * static_cast<double>(in - 1) / (out - 1);
  if (mode == "asymmetric") return x / scale;
  return (x + 0.5) / scale;  // tf_half_pixel_for_nearest
}

int64_t nearest_index(const std::string& rounding, double c, int64_t in) {
  int64_t i;
  if (rounding == "floor")
    i = static_cast<int64_t>(std::floor(c));
  else if (rounding == "ceil")
    i = static_cast<int64_t>(std::ceil(c));
  else if (rounding == "round_prefer_ceil")
    i = static_cast<int64_t>(std::floor(c + 0.5));
  else
    i = (c - std::floor(c) == 0.5) ? static_cast<int64_t>(std::floor(c))
                                   : static_cast<int64_t>(std::round(c));
  return std::clamp<int64_t>(i, 0, in - 1);
}

struct LinearTap {
  int64_t i0, i1;
  float w1;  // weight of i1; i0 gets 1 - w1
};

}  // namespace

void lower_resize(Lowering& lw) {
  const Node& n = lw.node;
  const bool upsample = n.op_type == "Upsample";
  int x = lw.input(0);
  const RtValue& xv = lw.value(x);
  const bool s8 = xv.dtype == DType::kInt8 && xv.scale > 0;  // INT8 flowing through a nearest Resize
  if (xv.dtype != DType::kFloat32 && !s8) lw.unsupported("input type {}", dtype_name(xv.dtype));
  const Shape xs = xv.shape;
  const size_t rank = xs.size();
  const std::string mode = n.attr_string("mode", "nearest");
  if (mode != "nearest" && mode != "linear" && mode != "bilinear") lw.unsupported("mode '{}'", mode);
  const bool linear = mode != "nearest";
  if (s8 && linear) lw.unsupported("linear resize of an int8 tensor");
  std::string coord = n.attr_string("coordinate_transformation_mode", "half_pixel");
  if (coord == "tf_half_pixel_for_nn") coord = "tf_half_pixel_for_nearest";  // the opset-10 era spelling
  if (upsample || lw.opset() < 11) coord = "asymmetric";
  if (coord == "tf_crop_and_resize") lw.unsupported("coordinate_transformation_mode '{}'", coord);
  if (coord != "half_pixel" && coord != "pytorch_half_pixel" && coord != "align_corners" &&
      coord != "asymmetric" && coord != "tf_half_pixel_for_nearest")
    lw.invalid("unknown coordinate_transformation_mode '{}'", coord);
  std::string rounding = n.attr_string("nearest_mode", "round_prefer_floor");
  if (upsample || lw.opset() < 11) rounding = "floor";
  if (n.attr_int("antialias", 0) != 0) lw.unsupported("antialias=1");
  if (n.has_attr("axes")) lw.unsupported("the axes attribute");
  if (n.attr_string("keep_aspect_ratio_policy", "stretch") != "stretch")
    lw.unsupported("keep_aspect_ratio_policy");

  std::vector<double> scales, resized;  // resized: in * scale before flooring
  Shape out(rank);
  const size_t scales_input = (upsample || lw.opset() < 11) ? 1 : 2;
  const Tensor* sizes = (!upsample && lw.opset() >= 11) ? lw.constant(3) : nullptr;
  if (!upsample && lw.opset() >= 11 && lw.has_input(3) && !sizes)
    lw.unsupported("sizes computed at run time");
  const Tensor* sc = lw.constant(scales_input);
  if (lw.has_input(scales_input) && !sc) lw.unsupported("scales computed at run time");
  if (sizes && sizes->numel() > 0) {
    auto s = sizes->to_int64();
    if (s.size() != rank) lw.invalid("sizes has {} values for rank {}", s.size(), rank);
    for (size_t i = 0; i < rank; ++i) {
      out[i] = s[i];
      scales.push_back(static_cast<double>(s[i]) / xs[i]);
      resized.push_back(static_cast<double>(s[i]));
    }
  } else {
    std::vector<float> f = sc ? sc->to_float() : n.attr_floats("scales");
    if (f.size() != rank) lw.invalid("scales has {} values for rank {}", f.size(), rank);
    for (size_t i = 0; i < rank; ++i) {
      scales.push_back(f[i]);
      resized.push_back(xs[i] * static_cast<double>(f[i]));
      out[i] = static_cast<int64_t>(std::floor(resized.back()));
    }
  }
  const size_t first_resized = linear ? (rank >= 2 ? rank - 2 : 0) : 0;
  for (size_t i = 0; i < first_resized; ++i)
    if (out[i] != xs[i]) lw.unsupported("linear resize of dim {} (only the last two)", i);

  const Layout layout = rank == 4 ? xv.layout : Layout::kPlain;
  if (layout == Layout::kPlain) x = lw.as_plain(x);
  int y = lw.define_output(0, xv.dtype, out, layout, xv.scale, xv.zero_point);
  const Strides in_strides = layout == Layout::kNhwc ? nhwc_strides(xs) : dense_strides(xs);
  const Strides out_strides = layout == Layout::kNhwc ? nhwc_strides(out) : dense_strides(out);

  if (!linear) {
    // Per dim: input offset (elements) of each output coordinate.
    std::vector<std::vector<int64_t>> offs(rank);
    for (size_t d = 0; d < rank; ++d)
      for (int64_t o = 0; o < out[d]; ++o)
        offs[d].push_back(in_strides[d] * nearest_index(rounding,
                                                        source_coord(coord, o, scales[d], xs[d], resized[d]),
                                                        xs[d]));
    // Iterate in the output's memory order: the innermost memory dim is contiguous on both sides when
    // unscaled.
    std::vector<size_t> order(rank);
    for (size_t i = 0; i < rank; ++i)
      order[i] = i;
    if (layout == Layout::kNhwc) order = {0, 2, 3, 1};
    auto nearest = [=]<typename T>(ExecContext& ctx, const KernelStep& s, T) {
      const T* src = ctx.data<T>(s.inputs[0]);
      T* dst = ctx.data<T>(s.outputs[0]);
      const size_t inner_d = order[rank - 1];
      const int64_t inner = out[inner_d];
      const bool copy_run = out[inner_d] == xs[inner_d];
      int64_t outer = 1;
      for (size_t k = 0; k + 1 < rank; ++k)
        outer *= out[order[k]];
      parallel_for(outer, [&](int64_t o) {
        int64_t so = 0, doff = 0, rem = o;
        for (int k = static_cast<int>(rank) - 2; k >= 0; --k) {
          size_t d = order[k];
          int64_t idx = rem % out[d];
          rem /= out[d];
          so += offs[d][idx];
          doff += idx * out_strides[d];
        }
        T* drow = dst + doff;
        if (copy_run) {
          std::copy(src + so, src + so + inner, drow);
        } else {
          for (int64_t i = 0; i < inner; ++i)
            drow[i] = src[so + offs[inner_d][i]];
        }
      });
    };
    add_kernel(lw, n.op_type, {x}, {y}, s8 ? "resize_nearest_s8" : "resize_nearest",
               [=](ExecContext& ctx, const KernelStep& s) {
                 if (s8)
                   nearest(ctx, s, int8_t{});
                 else
                   nearest(ctx, s, float{});
               });
    return;
  }

  // Linear over the last two dims (rank 4 NCHW/NHWC, or rank >= 2 plain).
  auto taps = [&](size_t d) {
    std::vector<LinearTap> t;
    for (int64_t o = 0; o < out[d]; ++o) {
      double c = std::clamp(source_coord(coord, o, scales[d], xs[d], resized[d]), 0.0,
                            static_cast<double>(xs[d] - 1));
      int64_t i0 = static_cast<int64_t>(std::floor(c));
      int64_t i1 = std::min(i0 + 1, xs[d] - 1);
      t.push_back({i0, i1, static_cast<float>(c - i0)});
    }
    return t;
  };
  if (rank < 2) lw.unsupported("linear resize of rank {}", rank);
  const size_t dh = rank - 2, dw = rank - 1;
  std::vector<LinearTap> th = taps(dh), tw = taps(dw);
  const int64_t planes = product(out, 0, rank - 2);  // N*C (plain) or N (NHWC, channels handled inside)
  add_kernel(lw, n.op_type, {x}, {y}, "resize_linear", [=](ExecContext& ctx, const KernelStep& s) {
    const float* src = ctx.data<float>(s.inputs[0]);
    float* dst = ctx.data<float>(s.outputs[0]);
    const int64_t OH = out[dh], OW = out[dw];
    if (layout == Layout::kNhwc) {
      const int64_t N = out[0], C = out[1];
      parallel_for(N * OH, [&](int64_t r) {
        const int64_t nb = r / OH, oh = r % OH;
        const LinearTap& h = th[oh];
        for (int64_t ow = 0; ow < OW; ++ow) {
          const LinearTap& w = tw[ow];
          const float* p00 = src + nb * in_strides[0] + h.i0 * in_strides[2] + w.i0 * in_strides[3];
          const float* p01 = src + nb * in_strides[0] + h.i0 * in_strides[2] + w.i1 * in_strides[3];
          const float* p10 = src + nb * in_strides[0] + h.i1 * in_strides[2] + w.i0 * in_strides[3];
          const float* p11 = src + nb * in_strides[0] + h.i1 * in_strides[2] + w.i1 * in_strides[3];
          float* q = dst + nb * out_strides[0] + oh * out_strides[2] + ow * out_strides[3];
          for (int64_t c = 0; c < C; ++c) {
            float top = p00[c] + (p01[c] - p00[c]) * w.w1;
            float bot = p10[c] + (p11[c] - p10[c]) * w.w1;
            q[c] = top + (bot - top) * h.w1;
          }
        }
      });
      return;
    }
    const int64_t IH = xs[dh], IW = xs[dw];
    parallel_for(planes * OH, [&](int64_t r) {
      const int64_t p = r / OH, oh = r % OH;
      const LinearTap& h = th[oh];
      const float* r0 = src + p * IH * IW + h.i0 * IW;
      const float* r1 = src + p * IH * IW + h.i1 * IW;
      float* q = dst + p * OH * OW + oh * OW;
      for (int64_t ow = 0; ow < OW; ++ow) {
        const LinearTap& w = tw[ow];
        float top = r0[w.i0] + (r0[w.i1] - r0[w.i0]) * w.w1;
        float bot = r1[w.i0] + (r1[w.i1] - r1[w.i0]) * w.w1;
        q[ow] = top + (bot - top) * h.w1;
      }
    });
  });
}

}  // namespace partq::engine
