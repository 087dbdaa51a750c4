// Add, Sub, Mul, Div, Pow, Max, Min (of two inputs), Mod with multidirectional (numpy) broadcasting; PRelu
// (its slope broadcast to the input). f32 with one operand already of the output shape: oneDNN binary (any
// layout, the other operand broadcast). Everything else (integer shape arithmetic, Pow, broadcasting on both
// sides): a plain strided loop.
#include <algorithm>
#include <cmath>
#ifdef __SSE2__
#include <immintrin.h>
#endif

#include "common.hpp"
#include "registry.hpp"

namespace partq::engine {

namespace {

// kMod: Mod with fmod = 0 (integers; the result takes the divisor's sign, as Python's %); kFmod: fmod = 1
// (the dividend's sign, as C's fmod and %).
enum class BinOp { kAdd, kSub, kMul, kDiv, kPow, kMax, kMin, kPRelu, kMod, kFmod };

template <typename T>
T apply(BinOp op, T a, T b) {
  switch (op) {
    case BinOp::kAdd:
      return a + b;
    case BinOp::kSub:
      return a - b;
    case BinOp::kMul:
      return a * b;
    case BinOp::kDiv:
      return b == T(0) && !std::is_floating_point_v<T> ? T(0) : a / b;
    case BinOp::kPow:
      return static_cast<T>(std::pow(static_cast<double>(a), static_cast<double>(b)));
    case BinOp::kMax:
      return std::max(a, b);
    case BinOp::kMin:
      return std::min(a, b);
    case BinOp::kPRelu:
      return a < T(0) ? a * b : a;
    case BinOp::kMod:
    case BinOp::kFmod:
      if constexpr (std::is_floating_point_v<T>) {
        return std::fmod(a, b);  // float Mod must have fmod = 1 (checked when lowering)
      } else {
        if (b == T(0)) return T(0);
        const T r = a % b;
        return op == BinOp::kMod && r != T(0) && ((r < T(0)) != (b < T(0))) ? r + b : r;
      }
  }
  return a;
}

template <typename T>
void broadcast_loop(BinOp op, const Shape& out_in, const T* a, const Strides& sa_in, const T* b,
                    const Strides& sb_in, T* y) {
  // Merge dims that are contiguous on every side (a dense tensor and a scalar become one long row), then
  // cut long rows into chunks so that both threads get work.
  Shape out;
  Strides sa, sb;
  for (size_t i = 0; i < out_in.size(); ++i) {
    if (out_in[i] == 1) continue;
    if (!out.empty() && sa.back() == sa_in[i] * out_in[i] && sb.back() == sb_in[i] * out_in[i]) {
      out.back() *= out_in[i];
      sa.back() = sa_in[i];
      sb.back() = sb_in[i];
      continue;
    }
    out.push_back(out_in[i]);
    sa.push_back(sa_in[i]);
    sb.push_back(sb_in[i]);
  }
  const size_t rank = out.size();
  const int64_t inner = rank ? out.back() : 1;
  const int64_t ia = rank ? sa.back() : 0, ib = rank ? sb.back() : 0;
  const int64_t outer = rank ? shape_numel(out) / std::max<int64_t>(inner, 1) : 1;
  if (inner == 0) return;
  constexpr int64_t kChunk = 16384;
  const int64_t chunks = (inner + kChunk - 1) / kChunk;
  parallel_for(outer * chunks, [&](int64_t task) {
    const int64_t o = task / chunks, k0 = (task % chunks) * kChunk, k1 = std::min(inner, k0 + kChunk);
    int64_t oa = 0, ob = 0, rem = o;
    for (int i = static_cast<int>(rank) - 2; i >= 0; --i) {
      int64_t idx = rem % out[i];
      rem /= out[i];
      oa += idx * sa[i];
      ob += idx * sb[i];
    }
    T* yo = y + o * inner;
    const T* ao = a + oa;
    const T* bo = b + ob;
    if (op == BinOp::kPow && std::is_same_v<T, float> && ib == 0 && *bo == T(2)) {
      for (int64_t k = k0; k < k1; ++k)
        yo[k] = ao[k * ia] * ao[k * ia];
      return;
    }
    for (int64_t k = k0; k < k1; ++k)
      yo[k] = apply(op, ao[k * ia], bo[k * ib]);
  });
}

template <typename T>
void run_plain(BinOp op, ExecContext& ctx, const KernelStep& s, const Shape& out_shape, const Strides& sa,
               const Strides& sb) {
  broadcast_loop<T>(op, out_shape, ctx.data<T>(s.inputs[0]), sa, ctx.data<T>(s.inputs[1]), sb,
                    ctx.data<T>(s.outputs[0]));
}

// y[i] = sa * a[i] + sb * b[i] - offset for s8 a, b and f32 y (the dequantized sum, as the fake-quant graph
// computes it; offset = sa * za + sb * zb for zero points za, zb). oneDNN 2.6 has only a reference kernel for
// s8 sources with an f32 destination (~50x slower).
void add_s8_to_f32(const int8_t* a, float sa, const int8_t* b, float sb, float offset, float* y, int64_t n) {
  int64_t i = 0;
#ifdef __SSE2__
  const __m128 va = _mm_set1_ps(sa), vb = _mm_set1_ps(sb), vo = _mm_set1_ps(offset);
  const __m128i zero = _mm_setzero_si128();
  // s8 -> s32 without SSE4.1: interleave each byte above a zero byte / word, then shift arithmetically.
  auto widen = [zero](__m128i v, __m128i out[4]) {
    const __m128i lo = _mm_srai_epi16(_mm_unpacklo_epi8(zero, v), 8);
    const __m128i hi = _mm_srai_epi16(_mm_unpackhi_epi8(zero, v), 8);
    out[0] = _mm_srai_epi32(_mm_unpacklo_epi16(zero, lo), 16);
    out[1] = _mm_srai_epi32(_mm_unpackhi_epi16(zero, lo), 16);
    out[2] = _mm_srai_epi32(_mm_unpacklo_epi16(zero, hi), 16);
    out[3] = _mm_srai_epi32(_mm_unpackhi_epi16(zero, hi), 16);
  };
  for (; i + 16 <= n; i += 16) {
    __m128i qa[4], qb[4];
    widen(_mm_loadu_si128(reinterpret_cast<const __m128i*>(a + i)), qa);
    widen(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b + i)), qb);
    for (int k = 0; k < 4; ++k)
      _mm_storeu_ps(y + i + 4 * k, _mm_sub_ps(_mm_add_ps(_mm_mul_ps(_mm_cvtepi32_ps(qa[k]), va),
                                                         _mm_mul_ps(_mm_cvtepi32_ps(qb[k]), vb)),
                                              vo));
  }
#endif
  for (; i < n; ++i)
    y[i] = static_cast<float>(a[i]) * sa + static_cast<float>(b[i]) * sb - offset;
}

