#include "partq/util/timing.hpp"

#include "partq/error.hpp"

#include <sched.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <thread>

namespace partq {

int hardware_threads() {
  // The CPUs this process may run on (like `nproc`), which in a container or under taskset can be fewer
  // than the machine has; hardware_concurrency() is the fallback.
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0) return CPU_COUNT(&set);
  unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : static_cast<int>(n);
}

double now_ms() {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

double nearest_rank_percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) fail("percentile of an empty sample");
  if (!(p > 0 && p <= 100)) fail("percentile {} is outside (0, 100]", p);
  // A small epsilon keeps p*n that is an exact integer in theory (e.g. 90% of 10) from rounding up.
  double rank = std::ceil(p / 100.0 * static_cast<double>(sorted.size()) - 1e-9);
  size_t index = static_cast<size_t>(std::max(rank, 1.0)) - 1;
  return sorted[std::min(index, sorted.size() - 1)];
}

LatencyStats summarize_latencies(std::vector<double> ms) {
  if (ms.empty()) fail("cannot summarize latencies: no runs were measured");
  std::sort(ms.begin(), ms.end());
  LatencyStats s;
  s.count = ms.size();
  s.min_ms = ms.front();
  s.max_ms = ms.back();
  s.mean_ms = std::accumulate(ms.begin(), ms.end(), 0.0) / static_cast<double>(ms.size());
  size_t mid = ms.size() / 2;
  s.median_ms = ms.size() % 2 == 1 ? ms[mid] : (ms[mid - 1] + ms[mid]) / 2.0;
  s.p90_ms = nearest_rank_percentile(ms, 90);
  s.p99_ms = nearest_rank_percentile(ms, 99);
  return s;
}

}  // namespace partq
