// partq's inference engine: compiles a Graph into a sequence of oneDNN primitives and small own kernels,
// specialised for one set of input shapes (batch), and runs it.
//
// Precision is decided per node by a PrecisionPlan (today everything runs f32; INT8 plugs in here).
// Taps let a caller observe any tensor of the graph during run() without recompiling (calibration
// observers, sensitivity analysis, debugging).
#pragma once

#include <partq/ir.hpp>
#include <partq/precision.hpp>

#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace partq {

struct PrecisionPlan {
  Precision default_precision = Precision::kFloat32;
  std::map<std::string, Precision> per_node;  // ONNX node name -> precision; absent = default
  Precision of(const std::string& node) const {
    auto it = per_node.find(node);
    return it == per_node.end() ? default_precision : it->second;
  }
};

// The scales of a weight quantized to symmetric int8: one per channel along `axis`, or one for the whole
// tensor (axis -1).
struct WeightScales {
  std::vector<float> scales;
  int64_t axis = -1;
};

struct EngineOptions {
  int threads = 0;    // 0 = every core of the machine
  int64_t batch = 0;  // 0 = the model's own batch (1 when it is dynamic); a model exported with a fixed
                      // batch of 1 is re-specialised to this batch (Reshape targets included)
  bool fuse = true;   // Conv+activation / SiLU fusion; off only for debugging and tests
  PrecisionPlan plan{};

  // INT8: activation tensor name -> per-tensor scale (amax / 127, zero point 0), for every activation the
  // quantization plan quantizes (the Q/DQ placement of quant.hpp, after group scales are shared). A node
  // planned kInt8 reads its data input quantized with its scale and its weight quantized per output channel
  // (amax = max|w| of the channel, computed by the engine); numerically the engine computes what the Q/DQ
  // graph (QuantizeLinear -> DequantizeLinear around each quantized tensor) computes, up to float rounding.
  std::map<std::string, float> activation_scales{};
  // Opt-in asymmetric activations (partq/quant_params.hpp): tensor -> uint8 zero point (0..255) of the
  // activations quantized as uint8, real = scale * (q - zero_point) with q in 0..255; absent = symmetric
  // int8. The engine keeps such a tensor as the s8 codes q - 128.
  std::map<std::string, int> activation_zero_points{};
  // INT8 weights. By default the engine quantizes a kInt8 node's weight per output channel at max|w| /
  // weight_max_code: 127, or 63 for reduced-range (7-bit) weights, whose codes CPUs without VNNI multiply
  // exactly in s8 (oneDNN halves int8 weights there; a 7-bit code passed doubled survives the halving).
  int weight_max_code = 127;
  // Weights whose quantization is given instead (a Q/DQ model's, by weight tensor name): the engine uses
  // these scales as they are, so it computes what the file's DequantizeLinear computes.
  std::map<std::string, WeightScales> weight_scales{};
  // How kInt8 nodes execute: real s8 oneDNN kernels, or a float simulation of the Q/DQ graph (quantize ->
  // dequantize in f32 around every quantized tensor; the reference the INT8 kernels are tested against and
  // a fallback where an s8 kernel is unavailable).
  enum class Int8Mode { kReal, kFakeQuant } int8_mode = Int8Mode::kReal;
  // Which nodes read the quantized copy of each activation_scales tensor (QuantActivation::consumers of the
  // quantization plan; see int8_options_from_plan in partq/engine_quant.hpp). A tensor absent from this map
  // is read quantized by every consumer that is planned kInt8 or is not a Conv / ConvTranspose / Gemm /
  // MatMul (the placement rules' default), and in float by the rest.
  std::map<std::string, std::vector<std::string>> quantized_consumers{};
  // Real INT8, opt-in speed for accuracy: an s8 Conv+SiLU writes its pre-activation as s8 codes and maps
  // them to the output levels through a 256-entry table instead of computing SiLU in fp32 inside the kernel
  // (oneDNN's SiLU post-op is 30-45% of the conv time; yolov5n INT8 runs ~20% faster). The extra rounding
  // of the pre-activation makes ~10% of a layer's output levels differ by one from the Q/DQ graph's, which
  // adds noise across the network (docs/quantization.md has the measured mAP).
  bool int8_silu_table = false;
  // A Conv+SiLU runs on bands of output rows that stay in cache, with SiLU (and the requantization of an s8
  // output) computed by partq's vector code after the oneDNN conv instead of by oneDNN's fused post-op, which
  // costs more than the conv itself. The same function to float rounding; off only for tests and debugging.
  bool silu_bands = true;
};

