// INT8 decisions of the compiler: which node inputs are read quantized (the Q/DQ placement the options
// carry), which nodes run s8 kernels, and the twins (quantize, dequantize, fake-quant) that connect f32 and
// s8 values.
#include <algorithm>
#ifdef __SSE2__
#include <immintrin.h>
#endif

#include "compiler.hpp"
#include "cpu_features.hpp"
#include "image_quantize.hpp"
#include "int8.hpp"
#include "ops/common.hpp"

namespace partq::engine {

namespace {

bool is_weighted_op(const std::string& op) {
  return op == "Conv" || op == "ConvTranspose" || op == "Gemm" || op == "MatMul";
}

// The per-channel axis of a weighted node's weight (input 1): its output channels.
int64_t weight_axis(const Node& node, const Tensor& w) {
  if (node.op_type == "ConvTranspose") return 1;
  if (node.op_type == "Gemm") return node.attr_int("transB", 0) != 0 ? 0 : 1;
  if (node.op_type == "MatMul") return static_cast<int64_t>(w.shape.size()) - 1;
  return 0;
}

void channel_geometry(const Shape& s, int64_t axis, int64_t& outer, int64_t& channels, int64_t& inner) {
  outer = product(s, 0, static_cast<size_t>(axis));
  channels = s.at(static_cast<size_t>(axis));
  inner = product(s, static_cast<size_t>(axis) + 1, s.size());
}

#pragma GCC diagnostic push
// GCC 12's AVX-512 intrinsics fill unused pass-through operands from a self-initialised variable that
// -Wmaybe-uninitialized reports once they are inlined.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
// A 3-channel image row, 16 pixels at a time: each plane's 16 values as s8 codes (pixel_levels), then the
// three 16-byte vectors interleaved into 48 RGB bytes by one byte permute (AVX-512 VBMI). `plane` is the
// distance between the channels' first pixels. Returns the pixels done; the caller finishes the rest.
template <int kStride>
__attribute__((target("avx512f,avx512bw,avx512vbmi"))) int64_t quantize_rgb_row_vbmi(const float* row,
                                                                                     int8_t* out, int64_t W,
                                                                                     int64_t plane,
                                                                                     const S8Coding& q) {
  alignas(64) int8_t order[64] = {};
  for (int j = 0; j < 48; ++j)
    order[j] = static_cast<int8_t>((j % 3) * 16 + j / 3);
  const __m512i idx = _mm512_load_si512(order);
  const S8Coding16 sc = lanes16(q);
  const __mmask64 rgb = (__mmask64{1} << 48) - 1;
  int64_t w = 0;
  for (; w + 16 <= W; w += 16) {
    const float* p = row + w * kStride;
    __m512i v = _mm512_castsi128_si512(pixel_levels<kStride>(p, sc));
    v = _mm512_inserti32x4(v, pixel_levels<kStride>(p + plane, sc), 1);
    v = _mm512_inserti32x4(v, pixel_levels<kStride>(p + 2 * plane, sc), 2);
    _mm512_mask_storeu_epi8(out + 3 * w, rgb, _mm512_permutexvar_epi8(idx, v));
  }
  return w;
}
// n floats stored as s8 codes, 16 at a time, the tail masked.
__attribute__((target("avx512f,avx512bw,avx512vl"))) void quantize_floats_avx512(const float* x, int8_t* y,
                                                                                 int64_t n,
                                                                                 const S8Coding& q) {
  const S8Coding16 sc = lanes16(q);
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = n - i >= 16 ? __mmask16(0xffff) : __mmask16((1u << (n - i)) - 1);
    _mm_mask_storeu_epi8(y + i, m, s8_codes(_mm512_maskz_loadu_ps(m, x + i), sc));
  }
}
#pragma GCC diagnostic pop

void quantize_floats(const float* x, int8_t* y, int64_t n, const S8Coding& q) {
  if (cpu_has_avx512bw_vl()) return quantize_floats_avx512(x, y, n, q);
  for (int64_t i = 0; i < n; ++i)
    y[i] = pixel_level(x[i], q);
}

// One image row (all channels) of quantize_image_step: pixel w of channel c at row[c * plane + w * step].
// Arguments by value: stores through int8_t* may alias anything, so nothing the loops read should live
// behind a reference.
void quantize_image_row(const float* row, int8_t* out, int64_t C, int64_t W, int64_t plane, int64_t step,
                        S8Coding q) {
  int64_t done = 0;
  if (C == 3 && cpu_has_vbmi() && step == 1) done = quantize_rgb_row_vbmi<1>(row, out, W, plane, q);
  if (C == 3 && cpu_has_vbmi() && step == 2) done = quantize_rgb_row_vbmi<2>(row, out, W, plane, q);
  row += done * step;
  out += done * C;
  W -= done;
  int32_t codes[4][256];
  for (int64_t w0 = 0; w0 < W; w0 += 256) {
    const int64_t n_w = std::min<int64_t>(256, W - w0);
    for (int64_t c = 0; c < C; ++c) {
      const float* in = row + c * plane + w0 * step;
      int64_t w = 0;
#ifdef __SSE2__
      // cvtps2dq rounds in the default mode: to nearest, ties to even.
      const __m128 lo = _mm_set1_ps(q.lo()), hi = _mm_set1_ps(q.hi()), sc = _mm_set1_ps(q.inv_scale);
      const __m128i zp = _mm_set1_epi32(q.zero_point);
      auto store4 = [&](int64_t at, __m128 x) {
        const __m128 v = _mm_min_ps(_mm_max_ps(_mm_mul_ps(x, sc), lo), hi);
        _mm_storeu_si128(reinterpret_cast<__m128i*>(&codes[c][at]), _mm_add_epi32(_mm_cvtps_epi32(v), zp));
      };
      for (; step == 1 && w + 4 <= n_w; w += 4)
        store4(w, _mm_loadu_ps(in + w));
      // Every other column (yolox's Focus slices): the even floats of 8. The 8th float lies within the row
      // while 5 pixels remain.
      for (; step == 2 && w + 5 <= n_w; w += 4)
        store4(w, _mm_shuffle_ps(_mm_loadu_ps(in + 2 * w), _mm_loadu_ps(in + 2 * w + 4),
                                 _MM_SHUFFLE(2, 0, 2, 0)));
#endif
      for (; w < n_w; ++w)
        codes[c][w] = pixel_level(in[w * step], q);
    }
    int8_t* o = out + w0 * C;
    if (C == 3) {
      for (int64_t w = 0; w < n_w; ++w) {
        o[3 * w] = static_cast<int8_t>(codes[0][w]);
        o[3 * w + 1] = static_cast<int8_t>(codes[1][w]);
        o[3 * w + 2] = static_cast<int8_t>(codes[2][w]);
      }
    } else {
      for (int64_t w = 0; w < n_w; ++w)
        for (int64_t c = 0; c < C; ++c)
          o[w * C + c] = static_cast<int8_t>(codes[c][w]);
    }
  }
}

// Quantizes an f32 image with few channels (at most 4) to NHWC s8 in one pass (a oneDNN reorder doing both is
// slower than its two halves). The image is read as a view of its input: element (n, c, h, w) at
// offset + n * strides[0] + c * strides[1] + h * strides[2] + w * strides[3], the column stride 1 or 2 -- a
// dense image, or a Slice of one that then needs no copy of its own. Same arithmetic as the reorder.
std::unique_ptr<Step> quantize_image_step(S8Coding q, int64_t offset, Strides strides) {
  auto step = std::make_unique<KernelStep>([=](ExecContext& ctx, const KernelStep& s) {
    const Shape& shape = ctx.value(s.outputs[0]).shape;
    const int64_t C = shape[1], H = shape[2], W = shape[3];
    const float* x = ctx.data<float>(s.inputs[0]) + offset;
    int8_t* y = ctx.data<int8_t>(s.outputs[0]);
    parallel_for(shape[0] * H, [=](int64_t nh) {
      const int64_t n = nh / H, h = nh % H;
      quantize_image_row(x + n * strides[0] + h * strides[2], y + (n * H + h) * W * C, C, W, strides[1],
                         strides[3], q);
    });
  });
  step->impl = "partq:quantize_image";
  return step;
}

// Quantizes a dense f32 value to s8 of the same layout, element by element in parallel chunks: oneDNN 2.6's
// reorder for this (jit:uni) runs at a fraction of the memory bandwidth. Same arithmetic as the reorder.
std::unique_ptr<Step> quantize_dense_step(S8Coding q) {
  auto step = std::make_unique<KernelStep>([=](ExecContext& ctx, const KernelStep& s) {
    const int64_t n = shape_numel(ctx.value(s.outputs[0]).shape);
    const float* x = ctx.data<float>(s.inputs[0]);
    int8_t* y = ctx.data<int8_t>(s.outputs[0]);
    constexpr int64_t kChunk = 64 * 1024;
    parallel_for((n + kChunk - 1) / kChunk, [=](int64_t c) {
      const int64_t begin = c * kChunk, len = std::min(kChunk, n - begin);
      quantize_floats(x + begin, y + begin, len, q);
    });
  });
  step->impl = "partq:quantize";
  return step;
}

}  // namespace

