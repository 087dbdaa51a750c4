// One oneDNN conv over a piece of a larger conv's problem (a chunk of pixels, a band of rows), run by one
// thread inside a parallel loop (oneDNN then stays on that thread) with its own stream and scratchpad:
// the pieces of head_conv.hpp and band_conv.hpp.
#pragma once

#include <vector>

#include "common.hpp"

namespace partq::engine {

// What the pieces of one conv share besides their weights: the bias and, for an asymmetric source, its zero
// point (oneDNN's runtime source zero point); either may be empty.
struct ConvPieceArgs {
  dnnl::memory bias, src_zero_point;

  // From the f32 `bias` values (null: none) in the layout `bias_md` and the s8 codes' zero point `z`.
  void init(const dnnl::engine& eng, const dnnl::memory::desc& bias_md, const float* bias_values, int z) {
    if (bias_values && !bias) bias = owned_memory(eng, bias_md, bias_values);
    if (z != 0 && !src_zero_point) {
      const int32_t z32 = z;
      src_zero_point = owned_memory(
          eng, dnnl::memory::desc({1}, dnnl::memory::data_type::s32, dnnl::memory::format_tag::x), &z32);
    }
  }
};

struct ConvPart {
  dnnl::primitive prim;
  dnnl::memory::desc src_md, dst_md, scratch_md;
  dnnl::memory weights;  // in the layout this piece's kernel wants

  // From the piece's primitive_desc (made with a user scratchpad). The weights are those of an earlier
  // piece in `others` whose kernel wants the same layout, else `plain_weights` reordered on `s`, which the
  // caller waits on before the first run.
  template <typename Pieces>
  void init(const dnnl::convolution_forward::primitive_desc& pd, const dnnl::memory& plain_weights,
            dnnl::stream& s, const Pieces& others) {
    prim = dnnl::convolution_forward(pd);
    src_md = pd.src_desc();
    dst_md = pd.dst_desc();
    scratch_md = pd.scratchpad_desc();
    for (const auto& other : others)
      if (other.conv.weights && other.conv.weights.get_desc() == pd.weights_desc()) {
        weights = other.conv.weights;
        return;
      }
    weights = dnnl::memory(pd.weights_desc(), s.get_engine());
    dnnl::memory from = plain_weights;
    dnnl::reorder(from, weights).execute(s, from, weights);
  }

  // Runs on `stream` (the calling thread's) and waits for it.
  void run(dnnl::stream& stream, const void* src, void* dst, void* scratch,
           const ConvPieceArgs& shared) const {
    const dnnl::engine eng = stream.get_engine();
    std::unordered_map<int, dnnl::memory> args = {
        {DNNL_ARG_SRC, dnnl::memory(src_md, eng, const_cast<void*>(src))},
        {DNNL_ARG_WEIGHTS, weights},
        {DNNL_ARG_DST, dnnl::memory(dst_md, eng, dst)},
        {DNNL_ARG_SCRATCHPAD, dnnl::memory(scratch_md, eng, scratch)}};
    if (shared.bias) args.emplace(DNNL_ARG_BIAS, shared.bias);
    if (shared.src_zero_point) args.emplace(DNNL_ARG_ATTR_ZERO_POINTS | DNNL_ARG_SRC, shared.src_zero_point);
    prim.execute(stream, args);
    stream.wait();
  }
};

// The calling thread's working memory for conv pieces: a oneDNN scratchpad of `scratch_bytes` and a piece
// output of `out_floats`. Steps run one at a time on a thread, so all of them share these buffers (grown on
// demand) instead of each holding its own: yolov5n has ~60 banded convs, and per-step buffers cost ~1 MB
// each per thread, and page faults on every first run.
struct PieceMemory {
  void* scratch;
  float* out;
};
inline PieceMemory piece_memory(size_t scratch_bytes, size_t out_floats) {
  thread_local std::vector<std::byte> scratch;
  thread_local std::vector<float> out;
  if (scratch.size() < scratch_bytes + 64) scratch.resize(scratch_bytes + 64);
  if (out.size() < out_floats) out.resize(out_floats);
  return {scratch.data(), out.data()};
}

// One oneDNN stream per thread of the parallel loop that runs a step's pieces.
class PieceStreams {
 public:
  // Before the loop: a stream for each of `threads` threads.
  void prepare(const dnnl::engine& eng, int threads) {
    while (streams_.size() < static_cast<size_t>(threads))
      streams_.emplace_back(eng);
  }
  dnnl::stream& operator[](int thread) { return streams_[static_cast<size_t>(thread)]; }

 private:
  std::vector<dnnl::stream> streams_;
};

}  // namespace partq::engine
