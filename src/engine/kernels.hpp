// Small building blocks for partq's own kernels (the ops oneDNN has no primitive for, or where a plain loop
// is simpler): parallel loops and N-D strided copies. Element strides, not byte strides.
#pragma once

#include <partq/ir.hpp>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

namespace partq::engine {

using Strides = std::vector<int64_t>;

Strides dense_strides(const Shape& shape);  // row-major
// Strides for reading `in` as if it had shape `out` (multidirectional broadcasting: 0 where `in` has size 1
// or lacks the leading dim). `in` must be broadcastable to `out`.
Strides broadcast_strides(const Shape& in, const Shape& out);
// The broadcast result of two shapes; false if they are incompatible.
bool broadcast_shape(const Shape& a, const Shape& b, Shape& out);

// dst[i] = src[i] for every index i of `dims`, where element i lives at sum(i_k * stride_k) on either side.
// Runs in parallel over the outer dims; contiguous inner runs are memcpy'd.
void strided_copy(size_t elem_size, const Shape& dims, const std::byte* src, const Strides& src_strides,
                  std::byte* dst, const Strides& dst_strides);

// Copies `rows` rows of `row_bytes` each, from `src` to `dst`, rows `src_step` / `dst_step` bytes apart.
// Short rows (1-4, 8, 12, 16 bytes) use fixed-size copies the compiler turns into a move or two: a memcpy
// call per 2-float row of a detection head's Split, or per 3-byte pixel of an s8 image, would cost more
// than the copy.
// Inline: the callers' loops call it per block of rows.
template <size_t N>
void copy_rows_fixed(std::byte* d, int64_t d_step, const std::byte* s, int64_t s_step, int64_t rows) {
  for (int64_t r = 0; r < rows; ++r, s += s_step, d += d_step)
    std::memcpy(d, s, N);
}
inline void copy_rows(std::byte* dst, int64_t dst_step, const std::byte* src, int64_t src_step,
                      size_t row_bytes, int64_t rows) {
  switch (row_bytes) {
    case 1:
      return copy_rows_fixed<1>(dst, dst_step, src, src_step, rows);
    case 2:
      return copy_rows_fixed<2>(dst, dst_step, src, src_step, rows);
    case 3:
      return copy_rows_fixed<3>(dst, dst_step, src, src_step, rows);
    case 4:
      return copy_rows_fixed<4>(dst, dst_step, src, src_step, rows);
    case 8:
      return copy_rows_fixed<8>(dst, dst_step, src, src_step, rows);
    case 12:
      return copy_rows_fixed<12>(dst, dst_step, src, src_step, rows);
    case 16:
      return copy_rows_fixed<16>(dst, dst_step, src, src_step, rows);
    default:
      for (int64_t r = 0; r < rows; ++r, src += src_step, dst += dst_step)
        std::memcpy(dst, src, row_bytes);
  }
}

// Strides that read `in` (elements at `in_strides`) as if it had been copied densely and reshaped to `out`,
// without moving data; false when the reshape merges dims that are not contiguous in memory.
bool reshape_strides(const Shape& in, const Strides& in_strides, const Shape& out, Strides& out_strides);

// Strides (in ONNX NCHW dim order) of a 4D tensor stored NHWC.
Strides nhwc_strides(const Shape& nchw);

// Runs f(i) for i in [0, n), in parallel when n is worth it.
template <typename F>
void parallel_for(int64_t n, F&& f) {
#pragma omp parallel for schedule(static) if (n > 1)
  for (int64_t i = 0; i < n; ++i)
    f(i);
}

}  // namespace partq::engine
