// strided_copy (kernels.hpp) against an element-by-element copy written here, for the shapes the engine
// meets: short contiguous rows (a detection head's Split of 2 of 85 floats), long rows, strided elements.
#include <gtest/gtest.h>

#include <cstring>
#include <numeric>
#include <vector>

#include "kernels.hpp"

namespace partq::engine {
namespace {

// dst[i] = src[i] over every index of `dims`, one element at a time.
void naive_copy(size_t elem, const Shape& dims, const std::byte* src, const Strides& ss, std::byte* dst,
                const Strides& ds) {
  const int64_t n = shape_numel(dims);
  for (int64_t flat = 0; flat < n; ++flat) {
    int64_t rem = flat, so = 0, dof = 0;
    for (int i = static_cast<int>(dims.size()) - 1; i >= 0; --i) {
      const int64_t idx = rem % dims[i];
      rem /= dims[i];
      so += idx * ss[i];
      dof += idx * ds[i];
    }
    std::memcpy(dst + dof * elem, src + so * elem, elem);
  }
}

struct Case {
  size_t elem;
  Shape dims;
  Strides src_strides, dst_strides;
  int64_t src_size, dst_size;  // elements
};

TEST(StridedCopy, EqualsElementwiseCopy) {
  const std::vector<Case> cases = {
      // 2 of every 85 floats of [2,3,5,7,85] into dense [2,3,5,7,2] (Split), and back (in-place Concat).
      {4,
       {2, 3, 5, 7, 2},
       {3 * 35 * 85, 35 * 85, 7 * 85, 85, 1},
       {3 * 35 * 2, 35 * 2, 7 * 2, 2, 1},
       2 * 3 * 35 * 85,
       2 * 3 * 35 * 2},
      {4,
       {2, 3, 5, 7, 2},
       {3 * 35 * 2, 35 * 2, 7 * 2, 2, 1},
       {3 * 35 * 85, 35 * 85, 7 * 85, 85, 1},
       2 * 3 * 35 * 2,
       2 * 3 * 35 * 85},
      // more rows than one block of the short-row path, 3-float rows, bytes
      {4, {3000, 3}, {10, 1}, {3, 1}, 30000, 9000},
      {1, {4, 700, 5}, {700 * 9, 9, 1}, {700 * 5, 5, 1}, 4 * 700 * 9, 4 * 700 * 5},
      {1, {50, 3}, {7, 1}, {3, 1}, 350, 150},  // 3-byte pixels (an s8 image into NHWC)
      {1, {64, 2}, {5, 1}, {2, 1}, 320, 128},
      // long rows (memcpy per row) and strided elements
      {4, {6, 100}, {300, 1}, {100, 1}, 1800, 600},
      {4, {5, 50}, {200, 2}, {50, 1}, 1000, 250},
      {2, {3, 4, 6}, {1, 3, 12}, {24, 6, 1}, 72, 72},
  };
  for (size_t k = 0; k < cases.size(); ++k) {
    const Case& c = cases[k];
    std::vector<std::byte> src(c.src_size * c.elem);
    for (size_t i = 0; i < src.size(); ++i)
      src[i] = static_cast<std::byte>((i * 131 + 7) % 251);
    std::vector<std::byte> got(c.dst_size * c.elem, std::byte{0xAA}), want = got;
    strided_copy(c.elem, c.dims, src.data(), c.src_strides, got.data(), c.dst_strides);
    naive_copy(c.elem, c.dims, src.data(), c.src_strides, want.data(), c.dst_strides);
    EXPECT_EQ(got, want) << "case " << k;  // bytes the copy must not touch stay 0xAA in both
  }
}

}  // namespace
}  // namespace partq::engine