// A residual Add of two s8 tensors of one shape (the compiler checked). s8 output at the output's scale when
// every consumer reads it quantized: oneDNN binary with each input's scale. f32 output: partq's own loop.
// The inputs' zero points za, zb (asymmetric activations) come out as one constant: the real sum is
// sa * a + sb * b - (sa * za + sb * zb), and an asymmetric output's zero point joins the requantization.
void lower_add_int8(Lowering& lw, int a, int b) {
  const RtValue& va = lw.value(a);
  const RtValue& vb = lw.value(b);
  if (va.shape != vb.shape || va.layout != vb.layout) lw.unsupported("int8 Add of different shapes");
  const float sy = lw.int8_output_scale(0, /*zero_point_ok=*/true);
  const float offset =
      va.scale * static_cast<float>(va.zero_point) + vb.scale * static_cast<float>(vb.zero_point);
  if (sy <= 0) {
    const float sa = va.scale, sb = vb.scale;
    int y = lw.define_output(0, DType::kFloat32, va.shape, va.layout);
    add_kernel(lw, "Add s8->f32", {a, b}, {y}, "add_s8_f32",
               [sa, sb, offset](ExecContext& ctx, const KernelStep& s) {
                 const int64_t n = shape_numel(ctx.value(s.outputs[0]).shape);
                 const int8_t* pa = ctx.data<int8_t>(s.inputs[0]);
                 const int8_t* pb = ctx.data<int8_t>(s.inputs[1]);
                 float* py = ctx.data<float>(s.outputs[0]);
                 constexpr int64_t kChunk = 16384;
                 parallel_for((n + kChunk - 1) / kChunk, [=](int64_t c) {
                   const int64_t i0 = c * kChunk;
                   add_s8_to_f32(pa + i0, sa, pb + i0, sb, offset, py + i0, std::min(kChunk, n - i0));
                 });
               });
    return;
  }
  dnnl::primitive_attr attr;
  attr.set_scales(DNNL_ARG_SRC_0, 0, {va.scale});
  attr.set_scales(DNNL_ARG_SRC_1, 0, {vb.scale});
  dnnl::post_ops po;
  const int zy = lw.int8_output_zero_point(0);
  po.append_eltwise(1.f, dnnl::algorithm::eltwise_linear, 1.f / sy, static_cast<float>(zy) - offset / sy);
  attr.set_post_ops(po);
  int y = lw.define_output(0, DType::kInt8, va.shape, va.layout, sy, zy);
  dnnl::binary::desc d(dnnl::algorithm::binary_add, md_of(va), md_of(vb), md_of(lw.value(y)));
  dnnl::binary::primitive_desc pd(d, attr, lw.dnnl_engine());
  auto step = std::make_unique<PrimitiveStep>();
  step->prim = dnnl::binary(pd);
  step->value_args = {{DNNL_ARG_SRC_0, a}, {DNNL_ARG_SRC_1, b}, {DNNL_ARG_DST, y}};
  init_step(*step, lw, "Add s8->s8", {a, b}, {y}, pd.impl_info_str());
  lw.add_step(std::move(step));
}

}  // namespace

