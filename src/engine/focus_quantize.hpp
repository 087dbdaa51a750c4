// yolox's Focus stem in INT8: four stride-2 Slices of a 3-channel f32 image, each quantized at one scale and
// concatenated on channels into NHWC s8 (12 bytes per pixel), done as one pass over the image.
#pragma once

#include <array>
#include <cstdint>
#include <memory>

#include "image_quantize.hpp"
#include "kernels.hpp"
#include "program.hpp"

namespace partq::engine {

// Whether the machine has the byte permutes the fused kernel uses (AVX-512 VBMI); without them its portable
// code is slower than four image quantizers and a Concat (cpu_path_overrides takes it all the same).
bool can_quantize_focus();

// A step reading the f32 image (its input) and writing the [N, 12, H, W] NHWC s8 output: channel 3k + c of
// output pixel (n, h, w) is image element offsets[k] + n * strides[0] + c * strides[1] + h * strides[2] +
// w * strides[3] (strides[3] == 2), as an s8 code of `q`.
std::unique_ptr<Step> quantize_focus_step(const S8Coding& q, const std::array<int64_t, 4>& offsets,
                                          const Strides& strides);

}  // namespace partq::engine
