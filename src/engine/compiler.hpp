// Compiles a Graph (already canonicalised and batch-specialised) into a Program: walks the nodes in order,
// asks each op's lowering function (ops/ops.def) for steps, evaluates nodes with only constant inputs at
// compile time, then plans activation memory by lifetime.
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "fusion.hpp"
#include "lowering.hpp"
#include "program.hpp"

namespace partq::engine {

struct Program {
  std::deque<RtValue> values;  // references stay valid while the compiler appends
  std::vector<std::unique_ptr<Step>> steps;
  std::vector<Storage> storages;
  size_t arena_size = 0;
  std::vector<int> input_ids;   // per graph input
  std::vector<int> output_ids;  // per graph output (plain layout)
  std::vector<TensorInfo> inputs, outputs;
  std::map<std::string, int> value_ids;           // graph value name -> runtime value id
  std::map<std::string, std::string> fused_away;  // graph value name -> the fused step that swallowed it
};

struct CompileOptions {
  bool fuse = true;
  PrecisionPlan plan;
  // INT8 (see EngineOptions): per-tensor activation scales, who reads the quantized copies, and whether kInt8
  // nodes run s8 kernels (real) or a float simulation of the Q/DQ graph (fake-quant).
  std::map<std::string, float> scales;
  std::map<std::string, int> zero_points;  // s8 code zero points of asymmetric tensors (int8.hpp)
  std::map<std::string, std::vector<std::string>> quantized_consumers;
  std::map<std::string, WeightScales> weight_scales;  // EngineOptions::weight_scales
  int weight_max_code = 127;                          // EngineOptions::weight_max_code
  bool real_int8 = true;
  bool int8_silu_table = true;
  bool silu_bands = true;
};

class Compiler {
 public:
  Compiler(const dnnl::engine& eng, dnnl::stream& stream, CompileOptions options)
      : eng_(eng), stream_(stream), options_(std::move(options)) {}

  Program compile(const Graph& graph);

  // --- used by Lowering ---
  int64_t opset() const { return opset_; }
  const dnnl::engine& dnnl_engine() const { return eng_; }
  bool fuse() const { return options_.fuse; }
  bool int8_silu_table() const { return options_.int8_silu_table; }
  bool silu_bands() const { return options_.silu_bands; }
  Precision precision_of(const Node& node) const { return options_.plan.of(node.name); }
  int id_of(const Value* v) const;  // -1 if the value has not been defined
  bool is_graph_output(const Value* v) const;
  // `v`'s bytes are overwritten in place by a later step: it can no longer be tapped.
  void mark_overwritten(const Value* v, const std::string& by);
  void absorb(const Node* n) { absorbed_.insert(n); }
  bool place_inside(int id, int y, int64_t offset, const std::vector<int64_t>& strides);
  RtValue& value(int id) { return program_.values[id]; }
  int add_value(RtValue v);
  int define_graph_value(const Value* v, RtValue rv);
  int as_plain(int id);
  int as_nhwc(int id);
  int layout_twin(int id, Layout layout);
  void add_step(std::unique_ptr<Step> step) { program_.steps.push_back(std::move(step)); }
  // The value id a lowering reads for input i of the node being lowered (a quantized twin, a fake-quantized
  // weight), or -1 to read the graph value itself.
  int input_override(size_t i) const;

  // --- INT8 (quantize.cpp) ---
  float quant_scale(const Value* v) const;     // activation scale of a graph value, 0 if it is not quantized
  int quant_zero_point(const Value* v) const;  // its s8 code zero point (0: symmetric or not quantized)
  // True when `node` reads the quantized copy of `v` (the plan's consumers, or the default rule).
  bool reads_quantized(const Node& node, const Value* v) const;
  // The scale a producer may write `y` in as s8: y is quantized and every consumer reads it quantized (so no
  // one needs the unquantized float); 0 otherwise. Also 0 for an asymmetric y unless the producer writes
  // zero points (`zero_point_ok`; it then writes quant_zero_point(y)).
  float int8_output_scale(const Value* y, bool zero_point_ok = false) const;
  // s8 twin (quantize), or the value itself if already s8.
  int as_int8(int id, float scale, int zero_point);
  int as_float(int id);  // f32 twin of an s8 value (dequantize)
  // f32 quantize->dequantize of a value (fake-quant numerics).
  int quantized_float(int id, float scale, int zero_point);
  // The per-channel scales of a kInt8 node's weight `w` (data `t`): the given ones (EngineOptions::
  // weight_scales), per-tensor ones repeated along the node's weight axis, or max|w| / weight_max_code along
  // it. `axis` says which axis they run along (a Q/DQ file may quantize another one than the engine's).
  struct ChannelScales {
    int64_t axis = 0;
    std::vector<float> scales;
  };
  ChannelScales weight_channel_scales(const Node& node, const Value* w, const Tensor& t) const;

 private:
  void lower_node(const Node& node, const FusedActivation* fused);
  // INT8 decisions for one node (quantize.cpp).
  bool runs_int8(const Node& node, std::string& why_not) const;
  void plan_inputs(const Node& node, bool int8_kernels);
  int fake_quant_weight(const Node& node);
  void rollback(size_t n_steps, size_t n_values);
  void evaluate_now(const std::vector<const Value*>& outputs, size_t first_step, size_t first_value);
  void finish(const Graph& graph);
  void drop_dead_steps();

  const dnnl::engine& eng_;
  dnnl::stream& stream_;
  CompileOptions options_;
  int64_t opset_ = 17;
  Program program_;
  std::map<const Value*, int> ids_;
  const Graph* graph_ = nullptr;
  std::map<size_t, int> overrides_;  // input index -> value id, for the node being lowered
  std::set<const Node*> absorbed_;   // nodes a lowering implemented with an earlier node (Lowering::absorb)
  std::set<const Node*> done_;       // nodes lowered (or skipped) so far
  const Node* current_ = nullptr;    // the node being lowered
};

// A dense row-major copy of a runtime value given its bytes (converts NHWC to NCHW).
Tensor to_plain_tensor(const RtValue& v, const std::byte* data);
// The same into `out`, reusing its buffer when dtype and shape already match (taps run every batch).
void to_plain_tensor_into(const RtValue& v, const std::byte* data, Tensor& out);

// A oneDNN reorder between two layouts / types; `scale` != 0 multiplies (int8 quantize / dequantize).
std::unique_ptr<Step> make_reorder_step(const dnnl::engine& eng, const RtValue& src, const RtValue& dst,
                                        float scale = 0.f);

}  // namespace partq::engine