std::vector<float> per_channel_weight_scales(const Tensor& w, int64_t axis, int max_code) {
  int64_t outer, channels, inner;
  channel_geometry(w.shape, axis, outer, channels, inner);
  std::vector<float> f = w.to_float();
  std::vector<float> amax(channels, 0.f);
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t c = 0; c < channels; ++c)
      for (int64_t i = 0; i < inner; ++i)
        amax[c] = std::max(amax[c], std::fabs(f[(o * channels + c) * inner + i]));
  std::vector<float> scales(channels);
  for (int64_t c = 0; c < channels; ++c)
    scales[c] = amax[c] > 0 ? amax[c] / static_cast<float>(max_code) : 1.f;
  return scales;
}

Tensor fake_quant_weight_tensor(const Tensor& w, int64_t axis, const std::vector<float>& scales) {
  int64_t outer, channels, inner;
  channel_geometry(w.shape, axis, outer, channels, inner);
  Tensor out(DType::kFloat32, w.shape);
  std::vector<float> f = w.to_float();
  float* dst = out.as<float>().data();
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t c = 0; c < channels; ++c)
      for (int64_t i = 0; i < inner; ++i) {
        int64_t k = (o * channels + c) * inner + i;
        dst[k] = fake_quant(f[k], scales[c]);
      }
  return out;
}

