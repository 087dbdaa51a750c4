#include "memory_planner.hpp"

#include <algorithm>
#include <numeric>

namespace partq::engine {

size_t plan_memory(std::vector<BufferLifetime>& buffers, size_t alignment) {
  auto round_up = [alignment](size_t n) { return (n + alignment - 1) / alignment * alignment; };
  std::vector<size_t> order(buffers.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return buffers[a].size > buffers[b].size; });

  std::vector<size_t> placed;
  size_t arena = 0;
  for (size_t idx : order) {
    BufferLifetime& buf = buffers[idx];
    // Occupied ranges of buffers alive at the same time, by offset.
    std::vector<std::pair<size_t, size_t>> busy;
    for (size_t p : placed) {
      const BufferLifetime& o = buffers[p];
      if (o.first_use <= buf.last_use && buf.first_use <= o.last_use)
        busy.emplace_back(o.offset, o.offset + round_up(o.size));
    }
    std::sort(busy.begin(), busy.end());
    size_t offset = 0;
    const size_t need = round_up(buf.size);
    for (auto [begin, end] : busy) {
      if (offset + need <= begin) break;
      offset = std::max(offset, end);
    }
    buf.offset = offset;
    arena = std::max(arena, offset + need);
    placed.push_back(idx);
  }
  return arena;
}

}  // namespace partq::engine
