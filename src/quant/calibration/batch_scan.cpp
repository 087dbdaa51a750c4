#include "batch_scan.hpp"

#include <omp.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>

#include "partq/error.hpp"

namespace partq::calibration_detail {

namespace {

constexpr size_t kMinValuesPerThread = size_t{1} << 16;
constexpr size_t kLanes = 4;
constexpr size_t kChunk = 1024;  // bin indices are computed for this many values at a time, then counted

// The passes below run in AVX2 where the CPU has it (the build targets baseline x86-64): the loops are twice
// as wide and get an unsigned max (vpmaxud) that SSE2 lacks; 4-6x faster here. The operations are the same
// IEEE ones (and, mul, div, min, truncation: no FMA contraction is possible), so the results are identical.
// (Not under ThreadSanitizer, whose instrumented ifunc resolver crashes at load time.)
#if defined(__GNUC__) && defined(__x86_64__) && !defined(__AVX2__) && !defined(__SANITIZE_THREAD__)
#define PARTQ_CALIBRATION_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define PARTQ_CALIBRATION_CLONES
#endif

// With the sign bit cleared, IEEE floats order like unsigned integers, and every NaN / Inf compares above
// the largest finite value (0x7f7fffff). An integer max reduction therefore gives max |x| and the
// non-finite check in one loop that the compiler vectorises (a float max would not be, without
// -ffast-math).
PARTQ_CALIBRATION_CLONES uint32_t max_abs_bits(const float* data, size_t n) {
  uint32_t max_bits = 0;
  for (size_t i = 0; i < n; ++i) {
    const uint32_t bits = std::bit_cast<uint32_t>(data[i]) & 0x7fffffffu;
    max_bits = bits > max_bits ? bits : max_bits;
  }
  return max_bits;
}

BatchScan from_bits(uint32_t max_bits) {
  BatchScan scan;
  scan.all_finite = max_bits < 0x7f800000u;
  if (scan.all_finite) scan.abs_max = std::bit_cast<float>(max_bits);
  return scan;
}

// Thread t of `team` owns values [begin, end): contiguous, chunk-aligned, together all of [0, n).
void thread_range(size_t n, int t, int team, size_t& begin, size_t& end) {
  const size_t chunks = (n + kChunk - 1) / kChunk;
  const size_t per_thread = chunks / static_cast<size_t>(team), extra = chunks % static_cast<size_t>(team);
  const size_t ut = static_cast<size_t>(t);
  const size_t first = ut * per_thread + std::min(ut, extra);
  const size_t last = first + per_thread + (ut < extra ? 1 : 0);
  begin = std::min(n, first * kChunk);
  end = std::min(n, last * kChunk);
}

// One thread's share of histogram_pass: one read of each value gives its bit pattern (for the max) and its
// bin (a vectorised loop over a chunk), then a scalar scatter of the chunk's bins into four interleaved
// sub-histograms, so that consecutive values falling in the same bin (the zeros of a ReLU / SiLU output) do
// not wait on each other's increment.
PARTQ_CALIBRATION_CLONES uint32_t histogram_range(const float* x, size_t n, BinLayout layout, uint32_t* lanes,
                                                  size_t lane_bins) {
  // The clamp keeps a value a rounding step above `range` (possible after growth) in the last bin instead of
  // dropping it, and is applied in float so no out-of-range float->int conversion can happen.
  const float num_bins = layout.num_bins, range = layout.range, last = num_bins - 1.0f;
  alignas(64) int32_t bins[kChunk];
  uint32_t max_bits = 0;
  for (size_t begin = 0; begin < n; begin += kChunk) {
    const size_t m = std::min(kChunk, n - begin);
    const float* chunk = x + begin;
    for (size_t k = 0; k < m; ++k) {
      const uint32_t bits = std::bit_cast<uint32_t>(chunk[k]) & 0x7fffffffu;
      max_bits = bits > max_bits ? bits : max_bits;
      float position = std::bit_cast<float>(bits) * num_bins / range;
      position = position < last ? position : last;
      bins[k] = static_cast<int32_t>(position);
    }
    size_t k = 0;
    for (; k + kLanes <= m; k += kLanes) {
      ++lanes[bins[k]];
      ++lanes[lane_bins + bins[k + 1]];
      ++lanes[2 * lane_bins + bins[k + 2]];
      ++lanes[3 * lane_bins + bins[k + 3]];
    }
    for (; k < m; ++k)
      ++lanes[bins[k]];
  }
  return max_bits;
}

}  // namespace

int team_size(size_t n, int threads) {
  const size_t wanted = static_cast<size_t>(threads > 0 ? threads : omp_get_max_threads());
  return static_cast<int>(std::max<size_t>(1, std::min(wanted, n / kMinValuesPerThread)));
}

BatchScan scan_batch(std::span<const float> values, int threads) {
  const int team = team_size(values.size(), threads);
  if (team == 1) return from_bits(max_abs_bits(values.data(), values.size()));
  uint32_t max_bits = 0;
#pragma omp parallel num_threads(team) reduction(max : max_bits)
  {
    size_t begin = 0, end = 0;
    thread_range(values.size(), omp_get_thread_num(), omp_get_num_threads(), begin, end);
    max_bits = max_abs_bits(values.data() + begin, end - begin);
  }
  return from_bits(max_bits);
}

void require_finite(const BatchScan& scan, std::span<const float> values, std::string_view tensor_name) {
  if (scan.all_finite) return;
  for (size_t i = 0; i < values.size(); ++i) {
    if (!std::isfinite(values[i])) {
      fail(
          "calibration of tensor '{}': the batch holds {} at flat index {} of {}; a calibrator accepts only "
          "finite values",
          tensor_name, std::isnan(values[i]) ? "NaN" : "Inf", i, values.size());
    }
  }
}

BatchScan histogram_pass(std::span<const float> values, BinLayout layout, size_t lane_bins, int team,
                         std::vector<uint32_t>& lanes) {
  if (values.size() > kMaxValuesPerPass) {
    fail("internal: histogram_pass of {} values (at most {})", values.size(), kMaxValuesPerPass);
  }
  team = std::max(1, team);
  lanes.assign(static_cast<size_t>(team) * kLanes * lane_bins, 0);
  if (team == 1)
    return from_bits(histogram_range(values.data(), values.size(), layout, lanes.data(), lane_bins));
  uint32_t max_bits = 0;
#pragma omp parallel num_threads(team) reduction(max : max_bits)
  {
    // The team may be smaller than asked for (nested parallelism, OMP_THREAD_LIMIT): split by its real size.
    const int t = omp_get_thread_num();
    size_t begin = 0, end = 0;
    thread_range(values.size(), t, omp_get_num_threads(), begin, end);
    max_bits = histogram_range(values.data() + begin, end - begin, layout,
                               lanes.data() + static_cast<size_t>(t) * kLanes * lane_bins, lane_bins);
  }
  return from_bits(max_bits);
}

void add_lanes(std::span<const uint32_t> lanes, std::span<uint64_t> counts) {
  const size_t bins = counts.size();
  for (size_t lane = 0; lane * bins < lanes.size(); ++lane) {
    const uint32_t* l = lanes.data() + lane * bins;
    for (size_t b = 0; b < bins; ++b)
      counts[b] += l[b];
  }
}

}  // namespace partq::calibration_detail
