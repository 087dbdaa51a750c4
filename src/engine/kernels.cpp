#include "kernels.hpp"

#include <algorithm>
#include <cstring>
#ifdef __SSE2__
#include <immintrin.h>
#endif

namespace partq::engine {

Strides dense_strides(const Shape& shape) {
  Strides s(shape.size(), 1);
  for (int i = static_cast<int>(shape.size()) - 2; i >= 0; --i)
    s[i] = s[i + 1] * shape[i + 1];
  return s;
}

bool broadcast_shape(const Shape& a, const Shape& b, Shape& out) {
  size_t rank = std::max(a.size(), b.size());
  out.assign(rank, 1);
  for (size_t i = 0; i < rank; ++i) {
    int64_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    int64_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    if (da != db && da != 1 && db != 1) return false;
    out[i] = da == 1 ? db : da;
  }
  return true;
}

Strides broadcast_strides(const Shape& in, const Shape& out) {
  Strides dense = dense_strides(in);
  Strides s(out.size(), 0);
  size_t lead = out.size() - in.size();
  for (size_t i = 0; i < in.size(); ++i)
    s[lead + i] = in[i] == 1 ? 0 : dense[i];
  return s;
}

Strides nhwc_strides(const Shape& d) {
  return {d[1] * d[2] * d[3], 1, d[3] * d[1], d[1]};
}

bool reshape_strides(const Shape& in_all, const Strides& in_strides_all, const Shape& out, Strides& os) {
  if (shape_numel(in_all) != shape_numel(out) || shape_numel(out) <= 0) return false;
  Shape in;
  Strides is;
  for (size_t i = 0; i < in_all.size(); ++i)
    if (in_all[i] != 1) {
      in.push_back(in_all[i]);
      is.push_back(in_strides_all[i]);
    }
  os.assign(out.size(), 1);
  size_t i = 0, o = 0;
  // Groups of input dims and output dims with equal products; the input dims of a group must be contiguous.
  while (i < in.size() && o < out.size()) {
    size_t i_end = i + 1, o_end = o + 1;
    int64_t pi = in[i], po = out[o];
    while (pi != po) {
      if (po < pi) {
        if (o_end >= out.size()) return false;
        po *= out[o_end++];
      } else {
        if (i_end >= in.size()) return false;
        pi *= in[i_end++];
      }
    }
    for (size_t k = i; k + 1 < i_end; ++k)
      if (is[k] != is[k + 1] * in[k + 1]) return false;
    os[o_end - 1] = is[i_end - 1];
    for (size_t k = o_end - 1; k > o; --k)
      os[k - 1] = os[k] * out[k];
    i = i_end;
    o = o_end;
  }
  return i == in.size();  // the remaining output dims have size 1
}

namespace {

// Merges adjacent dims that are contiguous on both sides, drops size-1 dims: fewer, longer loops.
void simplify(Shape& dims, Strides& a, Strides& b) {
  Shape d2;
  Strides a2, b2;
  for (size_t i = 0; i < dims.size(); ++i) {
    if (dims[i] == 1) continue;
    if (!d2.empty() && a2.back() == a[i] * dims[i] && b2.back() == b[i] * dims[i]) {
      d2.back() *= dims[i];
      a2.back() = a[i];
      b2.back() = b[i];
      continue;
    }
    d2.push_back(dims[i]);
    a2.push_back(a[i]);
    b2.push_back(b[i]);
  }
  dims = std::move(d2);
  a = std::move(a2);
  b = std::move(b2);
}

// Strided rows of at most 64 bytes (the innermost dim, contiguous on both sides): blocks of rows along the
// second-innermost dim, so that index arithmetic is paid per block rather than per row.
void copy_short_rows(size_t row_bytes, const Shape& dims, const std::byte* src, const Strides& ss,
                     std::byte* dst, const Strides& ds) {
  const size_t rank = dims.size();
  const size_t elem = row_bytes / dims.back();
  const int64_t rows = dims[rank - 2];
  const int64_t s_step = ss[rank - 2] * static_cast<int64_t>(elem),
                d_step = ds[rank - 2] * static_cast<int64_t>(elem);
  int64_t outer = 1;
  for (size_t i = 0; i + 2 < rank; ++i)
    outer *= dims[i];
  constexpr int64_t kBlock = 1024;
  const int64_t blocks = (rows + kBlock - 1) / kBlock;
  parallel_for(outer * blocks, [&](int64_t task) {
    int64_t o = task / blocks, so = 0, dof = 0;
    const int64_t r0 = (task % blocks) * kBlock, n = std::min(kBlock, rows - r0);
    for (int i = static_cast<int>(rank) - 3; i >= 0; --i) {
      const int64_t idx = o % dims[i];
      o /= dims[i];
      so += idx * ss[i];
      dof += idx * ds[i];
    }
    const std::byte* s = src + (so * static_cast<int64_t>(elem)) + r0 * s_step;
    std::byte* d = dst + (dof * static_cast<int64_t>(elem)) + r0 * d_step;
    copy_rows(d, d_step, s, s_step, row_bytes, n);
  });
}

}  // namespace

void strided_copy(size_t elem, const Shape& dims_in, const std::byte* src, const Strides& src_strides_in,
                  std::byte* dst, const Strides& dst_strides_in) {
  Shape dims = dims_in;
  Strides ss = src_strides_in, ds = dst_strides_in;
  for (int64_t d : dims)
    if (d == 0) return;
  simplify(dims, ss, ds);
  if (dims.empty()) {
    std::memcpy(dst, src, elem);
    return;
  }
  const size_t rank = dims.size();
  const bool inner_contiguous = ss.back() == 1 && ds.back() == 1;
  const int64_t inner = dims.back();
  if (inner_contiguous && rank >= 2 && inner * elem <= 64) {
    copy_short_rows(elem * inner, dims, src, ss, dst, ds);
    return;
  }
  int64_t outer = 1;
  for (size_t i = 0; i + 1 < rank; ++i)
    outer *= dims[i];
  parallel_for(outer, [&](int64_t o) {
    int64_t so = 0, dof = 0, rem = o;
    for (int i = static_cast<int>(rank) - 2; i >= 0; --i) {
      int64_t idx = rem % dims[i];
      rem /= dims[i];
      so += idx * ss[i];
      dof += idx * ds[i];
    }
    const std::byte* s = src + so * elem;
    std::byte* d = dst + dof * elem;
    if (inner_contiguous) {
      std::memcpy(d, s, inner * elem);
    } else if (elem == 4 && ss.back() == 2 && ds.back() == 1) {  // every second element (yolox's Focus)
      const auto* s4 = reinterpret_cast<const uint32_t*>(s);
      auto* d4 = reinterpret_cast<uint32_t*>(d);
      int64_t k = 0;
#ifdef __SSE2__
      // A vector reads source elements 2k .. 2k+7; 2k+7 <= 2*(inner-1) keeps it within the elements the row
      // reads (the one after the last may lie past the end of the buffer).
      for (; k + 5 <= inner; k += 4) {
        const __m128 lo = _mm_loadu_ps(reinterpret_cast<const float*>(s4 + 2 * k));
        const __m128 hi = _mm_loadu_ps(reinterpret_cast<const float*>(s4 + 2 * k + 4));
        _mm_storeu_ps(reinterpret_cast<float*>(d4 + k), _mm_shuffle_ps(lo, hi, _MM_SHUFFLE(2, 0, 2, 0)));
      }
#endif
      for (; k < inner; ++k)
        d4[k] = s4[2 * k];
    } else if (elem == 4) {
      const auto* s4 = reinterpret_cast<const uint32_t*>(s);
      auto* d4 = reinterpret_cast<uint32_t*>(d);
      for (int64_t k = 0; k < inner; ++k)
        d4[k * ds.back()] = s4[k * ss.back()];
    } else {
      for (int64_t k = 0; k < inner; ++k)
        std::memcpy(d + k * ds.back() * elem, s + k * ss.back() * elem, elem);
    }
  });
}

}  // namespace partq::engine
