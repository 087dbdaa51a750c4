// Takes the code paths of a CPU with VNNI and AVX-512 on any CPU while it lives (cpu_features.hpp), so tests
// that compare those paths with each other run everywhere: on a CPU without VNNI the s8 convolutions halve
// their weights, which changes the numbers of every path alike.
#pragma once

#include "cpu_features.hpp"

namespace partq::test {

struct ForcedCpuPaths {
  explicit ForcedCpuPaths(engine::CpuPathOverrides paths = {.s8_convolutions = true,
                                                            .portable_kernels = true}) {
    engine::cpu_path_overrides() = paths;
  }
  ~ForcedCpuPaths() { engine::cpu_path_overrides() = {}; }
  ForcedCpuPaths(const ForcedCpuPaths&) = delete;
  ForcedCpuPaths& operator=(const ForcedCpuPaths&) = delete;
};

}  // namespace partq::test
