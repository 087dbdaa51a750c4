#include "s8_table.hpp"

#include <immintrin.h>

#include <algorithm>
#include <cmath>

#include "cpu_features.hpp"
#include "kernels.hpp"

namespace partq::engine {
namespace {

double silu(double x) {
  return x / (1.0 + std::exp(-x));
}

// x in [a, b] with silu(x) = y, for silu monotonic on [a, b].
double solve_silu(double y, double a, double b) {
  const bool increasing = silu(b) > silu(a);
  for (int i = 0; i < 200; ++i) {
    const double m = 0.5 * (a + b);
    ((silu(m) < y) == increasing ? a : b) = m;
  }
  return 0.5 * (a + b);
}

constexpr double kSiluArgMin = -1.2784645427610738;  // silu'(x) = 0
constexpr double kSiluMin = -0.2784645427610738;

__attribute__((target("avx512f,avx512bw,avx512vbmi"))) void apply_vbmi(int8_t* data, size_t n,
                                                                       const S8Table& table) {
  // vpermi2b looks up 128 entries by the low 7 bits of each byte; the sign bit picks the half of the table.
  const __m512i t0 = _mm512_loadu_si512(table.data()), t1 = _mm512_loadu_si512(table.data() + 64),
                t2 = _mm512_loadu_si512(table.data() + 128), t3 = _mm512_loadu_si512(table.data() + 192);
  // Table index = code + 128: flipping the sign bit of the code gives it.
  const __m512i flip = _mm512_set1_epi8(static_cast<char>(0x80));
  size_t i = 0;
  for (; i + 64 <= n; i += 64) {
    const __m512i idx = _mm512_xor_si512(_mm512_loadu_si512(data + i), flip);
    const __m512i lo = _mm512_permutex2var_epi8(t0, idx, t1), hi = _mm512_permutex2var_epi8(t2, idx, t3);
    _mm512_storeu_si512(data + i, _mm512_mask_blend_epi8(_mm512_movepi8_mask(idx), lo, hi));
  }
  for (; i < n; ++i)
    data[i] = table[static_cast<uint8_t>(data[i] + 128)];
}

void apply_scalar(int8_t* data, size_t n, const S8Table& table) {
  for (size_t i = 0; i < n; ++i)
    data[i] = table[static_cast<uint8_t>(data[i] + 128)];
}

}  // namespace

std::optional<S8Grid> silu_input_grid(float out_scale) {
  const double s = out_scale;
  const double hi = solve_silu(127.5 * s, 0.0, 127.5 * s + 16.0);
  // Below lo, |silu| < 0.45 s: such inputs round to level 0, and so must the clipped code (at exactly 0.5 s
  // the bisection's last bit could round the clipped code to -1 for the whole negative tail).
  const double lo = 0.45 * s >= -kSiluMin ? 0.0 : solve_silu(-0.45 * s, -64.0, kSiluArgMin);
  const double scale = (hi - lo) / 255.0;
  if (scale > 2.0 * s) return std::nullopt;
  S8Grid g;
  g.scale = static_cast<float>(scale);
  g.zero_point = static_cast<float>(127.0 - hi / scale);  // code 127 stands for hi, code -128 for lo
  return g;
}

S8Table silu_table(const S8Grid& grid, float out_scale) {
  S8Table t{};
  for (int c = -128; c <= 127; ++c) {
    const double x = (c - double(grid.zero_point)) * grid.scale;
    const double level = std::nearbyint(silu(x) / out_scale);
    t[c + 128] = static_cast<int8_t>(std::clamp(level, -128.0, 127.0));
  }
  return t;
}

void apply_s8_table(int8_t* data, size_t n, const S8Table& table) {
  constexpr size_t kChunk = 64 * 1024;
  const int64_t chunks = static_cast<int64_t>((n + kChunk - 1) / kChunk);
  const bool vbmi = cpu_has_vbmi();
  parallel_for(chunks, [&](int64_t c) {
    int8_t* p = data + c * kChunk;
    const size_t len = std::min(kChunk, n - c * kChunk);
    vbmi ? apply_vbmi(p, len, table) : apply_scalar(p, len, table);
  });
}

}  // namespace partq::engine