std::vector<int8_t> quantize_weight_tensor(const Tensor& w, int64_t axis, const std::vector<float>& scales) {
  int64_t outer, channels, inner;
  channel_geometry(w.shape, axis, outer, channels, inner);
  std::vector<float> f = w.to_float();
  std::vector<int8_t> q(f.size());
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t c = 0; c < channels; ++c)
      for (int64_t i = 0; i < inner; ++i) {
        int64_t k = (o * channels + c) * inner + i;
        q[k] = static_cast<int8_t>(quantize_to_level(f[k], scales[c]));
      }
  return q;
}

int Compiler::input_override(size_t i) const {
  auto it = overrides_.find(i);
  return it == overrides_.end() ? -1 : it->second;
}

float Compiler::quant_scale(const Value* v) const {
  if (!v) return 0.f;
  auto it = options_.scales.find(v->name);
  return it == options_.scales.end() ? 0.f : it->second;
}

int Compiler::quant_zero_point(const Value* v) const {
  if (!v) return 0;
  auto it = options_.zero_points.find(v->name);
  return it == options_.zero_points.end() ? 0 : it->second;
}

bool Compiler::reads_quantized(const Node& node, const Value* v) const {
  if (quant_scale(v) <= 0) return false;
  int id = id_of(v);
  if (id >= 0 && program_.values[id].is_constant()) return false;
  auto it = options_.quantized_consumers.find(v->name);
  if (it != options_.quantized_consumers.end())
    return std::find(it->second.begin(), it->second.end(), node.name) != it->second.end();
  if (is_weighted_op(node.op_type)) return precision_of(node) == Precision::kInt8 && node.input(0) == v;
  return true;
}

float Compiler::int8_output_scale(const Value* y, bool zero_point_ok) const {
  const float s = quant_scale(y);
  if (s <= 0 || y->consumers.empty()) return 0.f;
  if (!zero_point_ok && quant_zero_point(y) != 0) return 0.f;
  if (std::find(graph_->outputs.begin(), graph_->outputs.end(), y) != graph_->outputs.end()) return 0.f;
  for (const Node* c : y->consumers)
    if (!reads_quantized(*c, y)) return 0.f;
  return s;
}

