// The lifetime-based arena planner, without oneDNN.
#include <gtest/gtest.h>

#include <random>

#include "memory_planner.hpp"

namespace partq::engine {
namespace {

bool overlap_in_time(const BufferLifetime& a, const BufferLifetime& b) {
  return a.first_use <= b.last_use && b.first_use <= a.last_use;
}
bool overlap_in_memory(const BufferLifetime& a, const BufferLifetime& b) {
  return a.offset < b.offset + b.size && b.offset < a.offset + a.size;
}

TEST(MemoryPlanner, BuffersWithDisjointLifetimesShareMemory) {
  std::vector<BufferLifetime> bufs = {{0, 1, 1000, 0}, {1, 2, 1000, 0}, {2, 3, 1000, 0}};
  size_t arena = plan_memory(bufs);
  // 0 and 2 are never alive together (0 ends at step 1, 2 starts at step 2): two slots suffice.
  EXPECT_EQ(arena, 2 * 1024u);
  EXPECT_EQ(bufs[0].offset, bufs[2].offset);
  EXPECT_NE(bufs[0].offset, bufs[1].offset);
}

TEST(MemoryPlanner, ChainOfOpsNeedsTwoBuffers) {
  std::vector<BufferLifetime> bufs;
  for (int i = 0; i < 10; ++i)
    bufs.push_back({i, i + 1, 4096, 0});
  EXPECT_EQ(plan_memory(bufs), 2 * 4096u);
}

TEST(MemoryPlanner, OffsetsAreAligned) {
  std::vector<BufferLifetime> bufs = {{0, 5, 3, 0}, {0, 5, 7, 0}, {0, 5, 100, 0}};
  plan_memory(bufs, 64);
  for (const auto& b : bufs)
    EXPECT_EQ(b.offset % 64, 0u);
}

TEST(MemoryPlanner, RandomLifetimesNeverCollide) {
  std::mt19937 rng(42);
  std::uniform_int_distribution<int> step(0, 50), len(0, 10), size(1, 5000);
  std::vector<BufferLifetime> bufs;
  size_t total = 0;
  for (int i = 0; i < 200; ++i) {
    int first = step(rng);
    bufs.push_back({first, first + len(rng), static_cast<size_t>(size(rng)), 0});
    total += (bufs.back().size + 63) / 64 * 64;
  }
  size_t arena = plan_memory(bufs);
  EXPECT_LE(arena, total);
  for (size_t i = 0; i < bufs.size(); ++i) {
    EXPECT_LE(bufs[i].offset + bufs[i].size, arena);
    for (size_t j = i + 1; j < bufs.size(); ++j)
      if (overlap_in_time(bufs[i], bufs[j])) {
        EXPECT_FALSE(overlap_in_memory(bufs[i], bufs[j])) << "buffers " << i << " and " << j;
      }
  }
}

}  // namespace
}  // namespace partq::engine
