// LayerNormalization (opset 17): the normalisation of transformer blocks (RT-DETR's encoder, YOLO attention
// necks). Plain layout, f32. Mean and variance are accumulated in double: a row of a few hundred values with
// a large mean would lose digits in a float running sum, and ONNX Runtime's result is the reference.
#include <cmath>

#include "common.hpp"
#include "registry.hpp"

namespace partq::engine {

namespace {

// Offsets into a Scale / B input for each element of one normalised row: the input broadcasts to the
// normalised shape `row` (numpy rules, aligned on the right).
std::vector<int64_t> broadcast_offsets(const Lowering& lw, const Shape& param, const Shape& row,
                                       const char* what) {
  if (param.size() > row.size())
    lw.invalid("{} {} has more dims than the normalised shape {}", what, shape_str(param), shape_str(row));
  const size_t lead = row.size() - param.size();
  Strides pstr(row.size(), 0);
  const Strides dense = dense_strides(param);
  for (size_t d = 0; d < param.size(); ++d) {
    if (param[d] != 1 && param[d] != row[lead + d])
      lw.invalid("{} {} does not broadcast to the normalised shape {}", what, shape_str(param),
                 shape_str(row));
    pstr[lead + d] = param[d] == 1 ? 0 : dense[d];
  }
  const int64_t n = shape_numel(row);
  std::vector<int64_t> offsets(static_cast<size_t>(n));
  for (int64_t e = 0; e < n; ++e) {
    int64_t rem = e, off = 0;
    for (int64_t d = static_cast<int64_t>(row.size()) - 1; d >= 0; --d) {
      off += (rem % row[d]) * pstr[d];
      rem /= row[d];
    }
    offsets[e] = off;
  }
  return offsets;
}

// Writes (x - mean) / sqrt(var + eps) of one row through `affine(j, normalised)` and returns mean and
// 1 / sqrt(var + eps).
template <typename Affine>
std::pair<double, double> normalise_row(const float* in, float* out, int64_t width, float eps,
                                        Affine affine) {
  double sum = 0;
  for (int64_t j = 0; j < width; ++j)
    sum += in[j];
  const double mu = sum / static_cast<double>(width);
  double sq = 0;
  for (int64_t j = 0; j < width; ++j)
    sq += (in[j] - mu) * (in[j] - mu);
  const double inv = 1.0 / std::sqrt(sq / static_cast<double>(width) + eps);
  for (int64_t j = 0; j < width; ++j)
    out[j] = affine(j, static_cast<float>((in[j] - mu) * inv));
  return {mu, inv};
}

}  // namespace

void lower_layer_normalization(Lowering& lw) {
  const int x = lw.as_plain(lw.input(0));
  const RtValue& xv = lw.value(x);
  if (xv.dtype != DType::kFloat32) lw.unsupported("input type {} (float32 only)", dtype_name(xv.dtype));
  const Shape shape = xv.shape;
  const int64_t rank = static_cast<int64_t>(shape.size());
  if (rank == 0) lw.invalid("input is a scalar");
  const int64_t axis = lw.axis(lw.node.attr_int("axis", -1), rank);
  const float eps = lw.node.attr_float("epsilon", 1e-5f);
  const Shape row(shape.begin() + axis, shape.end());
  const int64_t rows = product(shape, 0, axis), width = shape_numel(row);
  if (width == 0) lw.invalid("the normalised dims of {} are empty", shape_str(shape));

  std::vector<int> inputs = {x};
  const int scale = lw.as_plain(lw.input(1));
  inputs.push_back(scale);
  const auto scale_at = broadcast_offsets(lw, lw.value(scale).shape, row, "Scale");
  std::vector<int64_t> bias_at;
  if (lw.has_input(2)) {
    const int bias = lw.as_plain(lw.input(2));
    inputs.push_back(bias);
    bias_at = broadcast_offsets(lw, lw.value(bias).shape, row, "B");
  }
  for (size_t i = 1; i < inputs.size(); ++i)
    if (lw.value(inputs[i]).dtype != DType::kFloat32)
      lw.unsupported("{} type {} (float32 only)", i == 1 ? "Scale" : "B",
                     dtype_name(lw.value(inputs[i]).dtype));

  Shape stat_shape = shape;
  for (int64_t d = axis; d < rank; ++d)
    stat_shape[d] = 1;
  const int y = lw.define_output(0, DType::kFloat32, shape, Layout::kPlain);
  const int mean = lw.define_output(1, DType::kFloat32, stat_shape, Layout::kPlain);
  const int inv_std = lw.define_output(2, DType::kFloat32, stat_shape, Layout::kPlain);
  add_kernel(lw, "LayerNormalization", inputs, {y, mean, inv_std}, "layer_norm",
             [=](ExecContext& ctx, const KernelStep& s) {
               const float* src = ctx.data<float>(s.inputs[0]);
               const float* gamma = ctx.data<float>(s.inputs[1]);
               const float* beta = s.inputs.size() > 2 ? ctx.data<float>(s.inputs[2]) : nullptr;
               float* dst = ctx.data<float>(s.outputs[0]);
               float* mean_out = ctx.data<float>(s.outputs[1]);
               float* inv_out = ctx.data<float>(s.outputs[2]);
               parallel_for(rows, [&](int64_t r) {
                 const auto [mu, inv] =
                     normalise_row(src + r * width, dst + r * width, width, eps, [&](int64_t j, float v) {
                       v *= gamma[scale_at[j]];
                       return beta ? v + beta[bias_at[j]] : v;
                     });
                 mean_out[r] = static_cast<float>(mu);
                 inv_out[r] = static_cast<float>(inv);
               });
             });
}

void lower_instance_normalization(Lowering& lw) {
  const int x = lw.as_plain(lw.input(0));
  const RtValue& xv = lw.value(x);
  if (xv.dtype != DType::kFloat32) lw.unsupported("input type {} (float32 only)", dtype_name(xv.dtype));
  const Shape shape = xv.shape;
  if (shape.size() < 3) lw.invalid("input {} has no spatial dims ([N, C, ...] expected)", shape_str(shape));
  const int64_t channels = shape[1], width = product(shape, 2, shape.size());
  const int scale = lw.as_plain(lw.input(1)), bias = lw.as_plain(lw.input(2));
  for (int p : {scale, bias})
    if (lw.value(p).dtype != DType::kFloat32 || shape_numel(lw.value(p).shape) != channels)
      lw.invalid("scale and B must be {} float32 values, one per channel; got {} {}", channels,
                 dtype_name(lw.value(p).dtype), shape_str(lw.value(p).shape));
  const float eps = lw.node.attr_float("epsilon", 1e-5f);
  const int64_t rows = shape[0] * channels;
  const int y = lw.define_output(0, DType::kFloat32, shape, Layout::kPlain);
  add_kernel(lw, "InstanceNormalization", {x, scale, bias}, {y}, "instance_norm",
             [=](ExecContext& ctx, const KernelStep& s) {
               const float* src = ctx.data<float>(s.inputs[0]);
               const float* gamma = ctx.data<float>(s.inputs[1]);
               const float* beta = ctx.data<float>(s.inputs[2]);
               float* dst = ctx.data<float>(s.outputs[0]);
               parallel_for(rows, [&](int64_t r) {
                 const float g = gamma[r % channels], b = beta[r % channels];
                 normalise_row(src + r * width, dst + r * width, width, eps,
                               [&](int64_t, float v) { return v * g + b; });
               });
             });
}

}  // namespace partq::engine