struct TensorInfo {
  std::string name;
  DType dtype = DType::kFloat32;
  Shape shape;  // fully static after compilation
};

// Called after the tapped tensor has been computed; `value` is a dense NCHW (row-major) f32 view that is
// valid only during the call.
using TapFn = std::function<void(const std::string& value_name, const Tensor& value)>;
// For observers that only need the values, not their positions (histograms, max |x|): the f32 values in the
// engine's own layout, read in place from the engine's memory (no copy), dense row-major in the dim order
// `shape` states ([N,H,W,C] for a 4D activation kept NHWC). Valid only during the call.
using ValuesTapFn =
    std::function<void(const std::string& value_name, std::span<const float> values, const Shape& shape)>;

// Whether the INT8 convolutions of a model whose weight codes reach `weight_max_code` run in s8 kernels here.
// False on a CPU without VNNI (AVX512-VNNI / AVX-VNNI) for 8-bit weights: there oneDNN's s8 convolutions
// halve the int8 weights to keep 16-bit sums from overflowing, which is not what the Q/DQ graph computes, so
// the engine runs those convolutions in f32 on their quantized -> dequantized inputs instead: the same
// results, at float speed. Reduced-range weights (codes within +-63) survive the halving exactly and run in
// s8 on any CPU.
bool int8_convolutions_run_in_s8(int weight_max_code = 127);

// The ops of `graph` the engine has no lowering for (ONNX op type; "domain.Op" outside the ONNX domain), each
// with the names of its nodes; empty when the engine can run every node. Engine::create refuses such a graph
// with one error naming them all.
std::map<std::string, std::vector<std::string>> unsupported_ops(const Graph& graph);

class Engine {
 public:
  // Compiles `graph` (the engine keeps what it needs; the graph may be destroyed afterwards).
  // Throws Error naming the node and op for an unsupported op or attribute, or for a shape mismatch.
  static std::unique_ptr<Engine> create(const Graph& graph, const EngineOptions& options = {});
  ~Engine();

  const std::vector<TensorInfo>& inputs() const;
  const std::vector<TensorInfo>& outputs() const;
  int64_t batch() const;

  // Runs one batch. `inputs` in graph-input order, shapes exactly as inputs() says (Error otherwise).
  // One run at a time per Engine (the activation arena is shared); the inputs are read in place, not copied.
  // Threads: oneDNN and partq's kernels use OpenMP (Debian's libdnnl is built with it); run() sets the
  // calling thread's OpenMP thread count to EngineOptions::threads. On a machine shared with other busy
  // processes, OMP_WAIT_POLICY=passive avoids libgomp's spin-waiting stalls (measured: up to 40x slower
  // without it). Returns the outputs as dense row-major tensors (f32 unless the graph output has another
  // type).
  std::vector<Tensor> run(const std::vector<Tensor>& inputs);
  // The same, writing into `outputs`: a tensor there whose dtype and shape already match is overwritten in
  // place, so a loop that passes the same vector allocates (and page-faults) nothing after its first call.
  void run(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs);

  // Observe a graph value by name (Error if the graph has no such value). Replaces an earlier tap on
  // the same value. Taps cost nothing when none is set.
  void set_tap(const std::string& value_name, TapFn fn);
  // As set_tap, for observers that only need the values (ValuesTapFn): no NCHW transposition and no copy
  // of f32 values (an activation kept in s8 is dequantized into a buffer first). Replaces any earlier tap on
  // the value. Error for a value that is not a float or INT8 activation.
  void set_values_tap(const std::string& value_name, ValuesTapFn fn);
  void clear_taps();

  // One line per compiled step: op, node name(s) fused into it, precision, layout, oneDNN implementation.
  std::string describe() const;

  struct Impl;

 private:
  explicit Engine(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace partq