bool Compiler::runs_int8(const Node& node, std::string& why_not) const {
  const std::string& op = node.op_type;
  const Value* x = node.input(0);
  if (is_weighted_op(op)) {
    if (precision_of(node) != Precision::kInt8) return false;
    if (op != "Conv") {
      why_not = fmt::format("no s8 lowering for {} yet", op);
      return false;
    }
    const Value* w = node.input(1);
    const int xid = id_of(x), wid = w ? id_of(w) : -1;
    if (wid < 0 || !program_.values[wid].is_constant() || program_.values[wid].dtype != DType::kFloat32) {
      why_not = "the weight is not a constant";
      return false;
    }
    if (xid < 0 || program_.values[xid].shape.size() != 4) {
      why_not = "s8 kernels are used for 2D convolutions only";
      return false;
    }
    const Tensor& t = *program_.values[wid].constant;
    const ChannelScales ws = weight_channel_scales(node, w, t);
    if (ws.axis != 0) {
      why_not = fmt::format("the weight is quantized along axis {}, not per output channel", ws.axis);
      return false;
    }
    if (!cpu_has_vnni() && !cpu_path_overrides().s8_convolutions &&
        max_weight_code(t, ws.axis, ws.scales) > kHalvingExactCode) {
      why_not = fmt::format(
          "no VNNI on this CPU and weight codes beyond +-{}: oneDNN's s8 convolutions would halve them "
          "(reduced-range weights run in s8 here)",
          kHalvingExactCode);
      return false;
    }
    return reads_quantized(node, x);
  }
  // A residual Add of two quantized tensors of one 4D shape adds in s8 (each input with its own scale and
  // zero point).
  if (op == "Add") {
    const Value* b = node.input(1);
    int ia = id_of(x), ib = b ? id_of(b) : -1;
    return ia >= 0 && ib >= 0 && reads_quantized(node, x) && reads_quantized(node, b) &&
           program_.values[ia].shape == program_.values[ib].shape && program_.values[ia].shape.size() == 4;
  }
  // INT8 flows through MaxPool / Resize (nearest) / Concat when input and output share one scale.
  const bool pool = op == "MaxPool", resize = op == "Resize" || op == "Upsample", concat = op == "Concat";
  if (!pool && !resize && !concat) return false;
  if (node.outputs.empty() ||
      (pool && node.outputs.size() > 1 && node.outputs[1] && !node.outputs[1]->name.empty()))
    return false;
  if (resize && node.attr_string("mode", "nearest") != "nearest") return false;
  const float sy = int8_output_scale(node.outputs[0], /*zero_point_ok=*/true);
  const int zy = quant_zero_point(node.outputs[0]);
  if (sy <= 0) return false;
  const size_t n_data = concat ? node.inputs.size() : 1;
  for (size_t i = 0; i < n_data; ++i) {
    const Value* v = node.input(i);
    int id = id_of(v);
    if (!v || id < 0 || !reads_quantized(node, v) || quant_scale(v) != sy || quant_zero_point(v) != zy ||
        program_.values[id].shape.size() != 4)
      return false;
  }
  if (concat) {
    int64_t axis = node.attr_int("axis", 0);
    if (axis != 1 && axis != -3) return false;
  }
  return true;
}

void Compiler::plan_inputs(const Node& node, bool int8_kernels) {
  overrides_.clear();
  const bool planned_int8 = precision_of(node) == Precision::kInt8;
  if (planned_int8 && is_weighted_op(node.op_type) && quant_scale(node.input(0)) <= 0)
    fail("node '{}' (op {}): planned int8 but its data input '{}' has no activation scale", node.name,
         node.op_type, node.input(0) ? node.input(0)->name : "");
  for (size_t i = 0; i < node.inputs.size(); ++i) {
    const Value* v = node.inputs[i];
    int id = v ? id_of(v) : -1;
    if (id < 0) continue;
    if (reads_quantized(node, v)) {
      const float s = quant_scale(v);
      const int z = quant_zero_point(v);
      overrides_[i] = int8_kernels ? as_int8(id, s, z) : quantized_float(id, s, z);
    } else if (program_.values[id].dtype == DType::kInt8 && program_.values[id].scale > 0) {
      overrides_[i] = as_float(id);  // an s8 value read by a float consumer that wants the real values
    }
  }
  if (planned_int8 && !int8_kernels && is_weighted_op(node.op_type)) {
    int wid = fake_quant_weight(node);
    if (wid >= 0) overrides_[1] = wid;
  }
}

