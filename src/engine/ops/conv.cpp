// Conv and ConvTranspose: oneDNN (de)convolution; 2D activations in NHWC, weights reordered once to the
// layout the chosen kernel wants; a fused activation (fusion.cpp) becomes an eltwise post-op.
#include <algorithm>
#include <cstring>
#include <optional>

#include "../cpu_features.hpp"
#include "../int8.hpp"
#include "../s8_table.hpp"
#include "band_conv.hpp"
#include "common.hpp"
#include "head_conv.hpp"
#include "registry.hpp"
#include "source_zero_point.hpp"

namespace partq::engine {

namespace {

using dims = dnnl::memory::dims;
using tag = dnnl::memory::format_tag;

// An s8 conv whose output codes then go through a table in place (the activation, see s8_table.hpp).
class TablePrimitiveStep : public PrimitiveStep {
 public:
  std::optional<S8Table> table;

  void execute(ExecContext& ctx) override {
    PrimitiveStep::execute(ctx);
    if (!table) return;
    ctx.stream.wait();  // the table reads what the conv wrote
    const int y = outputs[0];
    apply_s8_table(ctx.data<int8_t>(y), ctx.value(y).bytes(), *table);
  }
};

struct ConvGeometry {
  int64_t groups = 1;
  Shape kernel, strides, dilations, pad_begin, pad_end, output_padding;
  Shape out_spatial;
};

// Reads kernel_shape / strides / dilations / pads / auto_pad for `spatial` dims.
ConvGeometry read_geometry(const Lowering& lw, const Shape& x, const Shape& w, bool transposed) {
  const Node& n = lw.node;
  const size_t sp = x.size() - 2;
  ConvGeometry g;
  g.groups = n.attr_int("group", 1);
  g.kernel = n.attr_ints("kernel_shape", Shape(w.begin() + 2, w.end()));
  g.strides = n.attr_ints("strides", Shape(sp, 1));
  g.dilations = n.attr_ints("dilations", Shape(sp, 1));
  g.output_padding = n.attr_ints("output_padding", Shape(sp, 0));
  Shape pads = n.attr_ints("pads", Shape(2 * sp, 0));
  if (g.kernel.size() != sp || g.strides.size() != sp || g.dilations.size() != sp || pads.size() != 2 * sp ||
      g.output_padding.size() != sp)
    lw.invalid("kernel_shape/strides/dilations/pads do not match the input rank {}", x.size());
  for (size_t i = 0; i < sp; ++i)
    if (g.kernel[i] != w[i + 2])
      lw.invalid("kernel_shape {} does not match the weights {}", shape_str(g.kernel), shape_str(w));
  g.pad_begin.assign(pads.begin(), pads.begin() + sp);
  g.pad_end.assign(pads.begin() + sp, pads.end());
  const std::string auto_pad = n.attr_string("auto_pad", "NOTSET");
  Shape output_shape = n.attr_ints("output_shape");
  if (!output_shape.empty() && output_shape.size() != sp)
    output_shape.erase(output_shape.begin(), output_shape.begin() + 2);
  g.out_spatial.resize(sp);
  for (size_t i = 0; i < sp; ++i) {
    const int64_t in = x[i + 2], s = g.strides[i], ek = (g.kernel[i] - 1) * g.dilations[i] + 1;
    if (!transposed) {
      if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
        int64_t out = (in + s - 1) / s;
        int64_t total = std::max<int64_t>(0, (out - 1) * s + ek - in);
        g.pad_begin[i] = auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
        g.pad_end[i] = total - g.pad_begin[i];
      } else if (auto_pad == "VALID") {
        g.pad_begin[i] = g.pad_end[i] = 0;
      } else if (auto_pad != "NOTSET") {
        lw.unsupported("auto_pad '{}'", auto_pad);
      }
      g.out_spatial[i] = (in + g.pad_begin[i] + g.pad_end[i] - ek) / s + 1;
    } else {
      const int64_t op = g.output_padding[i];
      if (!output_shape.empty() || auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
        int64_t out = output_shape.empty() ? in * s : output_shape[i];
        int64_t total = s * (in - 1) + op + ek - out;
        if (total < 0) {  // a larger output than the natural one: the extra rows/cols come at the end
          g.pad_begin[i] = 0;
          g.pad_end[i] = total;
        } else if (auto_pad == "SAME_UPPER") {
          g.pad_begin[i] = total / 2;
          g.pad_end[i] = total - total / 2;
        } else {
          g.pad_begin[i] = total - total / 2;
          g.pad_end[i] = total / 2;
        }
      } else if (auto_pad == "VALID") {
        g.pad_begin[i] = g.pad_end[i] = 0;
      } else if (auto_pad != "NOTSET") {
        lw.unsupported("auto_pad '{}'", auto_pad);
      }
      g.out_spatial[i] = s * (in - 1) + op + ek - g.pad_begin[i] - g.pad_end[i];
    }
    if (g.out_spatial[i] <= 0) lw.invalid("output spatial size {} is not positive", g.out_spatial[i]);
  }
  return g;
}

// A 1x1 conv, stride 1, no padding, one group: each output pixel reads only its own input pixel.
bool pointwise(const ConvGeometry& g) {
  auto all = [](const Shape& s, int64_t v) {
    return std::all_of(s.begin(), s.end(), [v](int64_t e) { return e == v; });
  };
  return g.groups == 1 && all(g.kernel, 1) && all(g.strides, 1) && all(g.pad_begin, 0) && all(g.pad_end, 0);
}

// A fused SiLU that band_conv.hpp computes after an s8 conv instead of oneDNN's post-op. f32 convs keep the
// post-op: on yolov5n FP32 at batch 8 the bands measured no faster (141-143 ms either way), the f32 kernel
// being slow enough that its post-op is a small part of it.
bool banded_silu(const Lowering& lw) {
  return lw.fuse() && lw.silu_bands() && lw.fused && lw.fused->alg == dnnl::algorithm::eltwise_swish &&
         lw.fused->alpha == 1.f;
}

BandRows band_rows(const ConvGeometry& g) {
  return {g.kernel[0], g.strides[0], g.dilations[0], g.pad_begin[0], g.pad_end[0]};
}

// Defines the conv's output (NHWC, `dtype` at `scale`) as written by the band step and appends it.
void add_band_conv_step(Lowering& lw, std::unique_ptr<BandConvStep> step, int x, const Shape& ys, DType dtype,
                        float scale, std::string op) {
  const int y = lw.define_output(0, dtype, ys, Layout::kNhwc, scale, step->out_zero_point);
  const std::string impl = step->impl;
  init_step(*step, lw, std::move(op), {x}, {y}, impl);
  lw.add_step(std::move(step));
}

dims to_dims(const Shape& s, int64_t minus = 0) {
  dims d;
  for (int64_t v : s)
    d.push_back(v - minus);
  return d;
}

// A forward-inference direct convolution, with a bias when `bias` is given.
dnnl::convolution_forward::desc conv_desc(const dnnl::memory::desc& x, const dnnl::memory::desc& w,
                                          const dnnl::memory::desc* bias, const dnnl::memory::desc& y,
                                          const dims& strides, const dims& dil, const dims& pl,
                                          const dims& pr) {
  const auto prop = dnnl::prop_kind::forward_inference;
  const auto alg = dnnl::algorithm::convolution_direct;
  return bias ? dnnl::convolution_forward::desc(prop, alg, x, w, *bias, y, strides, dil, pl, pr)
              : dnnl::convolution_forward::desc(prop, alg, x, w, y, strides, dil, pl, pr);
}

dnnl::primitive_attr activation_attr(const Lowering& lw) {
  dnnl::primitive_attr attr;
  if (lw.fused) {
    dnnl::post_ops po;
    po.append_eltwise(1.f, lw.fused->alg, lw.fused->alpha, lw.fused->beta);
    attr.set_post_ops(po);
  }
  return attr;
}

// A 2D Conv on an s8 NHWC input (the compiler quantized it with the plan's scale s_x): s8 weights per output
// channel, f32 bias pre-divided by s_x * s_w[oc] (oneDNN adds the bias before the output scale), the fused
// activation and the requantization to the output's scale as post-ops; s8 output when every consumer reads
// the output quantized, else f32. An asymmetric input's zero point is folded into the bias where the conv
// reads no padding or runs in bands (source_zero_point.hpp), else it is oneDNN's source zero point (padding
// then reads as real 0); an asymmetric output's is the requantization's shift.
void lower_conv_int8(Lowering& lw) {
  int x = lw.input(0);
  const RtValue* xp = &lw.value(x);
  const float sx = xp->scale;
  const int zx = xp->zero_point;
  const Tensor& w = lw.require_constant(1, "the weight");
  const Tensor* b = lw.constant(2);
  if (lw.has_input(2) && !b) lw.unsupported("a bias computed at run time");
  const Shape xs = xp->shape;
  if (xs.size() != 4 || w.shape.size() != 4 || w.dtype != DType::kFloat32)
    lw.unsupported("int8 convolution of rank {}", xs.size());
  ConvGeometry g = read_geometry(lw, xs, w.shape, false);
  const int64_t G = g.groups, C = xs[1], OC = w.shape[0];
  if (C != w.shape[1] * G || OC % G != 0)
    lw.invalid("input channels {} do not fit weights {} with group {}", C, shape_str(w.shape), G);
  const int64_t ICg = C / G, OCg = OC / G, KH = w.shape[2], KW = w.shape[3];

  std::vector<float> sw = lw.weight_scales(w);
  std::vector<int8_t> qw = quantize_weight_tensor(w, 0, sw);
  if (max_weight_code(w, 0, sw) <= kHalvingExactCode) {  // int8.hpp: exact with or without VNNI
    for (int8_t& q : qw)
      q = static_cast<int8_t>(2 * q);
    for (float& scale : sw)
      scale /= 2.f;
  }
  const float sy = lw.int8_output_scale(0, /*zero_point_ok=*/true);
  const int zy = sy > 0 ? lw.int8_output_zero_point(0) : 0;
  using dt = dnnl::memory::data_type;
  const dt out_dt = sy > 0 ? dt::s8 : dt::f32;

  dims wdims = G > 1 ? dims{G, OCg, ICg, KH, KW} : dims{OC, ICg, KH, KW};
  dnnl::memory::desc w_plain(wdims, dt::s8, G > 1 ? tag::goihw : tag::oihw);
  dnnl::memory::desc w_any(wdims, dt::s8, tag::any);
  Shape ys = {xs[0], OC, g.out_spatial[0], g.out_spatial[1]};
  dnnl::memory::desc y_md(to_dims(ys), out_dt, tag::acdb);
  dnnl::memory::desc b_md({OC}, dt::f32, tag::a);

  std::vector<float> oscale(OC);
  for (int64_t oc = 0; oc < OC; ++oc)
    oscale[oc] = sx * sw[oc];
  // SiLU through a table (EngineOptions::int8_silu_table): the kernel writes codes on the table's input grid.
  std::optional<S8Grid> grid;
  if (sy > 0 && zy == 0 && lw.fused && lw.fused->alg == dnnl::algorithm::eltwise_swish &&
      lw.fused->alpha == 1.f && lw.int8_silu_table())
    grid = silu_input_grid(sy);
  const bool use_table = grid.has_value();
  dnnl::post_ops po;
  if (use_table) {
    po.append_eltwise(1.f, dnnl::algorithm::eltwise_linear, 1.f / grid->scale, grid->zero_point);
  } else {
    if (lw.fused) po.append_eltwise(1.f, lw.fused->alg, lw.fused->alpha, lw.fused->beta);
    if (sy > 0) po.append_eltwise(1.f, dnnl::algorithm::eltwise_linear, 1.f / sy, static_cast<float>(zy));
  }
  const ConvWindow window{g.kernel, g.strides, g.dilations, g.pad_begin, g.pad_end};
  const bool fold_zero_point = zx != 0 && !cpu_path_overrides().onednn_source_zero_points;
  // The whole-conv primitive (the bands have their own) folds the zero point into its bias where it reads no
  // padding, else it takes oneDNN's source zero point.
  const bool primitive_folds = fold_zero_point && !has_padding(window);
  const bool primitive_zero_point = zx != 0 && !primitive_folds;
  const bool primitive_bias = b || primitive_folds;
  auto make_attr = [&] {
    dnnl::primitive_attr attr;
    attr.set_output_scales(1 << 1, oscale);
    attr.set_post_ops(po);
    if (primitive_zero_point) attr.set_zero_points(DNNL_ARG_SRC, 0, {DNNL_RUNTIME_S32_VAL});
    return attr;
  };
  const dnnl::primitive_attr attr = make_attr();

  const auto& eng = lw.dnnl_engine();
  dims strides = to_dims(g.strides), dil = to_dims(g.dilations, 1), pl = to_dims(g.pad_begin),
       pr = to_dims(g.pad_end);
  auto make_pd = [&](const dnnl::memory::desc& x_md) {
    auto d = conv_desc(x_md, w_any, primitive_bias ? &b_md : nullptr, y_md, strides, dil, pl, pr);
    return dnnl::convolution_forward::primitive_desc(d, attr, eng);
  };
  dnnl::convolution_forward::primitive_desc pd = make_pd(md_of(*xp));
  std::string impl = pd.impl_info_str();
  if (xp->layout == Layout::kPlain && impl.rfind("ref", 0) == 0) {  // no fast NCHW s8 kernel: read NHWC
    x = lw.as_nhwc(x);
    xp = &lw.value(x);
    pd = make_pd(md_of(*xp));
    impl = pd.impl_info_str();
  }
  if (impl.rfind("ref", 0) ==
      0)  // a reference kernel is far slower than the f32 path: let the compiler fall back
    throw dnnl::error(dnnl_unimplemented, ("only a reference s8 kernel: " + impl).c_str());
  std::vector<float> bias;  // divided by the output scales (ONEDNN-NOTES 3)
  if (b) {
    if (b->numel() != OC || b->dtype != DType::kFloat32)
      lw.invalid("bias shape {} for {} channels", shape_str(b->shape), OC);
    bias = b->to_float();
    for (int64_t oc = 0; oc < OC; ++oc)
      bias[oc] /= oscale[oc];
  }
  // The folded zero point: the bias takes its interior part; banded convs add what border pixels are owed.
  const bool bands = !use_table && banded_silu(lw);
  std::shared_ptr<const SourceZeroPointFold> fold;
  std::vector<float> folded_bias;
  if (fold_zero_point && (primitive_folds || bands)) {
    fold = std::make_shared<const SourceZeroPointFold>(measure_source_zero_point(
        eng, xs, ys, window, zx,
        [&](const dnnl::memory::desc& src, const dnnl::memory::desc& dst, const dims& begin,
            const dims& end) {
          dnnl::primitive_attr a;
          a.set_output_scales(1 << 1, oscale);
          return dnnl::convolution_forward::primitive_desc(
              conv_desc(src, w_any, nullptr, dst, strides, dil, begin, end), a, eng);
        },
        dnnl::memory(w_plain, eng, qw.data()), bands));
    folded_bias = b ? bias : std::vector<float>(static_cast<size_t>(OC), 0.f);
    for (int64_t oc = 0; oc < OC; ++oc)
      folded_bias[oc] -= fold->interior[oc] / oscale[oc];
  }
  const float* primitive_bias_values = primitive_folds ? folded_bias.data() : b ? bias.data() : nullptr;
  const float* band_bias_values = fold ? folded_bias.data() : b ? bias.data() : nullptr;
  std::string op = "Conv";
  if (lw.fused) op += "+" + lw.fused->name;
  op += sy > 0 ? " s8->s8" : " s8->f32";

  // A detection head's conv writes its boxes straight in the transposed layout (head_conv.hpp).
  const std::optional<HeadLayout> head =
      sy > 0 || !pointwise(g) ? std::nullopt : find_head_layout(lw, *xp, ys);
  if (head) {
    auto hs = make_head_conv_step(
        eng, *head, *xp, ys, impl,
        [&](const dnnl::memory::desc& src, const dnnl::memory::desc& dst) {
          dnnl::primitive_attr a = make_attr();
          a.set_scratchpad_mode(dnnl::scratchpad_mode::user);
          auto d = conv_desc(src, w_any, primitive_bias ? &b_md : nullptr, dst, strides, dil, pl, pr);
          return dnnl::convolution_forward::primitive_desc(d, a, eng);
        },
        dnnl::memory(w_plain, eng, qw.data()), primitive_bias_values, primitive_zero_point ? zx : 0);
    if (hs) {
      if (primitive_folds) hs->impl += " [partq:zero_point_folded]";
      return add_head_conv_step(lw, *head, ys, x, op, std::move(hs));
    }
  }
  if (bands) {
    auto bs = make_band_conv_step(
        eng, *xp, ys, band_rows(g), sy,
        [&](const dnnl::memory::desc& src, const dnnl::memory::desc& dst, int64_t top, int64_t bottom) {
          dnnl::primitive_attr a;
          a.set_output_scales(1 << 1, oscale);
          if (zx != 0 && !fold) a.set_zero_points(DNNL_ARG_SRC, 0, {DNNL_RUNTIME_S32_VAL});
          a.set_scratchpad_mode(dnnl::scratchpad_mode::user);
          auto d = conv_desc(src, w_any, band_bias_values ? &b_md : nullptr, dst, strides, dil, {top, pl[1]},
                             {bottom, pr[1]});
          return dnnl::convolution_forward::primitive_desc(d, a, eng);
        },
        dnnl::memory(w_plain, eng, qw.data()), band_bias_values, zy, fold ? 0 : zx,
        fold && fold->has_border() ? fold : nullptr);
    if (bs) {
      if (fold) bs->impl += " [partq:zero_point_folded]";
      return add_band_conv_step(lw, std::move(bs), x, ys, sy > 0 ? DType::kInt8 : DType::kFloat32, sy, op);
    }
  }

  auto step = std::make_unique<TablePrimitiveStep>();
  if (use_table) step->table = silu_table(*grid, sy);
  step->prim = dnnl::convolution_forward(pd);
  // Blocked s8 weights carry compensation data: fill them with a reorder from plain oihw (ONEDNN-NOTES 5).
  dnnl::memory w_src(w_plain, eng, qw.data());
  dnnl::memory w_mem(pd.weights_desc(), eng);
  dnnl::stream s(eng);
  dnnl::reorder(w_src, w_mem).execute(s, w_src, w_mem);
  s.wait();
  step->owned_args.emplace_back(DNNL_ARG_WEIGHTS, w_mem);
  if (primitive_bias)
    step->owned_args.emplace_back(DNNL_ARG_BIAS, owned_memory(eng, b_md, primitive_bias_values));
  if (primitive_zero_point) {
    const int32_t z = zx;
    step->owned_args.emplace_back(DNNL_ARG_ATTR_ZERO_POINTS | DNNL_ARG_SRC,
                                  owned_memory(eng, dnnl::memory::desc({1}, dt::s32, tag::x), &z));
  }
  int y = lw.define_output(0, sy > 0 ? DType::kInt8 : DType::kFloat32, ys, Layout::kNhwc, sy, zy);
  step->value_args = {{DNNL_ARG_SRC, x}, {DNNL_ARG_DST, y}};
  if (use_table) impl += " + partq:silu_table";
  if (primitive_folds) impl += " [partq:zero_point_folded]";
  init_step(*step, lw, op, {x}, {y}, impl);
  lw.add_step(std::move(step));
}

void lower_conv_impl(Lowering& lw, bool transposed) {
  const RtValue& x0 = lw.in(0);
  if (!transposed && x0.dtype == DType::kInt8 && x0.scale > 0) return lower_conv_int8(lw);
  if (x0.dtype != DType::kFloat32) lw.unsupported("input type {}", dtype_name(x0.dtype));
  if (x0.shape.size() < 3 || x0.shape.size() > 5) lw.unsupported("input rank {}", x0.shape.size());
  const Tensor& w = lw.require_constant(1, "the weight");
  const Tensor* b = lw.constant(2);
  if (lw.has_input(2) && !b) lw.unsupported("a bias computed at run time");
  const Shape xs = x0.shape;
  const size_t sp = xs.size() - 2;
  if (w.shape.size() != xs.size())
    lw.invalid("weight shape {} does not fit input {}", shape_str(w.shape), shape_str(xs));
  ConvGeometry g = read_geometry(lw, xs, w.shape, transposed);
  const int64_t G = g.groups, C = xs[1];
  const int64_t OC = transposed ? w.shape[1] * G : w.shape[0];
  if (transposed ? w.shape[0] != C : C != w.shape[1] * G || OC % G != 0)
    lw.invalid("input channels {} do not fit weights {} with group {}", C, shape_str(w.shape), G);
  const int64_t ICg = C / G, OCg = OC / G;
  int64_t K = 1;
  for (size_t i = 0; i < sp; ++i)
    K *= g.kernel[i];

  // Weights as a oneDNN descriptor over the ONNX bytes (grouped convs see a leading G dim).
  dims kd = to_dims(g.kernel);
  dims wdims, wstrides;
  if (!transposed) {  // ONNX [OC, IC/G, k...]
    wdims = G > 1 ? dims{G, OCg, ICg} : dims{OC, ICg};
    wstrides = G > 1 ? dims{OCg * ICg * K, ICg * K, K} : dims{ICg * K, K};
  } else {  // ONNX [IC, OC/G, k...]
    wdims = G > 1 ? dims{G, OCg, ICg} : dims{OC, C};
    wstrides = G > 1 ? dims{ICg * OCg * K, K, OCg * K} : dims{K, OCg * K};
  }
  int64_t ks = K;
  for (size_t i = 0; i < sp; ++i) {
    wdims.push_back(kd[i]);
    ks /= kd[i];
    wstrides.push_back(ks);
  }
  const auto f32 = dnnl::memory::data_type::f32;
  dnnl::memory::desc w_plain(wdims, f32, wstrides);
  dnnl::memory::desc w_any(wdims, f32, tag::any);

  Shape ys = {xs[0], OC};
  ys.insert(ys.end(), g.out_spatial.begin(), g.out_spatial.end());
  const bool nhwc = xs.size() == 4;
  // A plain NCHW input with few channels (the image) is read as it is: oneDNN's kernels take NCHW sources for
  // first layers directly, cheaper than a reorder of the whole image to NHWC.
  const Layout layout = nhwc ? Layout::kNhwc : Layout::kPlain;
  dnnl::memory::desc y_md =
      nhwc ? dnnl::memory::desc(to_dims(ys), f32, tag::acdb) : plain_md(ys, DType::kFloat32);
  dnnl::memory::desc b_md({OC}, f32, tag::a);

  dnnl::primitive_attr attr = activation_attr(lw);
  const auto& eng = lw.dnnl_engine();
  auto step = std::make_unique<PrimitiveStep>();
  dnnl::memory::desc chosen_w;
  std::string impl;
  dims strides = to_dims(g.strides), dil = to_dims(g.dilations, 1), pl = to_dims(g.pad_begin),
       pr = to_dims(g.pad_end);
  if (transposed)  // oneDNN has no output_padding: it is extra (possibly negative) end padding
    for (size_t i = 0; i < sp; ++i)
      pr[i] -= g.output_padding[i];
  const auto prop = dnnl::prop_kind::forward_inference;
  auto conv_pd = [&](const dnnl::memory::desc& x_md) {
    auto d = conv_desc(x_md, w_any, b ? &b_md : nullptr, y_md, strides, dil, pl, pr);
    return dnnl::convolution_forward::primitive_desc(d, attr, eng);
  };
  int x = -1;
  if (nhwc && C <= 4 && lw.in(0).layout == Layout::kPlain && !transposed) {
    // The image (few channels, plain NCHW): read it as it is when a fast kernel takes NCHW sources; a reorder
    // of the whole image to NHWC costs about as much as the first conv.
    if (std::string(conv_pd(md_of(lw.in(0))).impl_info_str()).rfind("ref", 0) != 0) x = lw.input(0);
  }
  if (x < 0) x = nhwc ? lw.as_nhwc(lw.input(0)) : lw.as_plain(lw.input(0));
  dnnl::memory::desc x_md = md_of(lw.value(x));
  if (!transposed) {
    dnnl::convolution_forward::primitive_desc pd = conv_pd(x_md);
    chosen_w = pd.weights_desc();
    impl = pd.impl_info_str();
    step->prim = dnnl::convolution_forward(pd);
  } else {
    auto d = b ? dnnl::deconvolution_forward::desc(prop, dnnl::algorithm::deconvolution_direct, x_md, w_any,
                                                   b_md, y_md, strides, dil, pl, pr)
               : dnnl::deconvolution_forward::desc(prop, dnnl::algorithm::deconvolution_direct, x_md, w_any,
                                                   y_md, strides, dil, pl, pr);
    dnnl::deconvolution_forward::primitive_desc pd(d, attr, eng);
    chosen_w = pd.weights_desc();
    impl = pd.impl_info_str();
    step->prim = dnnl::deconvolution_forward(pd);
  }
  if (b && (b->numel() != OC || b->dtype != DType::kFloat32))
    lw.invalid("bias shape {} for {} channels", shape_str(b->shape), OC);
  std::string op = transposed ? "ConvTranspose" : "Conv";
  if (lw.fused) op += "+" + lw.fused->name;
  // A detection head's conv writes its boxes straight in the transposed layout (head_conv.hpp).
  const std::optional<HeadLayout> head =
      transposed || !nhwc || !pointwise(g) ? std::nullopt : find_head_layout(lw, lw.value(x), ys);
  if (head) {
    auto hs = make_head_conv_step(
        eng, *head, lw.value(x), ys, impl,
        [&](const dnnl::memory::desc& src, const dnnl::memory::desc& dst) {
          dnnl::primitive_attr a = activation_attr(lw);
          a.set_scratchpad_mode(dnnl::scratchpad_mode::user);
          auto d = conv_desc(src, w_any, b ? &b_md : nullptr, dst, strides, dil, pl, pr);
          return dnnl::convolution_forward::primitive_desc(d, a, eng);
        },
        dnnl::memory(w_plain, eng, const_cast<std::byte*>(w.bytes.data())),
        b ? b->as<const float>().data() : nullptr, 0);
    if (hs) return add_head_conv_step(lw, *head, ys, x, op, std::move(hs));
  }
  // Weights are reordered once, here, into the kernel's preferred layout.
  dnnl::memory w_src(w_plain, eng, const_cast<std::byte*>(w.bytes.data()));
  dnnl::memory w_mem(chosen_w, eng);
  dnnl::stream s(eng);
  dnnl::reorder(w_src, w_mem).execute(s, w_src, w_mem);
  s.wait();
  step->owned_args.emplace_back(DNNL_ARG_WEIGHTS, w_mem);
  if (b) step->owned_args.emplace_back(DNNL_ARG_BIAS, owned_memory(eng, b_md, b->bytes.data()));
  int y = lw.define_output(0, DType::kFloat32, ys, layout);
  step->value_args = {{DNNL_ARG_SRC, x}, {DNNL_ARG_DST, y}};
  init_step(*step, lw, op, {x}, {y}, impl);
  lw.add_step(std::move(step));
}

}  // namespace

void lower_conv(Lowering& lw) {
  lower_conv_impl(lw, false);
}
void lower_conv_transpose(Lowering& lw) {
  lower_conv_impl(lw, true);
}

}  // namespace partq::engine
