#include <numeric>

#include "partq/calibration.hpp"

namespace partq {

float Histogram::edge(int64_t k) const {
  // pytorch-quantization's edges are torch.linspace(0, max, num_bins + 1) for the first batch and
  // torch.arange(0, new_max + width, width) after growth; both are k * width rounded once to float.
  if (k == num_bins()) return range;
  return static_cast<float>(static_cast<double>(bin_width) * static_cast<double>(k));
}

uint64_t Histogram::total() const {
  return std::accumulate(counts.begin(), counts.end(), uint64_t{0});
}

}  // namespace partq
