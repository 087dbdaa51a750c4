// SiLU (x * sigmoid(x)) over a buffer of pre-activations, written as f32 or requantized to s8, with AVX-512
// or AVX2 where the CPU has it. oneDNN 2.6's fused SiLU post-op costs 2-3x the s8 conv it is fused into (its
// exp and division run with the few registers the conv kernel leaves free); the same function computed over a
// cache-resident buffer with every register free is ~3x cheaper (ONEDNN-NOTES, docs/ops.md).
#pragma once

#include <cstddef>
#include <cstdint>

namespace partq::engine {

// Whether silu_to_s8 / silu_to_f32 run vectorized (AVX-512F, else AVX2 + FMA); their scalar fallback is
// slower than oneDNN's fused post-op, so callers only prefer them when this is true.
bool fast_silu_kernels();

// out[p * out_stride + c] = saturate(round_half_even(silu(in[p * channels + c]) / scale) + zero_point) for
// `pixels` pixels of `channels` values each: the s8 codes of a tensor quantized with `scale` and
// `zero_point` (rounded before the zero point is added, as QuantizeLinear does).
void silu_to_s8(const float* in, int8_t* out, int64_t pixels, int64_t channels, int64_t out_stride,
                float scale, int zero_point = 0);

// out[p * out_stride + c] = silu(in[p * channels + c]).
void silu_to_f32(const float* in, float* out, int64_t pixels, int64_t channels, int64_t out_stride);

}  // namespace partq::engine
