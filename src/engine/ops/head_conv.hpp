// A detection head's output conv written straight in the layout its boxes are read in. YOLO heads reshape
// the 1x1 conv output [N, A*K, H, W] to [N, A, K, H, W] and transpose it to [N, A, H, W, K] (one K-value box
// per anchor and cell); that transpose is a full copy of the largest tensor of the head, from memory.
// Instead the conv runs on chunks of a few hundred pixels (a 1x1 conv treats pixels independently), each
// chunk into a small per-thread buffer that stays in cache, whose boxes are then copied to their places in
// the transposed output: the same kernel and numbers as the whole conv, without the round trip to memory.
#pragma once

#include <functional>
#include <optional>

#include "conv_part.hpp"

namespace partq::engine {

struct HeadLayout {
  int64_t anchors = 0;  // A
  const Node* reshape = nullptr;
  const Node* transpose = nullptr;
};

// The layout the Conv being lowered (input `x`, output shape `y` [N, C, H, W]; the caller checked it is a 1x1
// conv, stride 1, no padding, one group) can write directly: an NHWC input, an output read only by a Reshape
// to [N, A, C/A, H, W], itself read only by a Transpose(0, 1, 3, 4, 2); none of them is a graph output; and
// the output is large (>= 16 MiB: a smaller one stays in cache for the copy). nullopt otherwise, or with
// fusion off.
std::optional<HeadLayout> find_head_layout(const Lowering& lw, const RtValue& x, const Shape& y);

// Runs the conv on chunks of pixels, in parallel (oneDNN single-threaded inside, on per-thread streams and
// scratchpads), and copies each chunk's boxes to [n, a, h, w, :] of the output, whose strides it reads as it
// runs (it may be a strided view inside a Concat output, see Compiler::place_inside).
class HeadConvStep : public Step {
 public:
  struct Part {  // the conv on `pixels` pixels: [1, C, 1, pixels] -> [1, OC, 1, pixels], both NHWC
    int64_t pixels = 0;
    ConvPart conv;
  };
  Part chunk, tail;  // tail.pixels == 0 when the chunks divide the pixels evenly
  ConvPieceArgs shared;
  int64_t anchors = 0;

  void execute(ExecContext& ctx) override;
  bool accepts_view(int id, const RtValue& v) const override;

 private:
  PieceStreams streams_;
};

// The step, or null when oneDNN's kernel for a chunk is not the one it picked for the whole conv (`impl`).
// `conv_pd(src, dst)` makes the conv's primitive_desc for other source and destination descriptors (same
// weights, bias, attributes; user scratchpad); `weights` is the plain weights memory to reorder from, `bias`
// the f32 bias (null for none). `src_zero_point`: the value of oneDNN's runtime source zero point when
// `conv_pd` declares one (an s8 `x` with a zero point that was not folded into the bias), else 0.
std::unique_ptr<HeadConvStep> make_head_conv_step(
    const dnnl::engine& eng, const HeadLayout& head, const RtValue& x, const Shape& y,
    const std::string& impl,
    const std::function<dnnl::convolution_forward::primitive_desc(const dnnl::memory::desc&,
                                                                  const dnnl::memory::desc&)>& conv_pd,
    const dnnl::memory& weights, const float* bias, int src_zero_point);

// Defines the Transpose's output [N, A, H, W, C/A] (plain f32) as the output of `step` (reading value `x`),
// makes the Reshape and Transpose part of it (their values can no longer be tapped) and appends it.
void add_head_conv_step(Lowering& lw, const HeadLayout& h, const Shape& y, int x, std::string op,
                        std::unique_ptr<HeadConvStep> step);

}  // namespace partq::engine
