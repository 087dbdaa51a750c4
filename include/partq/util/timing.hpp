// Clocks, thread counts and latency statistics shared by the benchmarks and the CLI.
#pragma once

#include <chrono>
#include <vector>

namespace partq {

// Number of CPUs this process may use (its affinity mask, as `nproc` reports), at least 1.
int hardware_threads();

// Milliseconds on a monotonic clock with an arbitrary origin; only differences are meaningful.
double now_ms();

class Stopwatch {
 public:
  Stopwatch() : start_(std::chrono::steady_clock::now()) {}
  void reset() { start_ = std::chrono::steady_clock::now(); }
  double elapsed_ms() const {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start_).count();
  }
  double elapsed_s() const { return elapsed_ms() / 1000.0; }

 private:
  std::chrono::steady_clock::time_point start_;
};

struct LatencyStats {
  size_t count = 0;
  double min_ms = 0, mean_ms = 0, median_ms = 0, p90_ms = 0, p99_ms = 0, max_ms = 0;
};

// Summary of per-run latencies. Percentiles use the nearest-rank method on the sorted samples:
// p-th percentile = sorted[ceil(p/100 * n) - 1] (always an observed sample; p50 of {1,2,3,4} is 2).
// The median is the usual one (mean of the two middle samples for even n), so it can differ from p50.
// An empty vector is a partq::Error.
LatencyStats summarize_latencies(std::vector<double> ms);

// The nearest-rank percentile of already sorted samples (p in (0, 100]).
double nearest_rank_percentile(const std::vector<double>& sorted, double p);

}  // namespace partq
