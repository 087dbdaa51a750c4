#include "source_zero_point.hpp"

#include <cstring>
#include <map>
#include <utility>

namespace partq::engine {

namespace {

using dims = dnnl::memory::dims;
using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;

// The conv of `pd` on an input of codes z (batch 1): its f32 NHWC output.
std::vector<float> run_on_codes(const dnnl::engine& eng, const dnnl::convolution_forward::primitive_desc& pd,
                                const dnnl::memory& plain_weights, int z) {
  dnnl::stream s(eng);
  dnnl::memory src(pd.src_desc(), eng), weights(pd.weights_desc(), eng), dst(pd.dst_desc(), eng);
  std::memset(src.get_data_handle(), static_cast<int8_t>(z), pd.src_desc().get_size());
  dnnl::memory from = plain_weights;
  dnnl::reorder(from, weights).execute(s, from, weights);
  dnnl::convolution_forward(pd).execute(
      s, {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, weights}, {DNNL_ARG_DST, dst}});
  s.wait();
  const float* out = static_cast<const float*>(dst.get_data_handle());
  return std::vector<float>(out, out + pd.dst_desc().get_size() / sizeof(float));
}

// Per output position along one axis: 0 when every tap lies inside [0, in), else a class numbered from 1 for
// each distinct (taps before the start, taps past the end). Also returns a position of each class (-1 for
// class 0 when every position reads padding).
std::pair<std::vector<int32_t>, std::vector<int64_t>> edge_classes(int64_t out, int64_t in, int64_t kernel,
                                                                   int64_t stride, int64_t dilation,
                                                                   int64_t pad_begin) {
  std::map<std::pair<int64_t, int64_t>, int32_t> class_of{{{0, 0}, 0}};
  std::vector<int32_t> classes(static_cast<size_t>(out));
  std::vector<int64_t> position_of{-1};
  for (int64_t o = 0; o < out; ++o) {
    int64_t before = 0, after = 0;
    for (int64_t k = 0; k < kernel; ++k) {
      const int64_t i = o * stride - pad_begin + k * dilation;
      before += i < 0;
      after += i >= in;
    }
    auto [it, added] = class_of.try_emplace({before, after}, static_cast<int32_t>(position_of.size()));
    if (added) position_of.push_back(o);
    if (it->second == 0 && position_of[0] < 0) position_of[0] = o;
    classes[static_cast<size_t>(o)] = it->second;
  }
  return {classes, position_of};
}

}  // namespace

bool has_padding(const ConvWindow& window) {
  for (const Shape* pads : {&window.pad_begin, &window.pad_end})
    for (int64_t p : *pads)
      if (p != 0) return true;
  return false;
}

SourceZeroPointFold measure_source_zero_point(
    const dnnl::engine& eng, const Shape& x, const Shape& y, const ConvWindow& window, int z,
    const std::function<dnnl::convolution_forward::primitive_desc(
        const dnnl::memory::desc&, const dnnl::memory::desc&, const dims&, const dims&)>& conv_pd,
    const dnnl::memory& weights, bool border) {
  const int64_t C = x[1], H = x[2], W = x[3], OC = y[1], OH = y[2], OW = y[3];
  SourceZeroPointFold fold;
  fold.channels = OC;
  // Every tap inside: one output pixel of an input the size of the window, no padding.
  const int64_t eh = (window.kernel[0] - 1) * window.dilations[0] + 1,
                ew = (window.kernel[1] - 1) * window.dilations[1] + 1;
  fold.interior = run_on_codes(eng,
                               conv_pd(dnnl::memory::desc({1, C, eh, ew}, dt::s8, tag::acdb),
                                       dnnl::memory::desc({1, OC, 1, 1}, dt::f32, tag::acdb), {0, 0}, {0, 0}),
                               weights, z);
  if (!border || !has_padding(window)) return fold;

  const std::vector<float> full = run_on_codes(
      eng,
      conv_pd(dnnl::memory::desc({1, C, H, W}, dt::s8, tag::acdb),
              dnnl::memory::desc({1, OC, OH, OW}, dt::f32, tag::acdb), window.pad_begin, window.pad_end),
      weights, z);
  std::vector<int64_t> row_at, col_at;
  std::tie(fold.row_class, row_at) =
      edge_classes(OH, H, window.kernel[0], window.strides[0], window.dilations[0], window.pad_begin[0]);
  std::tie(fold.col_class, col_at) =
      edge_classes(OW, W, window.kernel[1], window.strides[1], window.dilations[1], window.pad_begin[1]);
  fold.col_classes = static_cast<int64_t>(col_at.size());
  for (int64_t ow = 0; ow < OW; ++ow)
    if (fold.col_class[static_cast<size_t>(ow)] != 0) fold.border_cols.push_back(ow);
  if (row_at.size() == 1 && col_at.size() == 1) return fold;  // the padding is never read
  // A pixel of a class is owed what the interior takes minus what its own window takes.
  fold.owed.assign(row_at.size() * col_at.size() * static_cast<size_t>(OC), 0.f);
  for (size_t r = 0; r < row_at.size(); ++r)
    for (size_t c = 0; c < col_at.size(); ++c) {
      if ((r == 0 && c == 0) || row_at[r] < 0 || col_at[c] < 0) continue;  // owes nothing, or no such pixel
      const float* at = full.data() + (row_at[r] * OW + col_at[c]) * OC;
      float* owed = fold.owed.data() + (r * col_at.size() + c) * static_cast<size_t>(OC);
      for (int64_t oc = 0; oc < OC; ++oc)
        owed[oc] = fold.interior[static_cast<size_t>(oc)] - at[oc];
    }
  return fold;
}

void SourceZeroPointFold::add_owed(float* out, int64_t first_row, int64_t rows, int64_t width) const {
  if (owed.empty()) return;
  const int64_t C = channels;
  auto add = [&](float* pixel, int32_t r, int32_t c) {
    const float* o = owed.data() + (r * col_classes + c) * C;
    for (int64_t oc = 0; oc < C; ++oc)
      pixel[oc] += o[oc];
  };
  for (int64_t i = 0; i < rows; ++i) {
    float* row = out + i * width * C;
    const int32_t r = row_class[static_cast<size_t>(first_row + i)];
    if (r != 0) {
      for (int64_t ow = 0; ow < width; ++ow)
        add(row + ow * C, r, col_class[static_cast<size_t>(ow)]);
    } else {
      for (int64_t ow : border_cols)
        add(row + ow * C, 0, col_class[static_cast<size_t>(ow)]);
    }
  }
}

}  // namespace partq::engine
