// Lifetime-based placement of activation buffers in one arena: buffers whose lifetimes (step indices,
// inclusive) do not overlap may share bytes. Greedy: largest buffers first, each at the lowest offset that
// does not collide with an already placed buffer alive at the same time. Independent of oneDNN; unit-tested
// on its own.
#pragma once

#include <cstddef>
#include <vector>

namespace partq::engine {

struct BufferLifetime {
  int first_use = 0;  // step that writes it first
  int last_use = 0;   // last step that reads it
  size_t size = 0;    // bytes
  size_t offset = 0;  // output: where it lives in the arena
};

// Assigns every buffer's offset (multiples of `alignment`) and returns the arena size needed.
size_t plan_memory(std::vector<BufferLifetime>& buffers, size_t alignment = 64);

}  // namespace partq::engine
