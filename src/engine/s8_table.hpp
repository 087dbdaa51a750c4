// SiLU applied to s8 codes through a 256-entry table (EngineOptions::int8_silu_table). oneDNN's fused
// eltwise_swish post-op costs 30-45% of an s8 convolution's time (ONEDNN-NOTES.md); instead the conv writes
// its pre-activation output as s8 codes on a grid chosen for SiLU, and one table lookup per byte maps each
// code straight to the output's s8 level. The price is a second rounding (of the pre-activation to the
// grid): an output level may differ by one from what fp32 SiLU then quantization gives.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>

namespace partq::engine {

// s8 code c stands for the pre-activation value (c - zero_point) * scale.
struct S8Grid {
  float scale = 1.f;
  float zero_point = 0.f;
};

using S8Table = std::array<int8_t, 256>;  // indexed by code + 128

// The pre-activation grid for SiLU feeding an s8 output of scale `out_scale`: 256 codes spanning [lo, hi],
// where silu(hi) reaches the top output level and silu(lo) already rounds to level 0. An input beyond the
// span gives the same level as the clipped code, so clipping adds no error. The grid step is 0.6x the output
// scale for a wide output range (amax 20) and 1.6x for a narrow one (amax 3): the negative inputs that still
// round to a nonzero level reach further relative to the range. nullopt when the step would exceed 2x the
// output scale (amax below ~2.3), where a level could move by two: such a conv keeps the fp32 SiLU.
std::optional<S8Grid> silu_input_grid(float out_scale);

// table[c + 128] = clamp(round_half_even(silu((c - zp) * scale) / out_scale), -128, 127).
S8Table silu_table(const S8Grid& grid, float out_scale);

// data[i] = table[data[i] + 128] for i < n, in place; in parallel, 64 bytes per instruction where the CPU
// has AVX-512 VBMI.
void apply_s8_table(int8_t* data, size_t n, const S8Table& table);

}  // namespace partq::engine