int Compiler::fake_quant_weight(const Node& node) {
  const Value* w = node.input(1);
  int id = w ? id_of(w) : -1;
  if (id < 0 || !program_.values[id].is_constant() || program_.values[id].dtype != DType::kFloat32) return -1;
  const Tensor& t = *program_.values[id].constant;
  const int64_t axis = weight_axis(node, t);
  if (axis < 0 || axis >= static_cast<int64_t>(t.shape.size())) return -1;
  const ChannelScales ws = weight_channel_scales(node, w, t);
  RtValue q = make_value(w->name + "#fakequant", DType::kFloat32, t.shape);
  q.constant = std::make_shared<Tensor>(fake_quant_weight_tensor(t, ws.axis, ws.scales));
  return add_value(std::move(q));
}

Compiler::ChannelScales Compiler::weight_channel_scales(const Node& node, const Value* w,
                                                        const Tensor& t) const {
  const int64_t axis = weight_axis(node, t);
  const auto channels_along = [&](int64_t a) -> int64_t {
    if (a < 0 || a >= static_cast<int64_t>(t.shape.size()))
      fail("node '{}': weight '{}' of shape {} has no axis {} to quantize along", node.name, w->name,
           shape_str(t.shape), a);
    return t.shape[static_cast<size_t>(a)];
  };
  auto given = options_.weight_scales.find(w->name);
  if (given == options_.weight_scales.end()) {
    const int max_code = options_.weight_max_code;
    if (max_code < 1 || max_code > 127) fail("weight_max_code {} is not in 1..127", max_code);
    channels_along(axis);
    return {axis, per_channel_weight_scales(t, axis, max_code)};
  }
  const WeightScales& ws = given->second;
  if (ws.scales.size() == 1 && ws.axis < 0)
    return {axis, std::vector<float>(static_cast<size_t>(channels_along(axis)), ws.scales[0])};
  if (static_cast<int64_t>(ws.scales.size()) != channels_along(ws.axis))
    fail("node '{}': {} scales given for weight '{}' of shape {} along axis {}", node.name, ws.scales.size(),
         w->name, shape_str(t.shape), ws.axis);
  return {ws.axis, ws.scales};
}

int max_weight_code(const Tensor& w, int64_t axis, const std::vector<float>& scales) {
  int most = 0;
  for (int8_t q : quantize_weight_tensor(w, axis, scales))
    most = std::max(most, std::abs(static_cast<int>(q)));
  return most;
}

int Compiler::as_int8(int id, float scale, int zero_point) {
  RtValue& v = program_.values[id];
  if (v.dtype == DType::kInt8 && v.scale > 0) {
    if (v.scale != scale || v.zero_point != zero_point)
      fail("internal: value '{}' is s8 with scale {} (zero point {}) but read with scale {} (zero point {})",
           v.name, v.scale, v.zero_point, scale, zero_point);
    return id;
  }
  if (v.int8_twin >= 0) return v.int8_twin;
  if (v.dtype != DType::kFloat32)
    fail("value '{}' of type {} cannot be quantized", v.name, dtype_name(v.dtype));
  // 4D activations are kept NHWC (the layout the s8 convolutions read). The image too: oneDNN 2.6 has only
  // a reference s8 kernel for NCHW sources, so quantizing straight to NHWC saves a second pass over it.
  const Layout layout = v.shape.size() == 4 ? Layout::kNhwc : Layout::kPlain;
  RtValue twin = make_value(v.name + "#s8", DType::kInt8, v.shape, layout);
  twin.scale = scale;
  twin.zero_point = zero_point;
  int tid = add_value(std::move(twin));
  const RtValue& src = program_.values[id];
  const bool image = src.shape.size() == 4 && src.layout == Layout::kPlain && src.shape[1] <= 4;
  // A Slice of an f32 image (yolox's Focus) is quantized straight from the sliced value; the Slice's own
  // copy is then dropped unless something reads it in f32.
  const bool read_view = image && fuse() && src.copy_of >= 0 && src.copy_strides.size() == 4 &&
                         program_.values[src.copy_of].dtype == DType::kFloat32 &&
                         (src.copy_strides[3] == 1 || src.copy_strides[3] == 2);
  const int read = read_view ? src.copy_of : id;
  // Same layout, both dense (an NHWC activation leaving a float layer).
  const bool dense = src.layout == layout && layout == Layout::kNhwc && src.strides.empty() &&
                     src.view_offset == 0 && (cpu_has_avx512bw_vl() || cpu_path_overrides().portable_kernels);
  const S8Coding coding{.inv_scale = 1.f / scale, .zero_point = zero_point};
  std::unique_ptr<Step> step = read_view ? quantize_image_step(coding, src.copy_offset, src.copy_strides)
                               : image   ? quantize_image_step(coding, 0, dense_strides(src.shape))
                               : dense   ? quantize_dense_step(coding)
                                         : make_reorder_step(eng_, src, program_.values[tid], 1.f / scale);
  step->op = "Quantize";
  step->nodes = {program_.values[id].name};
  step->precision = Precision::kInt8;
  step->inputs = {read};
  step->outputs = {tid};
  add_step(std::move(step));
  program_.values[id].int8_twin = tid;
  return tid;
}

