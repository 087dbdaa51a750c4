// An s8 conv's source zero point z taken out of oneDNN. Per output: sum_k w_k (q_k - z) = sum_k w_k q_k -
// z sum_k w_k. The second term is the same at every output pixel whose window lies inside the input, so it
// goes into the bias and the conv runs as a plain s8 conv: the kernels of symmetric activations, whose speed
// does not depend on oneDNN's zero-point support (which adds padding compensation to every padded conv).
// Where a window overlaps the padding, ONNX reads the padded taps as real 0 (code z) but the plain conv reads
// them as code 0, so those pixels are owed z times the weights of the padded taps: a fixed amount per output
// channel for each class of border pixel, added to the f32 output before the activation (band_conv.hpp).
// Both amounts are measured by running the conv on an input of codes z, so they carry the kernel's own
// arithmetic (oneDNN's s8 kernels halve the weights on CPUs without VNNI).
#pragma once

#include <functional>
#include <vector>

#include "common.hpp"

namespace partq::engine {

struct SourceZeroPointFold {
  int64_t channels = 0;
  // Per output channel, in output units (after the output scales): what the zero point takes from a pixel
  // whose window lies inside the input. The bias absorbs it.
  std::vector<float> interior;
  // Per output row / column: 0 when no tap of the window falls in the padding, else the class of that edge.
  std::vector<int32_t> row_class, col_class;
  int64_t col_classes = 1;
  std::vector<int64_t> border_cols;  // the columns whose class is not 0
  // What a pixel of (row class r, column class c) is owed: owed[(r * col_classes + c) * channels + oc].
  std::vector<float> owed;

  bool has_border() const { return !owed.empty(); }

  // Adds what is owed to `rows` output rows from `first_row` of one image: f32 NHWC, `width` pixels a row.
  void add_owed(float* out, int64_t first_row, int64_t rows, int64_t width) const;
};

// The window of a 2D conv (NCHW order of the dims).
struct ConvWindow {
  Shape kernel, strides, dilations, pad_begin, pad_end;
};

// The fold of zero point `z` (non-zero) for a conv from an s8 input of dims `x` [N, C, H, W] to `y`
// [N, OC, OH, OW]. `conv_pd(src, dst, pad_begin, pad_end)` makes the conv's primitive_desc for an s8 NHWC
// `src` and f32 NHWC `dst`: its weights, strides, dilations and output scales, no bias, no zero point, no
// post-ops. `weights`: the plain s8 weights memory to reorder from. With `border` false (or no padding) the
// border amounts are not measured: the caller keeps oneDNN's zero point for padded convs it does not band.
SourceZeroPointFold measure_source_zero_point(
    const dnnl::engine& eng, const Shape& x, const Shape& y, const ConvWindow& window, int z,
    const std::function<dnnl::convolution_forward::primitive_desc(
        const dnnl::memory::desc&, const dnnl::memory::desc&, const dnnl::memory::dims&,
        const dnnl::memory::dims&)>& conv_pd,
    const dnnl::memory& weights, bool border);

// Whether the window reads any padding.
bool has_padding(const ConvWindow& window);

}  // namespace partq::engine
