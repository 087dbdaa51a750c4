// The SiLU table of the opt-in fast path (s8_table.hpp): what its grid promises, checked against SiLU and
// quantization computed here in double precision.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "s8_table.hpp"

namespace partq::engine {
namespace {

double silu(double x) {
  return x / (1.0 + std::exp(-x));
}
// What the Q/DQ graph computes: fp32 SiLU, then quantization to the output scale.
int exact_level(double x, double out_scale) {
  return static_cast<int>(std::clamp(std::nearbyint(silu(x) / out_scale), -128.0, 127.0));
}
// What the fast path computes: the conv rounds x to a grid code, the table maps the code.
int table_level(double x, const S8Grid& g, const S8Table& t) {
  const double code = std::clamp(std::nearbyint(x / g.scale + g.zero_point), -128.0, 127.0);
  return t[static_cast<int>(code) + 128];
}

TEST(SiluTable, WithinOneLevelOfExactSiluAndExactOutsideTheGrid) {
  for (double amax : {2.5, 3.0, 6.0, 20.0, 60.0, 200.0}) {
    const double s = amax / 127.0;
    const std::optional<S8Grid> grid = silu_input_grid(static_cast<float>(s));
    ASSERT_TRUE(grid) << "amax " << amax;
    const S8Grid g = *grid;
    const S8Table t = silu_table(g, static_cast<float>(s));
    const double lo = (-128 - g.zero_point) * g.scale, hi = (127 - g.zero_point) * g.scale;
    int flips = 0, n = 0;
    for (double x = -50.0; x <= 2 * amax + 5; x += amax / 5000.0, ++n) {
      const int want = exact_level(x, s), got = table_level(x, g, t);
      ASSERT_LE(std::abs(got - want), 1) << "amax " << amax << " x " << x;
      // Beyond the grid's ends clipping must cost nothing: the whole tail keeps its exact level.
      if (x < lo - g.scale || x > hi + g.scale) {
        ASSERT_EQ(got, want) << "amax " << amax << " x " << x;
      }
      flips += got != want;
    }
    EXPECT_LT(flips, n / 2) << "amax " << amax;
    EXPECT_LE(g.scale, 2.0 * s) << "amax " << amax;
  }
}

TEST(SiluTable, NoGridWhereItWouldBeCoarserThanTwiceTheOutputScale) {
  // The span [lo, hi] is at least the SiLU inputs down to silu(x) = -0.45 s, about -7.6 for amax 0.5.
  for (double amax : {0.2, 0.5, 1.0, 2.0})
    EXPECT_FALSE(silu_input_grid(static_cast<float>(amax / 127.0))) << "amax " << amax;
}

TEST(SiluTable, ApplyLooksUpEveryCodeInPlaceForAnyLength) {
  S8Table t;
  for (int i = 0; i < 256; ++i)
    t[i] = static_cast<int8_t>(127 - i);  // a permutation: a wrong index shows
  std::mt19937 rng(7);
  for (size_t n : {size_t{0}, size_t{1}, size_t{63}, size_t{64}, size_t{65}, size_t{200000} + 17}) {
    std::vector<int8_t> data(n), want(n);
    for (size_t i = 0; i < n; ++i) {
      data[i] = static_cast<int8_t>(static_cast<int>(rng() % 256) - 128);
      want[i] = t[data[i] + 128];
    }
    apply_s8_table(data.data(), n, t);
    EXPECT_EQ(data, want) << "n " << n;
  }
}

}  // namespace
}  // namespace partq::engine