int Compiler::as_float(int id) {
  RtValue& v = program_.values[id];
  if (v.dtype != DType::kInt8 || v.scale <= 0) return id;
  if (v.float_twin >= 0) return v.float_twin;
  RtValue twin = make_value(v.name + "#f32", DType::kFloat32, v.shape, v.layout);
  int tid = add_value(std::move(twin));
  auto step = make_reorder_step(eng_, program_.values[id], program_.values[tid], program_.values[id].scale);
  step->op = "Dequantize";
  step->nodes = {program_.values[id].name};
  step->inputs = {id};
  step->outputs = {tid};
  add_step(std::move(step));
  program_.values[id].float_twin = tid;
  return tid;
}

int Compiler::quantized_float(int id, float scale, int zero_point) {
  if (options_.real_int8) return as_float(as_int8(id, scale, zero_point));
  RtValue& v = program_.values[id];
  if (v.fakequant_twin >= 0) return v.fakequant_twin;
  if (v.dtype != DType::kFloat32)
    fail("value '{}' of type {} cannot be quantized", v.name, dtype_name(v.dtype));
  RtValue twin = make_value(v.name + "#fakequant", DType::kFloat32, v.shape, v.layout);
  int tid = add_value(std::move(twin));
  auto step = std::make_unique<KernelStep>([scale, zero_point](ExecContext& ctx, const KernelStep& s) {
    const float* x = ctx.data<float>(s.inputs[0]);
    float* y = ctx.data<float>(s.outputs[0]);
    const int64_t n = shape_numel(ctx.value(s.inputs[0]).shape);
    parallel_for((n + 4095) / 4096, [&](int64_t b) {
      for (int64_t i = b * 4096, e = std::min(n, i + 4096); i < e; ++i)
        y[i] = fake_quant(x[i], scale, zero_point);
    });
  });
  step->op = "FakeQuant";
  step->nodes = {program_.values[id].name};
  step->impl = "partq:fake_quant";
  step->precision = Precision::kInt8;
  step->inputs = {id};
  step->outputs = {tid};
  add_step(std::move(step));
  program_.values[id].fakequant_twin = tid;
  return tid;
}

void Compiler::rollback(size_t n_steps, size_t n_values) {
  program_.steps.resize(n_steps);
  program_.values.resize(n_values);
  const int limit = static_cast<int>(n_values);
  for (auto it = ids_.begin(); it != ids_.end();)
    it = it->second >= limit ? ids_.erase(it) : std::next(it);
  for (auto it = program_.value_ids.begin(); it != program_.value_ids.end();)
    it = it->second >= limit ? program_.value_ids.erase(it) : std::next(it);
  for (RtValue& v : program_.values)
    for (int* twin : {&v.plain_twin, &v.nhwc_twin, &v.int8_twin, &v.float_twin, &v.fakequant_twin})
      if (*twin >= limit) *twin = -1;
}

}  // namespace partq::engine