void lower_binary(Lowering& lw) {
  const std::string& op_type = lw.node.op_type;
  BinOp op = op_type == "Add"   ? BinOp::kAdd
             : op_type == "Sub" ? BinOp::kSub
             : op_type == "Mul" ? BinOp::kMul
             : op_type == "Div" ? BinOp::kDiv
             : op_type == "Pow" ? BinOp::kPow
             : op_type == "Max" ? BinOp::kMax
             : op_type == "Min" ? BinOp::kMin
             : op_type == "Mod" ? (lw.node.attr_int("fmod", 0) ? BinOp::kFmod : BinOp::kMod)
                                : BinOp::kPRelu;
  if (lw.num_inputs() != 2) {
    if (op == BinOp::kMax || op == BinOp::kMin) return lower_variadic(lw);
    lw.unsupported("{} inputs (only 2)", lw.num_inputs());
  }
  int a = lw.input(0), b = lw.input(1);
  if (op == BinOp::kAdd && lw.value(a).dtype == DType::kInt8 && lw.value(a).scale > 0 &&
      lw.value(b).dtype == DType::kInt8 && lw.value(b).scale > 0)
    return lower_add_int8(lw, a, b);
  const DType ta = lw.value(a).dtype, tb = lw.value(b).dtype;
  if (ta != tb) lw.unsupported("mixed input types {} and {}", dtype_name(ta), dtype_name(tb));
  if (ta != DType::kFloat32 && ta != DType::kInt64 && ta != DType::kInt32)
    lw.unsupported("input type {}", dtype_name(ta));
  if (op == BinOp::kMod && ta == DType::kFloat32) lw.invalid("floating-point Mod needs fmod = 1");
  Shape out;
  if (!broadcast_shape(lw.value(a).shape, lw.value(b).shape, out))
    lw.invalid("shapes {} and {} do not broadcast", shape_str(lw.value(a).shape),
               shape_str(lw.value(b).shape));
  if (op == BinOp::kPRelu && out != lw.value(a).shape)
    lw.invalid("slope shape {} does not broadcast to the input shape {}", shape_str(lw.value(b).shape),
               shape_str(lw.value(a).shape));

  // oneDNN path: src0 must already have the output shape; commutative ops may swap.
  const bool commutative = op == BinOp::kAdd || op == BinOp::kMul || op == BinOp::kMax || op == BinOp::kMin;
  if (ta == DType::kFloat32 && op != BinOp::kPow && op != BinOp::kPRelu && op != BinOp::kFmod &&
      !out.empty()) {
    int s0 = a, s1 = b;
    if (lw.value(s0).shape != out && commutative) std::swap(s0, s1);
    if (lw.value(s0).shape == out) {
      const Shape& s1_shape = lw.value(s1).shape;
      const bool same = s1_shape == out;
      // Equal shapes: bring both to one layout (NHWC wins for 4D). Broadcast operand: plain, rank-padded.
      if (same && out.size() == 4 &&
          (lw.value(s0).layout == Layout::kNhwc || lw.value(s1).layout == Layout::kNhwc)) {
        s0 = lw.as_nhwc(s0);
        s1 = lw.as_nhwc(s1);
      } else if (!same) {
        s1 = lw.as_plain(s1);
      } else {
        s0 = lw.as_plain(s0);
        s1 = lw.as_plain(s1);
      }
      Shape padded(out.size() - s1_shape.size(), 1);
      padded.insert(padded.end(), s1_shape.begin(), s1_shape.end());
      const Layout layout = lw.value(s0).layout;
      dnnl::memory::desc md0 = md_of(lw.value(s0));
      dnnl::memory::desc md1 = same ? md_of(lw.value(s1)) : plain_md(padded, DType::kFloat32);
      int y = lw.define_output(0, DType::kFloat32, out, layout);
      dnnl::memory::desc mdy = md_of(lw.value(y));
      using alg = dnnl::algorithm;
      alg al = op == BinOp::kAdd   ? alg::binary_add
               : op == BinOp::kSub ? alg::binary_sub
               : op == BinOp::kMul ? alg::binary_mul
               : op == BinOp::kDiv ? alg::binary_div
               : op == BinOp::kMax ? alg::binary_max
                                   : alg::binary_min;
      dnnl::binary::desc d(al, md0, md1, mdy);
      dnnl::binary::primitive_desc pd(d, lw.dnnl_engine());
      auto step = std::make_unique<PrimitiveStep>();
      step->prim = dnnl::binary(pd);
      step->value_args = {{DNNL_ARG_SRC_0, s0}, {DNNL_ARG_DST, y}};
      step->view_args.emplace_back(DNNL_ARG_SRC_1, s1, md1);
      init_step(*step, lw, op_type, {s0, s1}, {y}, pd.impl_info_str());
      lw.add_step(std::move(step));
      return;
    }
  }

  // Plain loop. A scalar operand on the right with the left already of the output shape keeps the layout.
  Layout layout = Layout::kPlain;
  if (lw.value(a).shape == out && shape_numel(lw.value(b).shape) == 1) {
    layout = lw.value(a).layout;
    b = lw.as_plain(b);
  } else {
    a = lw.as_plain(a);
    b = lw.as_plain(b);
  }
  Strides sa = layout == Layout::kPlain ? broadcast_strides(lw.value(a).shape, out) : dense_strides(out);
  Strides sb = broadcast_strides(lw.value(b).shape, out);
  int y = lw.define_output(0, ta, out, layout);
  add_kernel(lw, op_type, {a, b}, {y}, "broadcast",
             [op, out, sa, sb, ta](ExecContext& ctx, const KernelStep& s) {
               if (ta == DType::kFloat32)
                 run_plain<float>(op, ctx, s, out, sa, sb);
               else if (ta == DType::kInt64)
                 run_plain<int64_t>(op, ctx, s, out, sa, sb);
               else
                 run_plain<int32_t>(op, ctx, s, out, sa, sb);
             });
}

}  // namespace partq::engine
