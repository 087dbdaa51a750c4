#include <algorithm>
#include <cmath>
#include <functional>
#include <numeric>

#include <fmt/ranges.h>

#include "batch_scan.hpp"
#include "partq/calibration.hpp"
#include "partq/error.hpp"

namespace partq {

PerChannelAmax per_channel_amax(std::span<const float> weights, std::span<const int64_t> dims, int64_t axis,
                                std::string_view tensor_name) {
  const int64_t rank = static_cast<int64_t>(dims.size());
  if (axis < 0 || axis >= rank) {
    fail("per-channel amax of weight '{}': axis {} is outside its {} dimensions", tensor_name, axis, rank);
  }
  for (int64_t d : dims) {
    if (d < 0) fail("per-channel amax of weight '{}': negative dimension {}", tensor_name, d);
  }
  auto product = [](auto begin, auto end) {
    return std::accumulate(begin, end, int64_t{1}, std::multiplies<>());
  };
  const int64_t outer = product(dims.begin(), dims.begin() + axis);
  const int64_t channels = dims[axis];
  const int64_t inner = product(dims.begin() + axis + 1, dims.end());
  if (outer * channels * inner != static_cast<int64_t>(weights.size())) {
    fail("per-channel amax of weight '{}': {} values do not match dimensions [{}]", tensor_name,
         weights.size(), fmt::join(dims, ", "));
  }

  PerChannelAmax result;
  result.amax.assign(static_cast<size_t>(channels), 0.0f);
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t c = 0; c < channels; ++c) {
      const auto block =
          weights.subspan(static_cast<size_t>((o * channels + c) * inner), static_cast<size_t>(inner));
      const auto scan = calibration_detail::scan_batch(block);
      if (!scan.all_finite) {
        fail("per-channel amax of weight '{}': channel {} holds NaN or Inf; weights must be finite",
             tensor_name, c);
      }
      result.amax[c] = std::max(result.amax[c], scan.abs_max);
    }
  }
  for (int64_t c = 0; c < channels; ++c) {
    if (result.amax[c] == 0.0f) result.zero_channels.push_back(c);
  }
  return result;
}

}  // namespace partq
