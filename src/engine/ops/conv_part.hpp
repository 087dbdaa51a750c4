// One oneDNN conv over a piece of a larger conv's problem (a chunk of pixels, a band of rows), run by one
// thread inside a parallel loop (oneDNN then stays on that thread) with its own stream and scratchpad:
// the pieces of head_conv.hpp and band_conv.hpp.
#pragma once

#include "common.hpp"

namespace partq::engine {

struct ConvPart {
  dnnl::primitive prim;
  dnnl::memory::desc src_md, dst_md, scratch_md;
  dnnl::memory weights;  // in the layout this piece's kernel wants

  // From the piece's primitive_desc (made with a user scratchpad); `plain_weights` is reordered on `s`,
  // which the caller waits on before the first run.
  void init(const dnnl::convolution_forward::primitive_desc& pd, const dnnl::memory& plain_weights,
            dnnl::stream& s) {
    prim = dnnl::convolution_forward(pd);
    src_md = pd.src_desc();
    dst_md = pd.dst_desc();
    scratch_md = pd.scratchpad_desc();
    weights = dnnl::memory(pd.weights_desc(), s.get_engine());
    dnnl::memory from = plain_weights;
    dnnl::reorder(from, weights).execute(s, from, weights);
  }

  // Runs on `stream` (the calling thread's) and waits for it; `bias` may be empty.
  void run(dnnl::stream& stream, const void* src, void* dst, void* scratch, const dnnl::memory& bias) const {
    const dnnl::engine eng = stream.get_engine();
    std::unordered_map<int, dnnl::memory> args = {
        {DNNL_ARG_SRC, dnnl::memory(src_md, eng, const_cast<void*>(src))},
        {DNNL_ARG_WEIGHTS, weights},
        {DNNL_ARG_DST, dnnl::memory(dst_md, eng, dst)},
        {DNNL_ARG_SCRATCHPAD, dnnl::memory(scratch_md, eng, scratch)}};
    if (bias) args.emplace(DNNL_ARG_BIAS, bias);
    prim.execute(stream, args);
    stream.wait();
  }
};

}  // namespace partq::engine
