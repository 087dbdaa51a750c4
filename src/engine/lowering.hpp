// What an op's lowering function sees while the compiler walks the graph: the node, its inputs as runtime
// values (static shapes, layouts, constant data), and calls to define outputs and append steps.
//
// Each op file under ops/ provides `void lower_<op>(Lowering&)`, listed once in ops/ops.def. A lowering
// function validates attributes (unsupported() for anything it cannot run), computes the output shapes, picks
// layouts and appends the steps that compute the outputs. The compiler evaluates a node whose inputs are all
// constant by running those steps once at compile time, so lowering code never special-cases constants.
#pragma once

#include <fmt/format.h>
#include <partq/error.hpp>

#include <string>
#include <vector>

#include "program.hpp"

namespace partq::engine {

class Compiler;

// An activation absorbed into the op that produces its input (Conv + Relu, Conv + Sigmoid·Mul = SiLU, ...).
struct FusedActivation {
  dnnl::algorithm alg = dnnl::algorithm::undef;
  float alpha = 0.f;
  float beta = 0.f;
  std::string name;                // "Swish", "Relu", ...
  std::vector<const Node*> nodes;  // absorbed nodes, in order
  const Value* output = nullptr;   // the value the fused step produces instead of the conv output
  // Data-movement nodes (Reshape, Transpose) the elementwise activation was moved back across: the conv
  // output and theirs hold activated values, and the activation node's output is a view of the last one's.
  std::vector<const Node*> through;
};

class Lowering {
 public:
  Lowering(Compiler& compiler, const Node& node, const FusedActivation* fused)
      : node(node), fused(fused), compiler_(compiler) {}

  const Node& node;
  const FusedActivation* fused;  // set for a Conv that absorbs its activation

  int64_t opset() const;
  Precision precision() const;
  const dnnl::engine& dnnl_engine() const;
  bool fuse() const;             // steps may read across nodes' outputs (CompileOptions::fuse)
  bool int8_silu_table() const;  // CompileOptions::int8_silu_table
  bool silu_bands() const;       // CompileOptions::silu_bands
  // Graph-level facts for in-place rewrites: the runtime id of any defined graph value (-1 if not yet),
  // whether a value is a graph output, and marking a value whose bytes a step of this node overwrites.
  int id_of(const Value* v) const;
  bool is_graph_output(const Value* v) const;
  void mark_overwritten(const Value* v);
  // A graph value this node's steps make unobservable (`how` says why, for a tap's error message).
  void mark_fused_away(const Value* v, const std::string& how);
  // Node `n` (a later node) is implemented by this node's steps: the compiler skips it.
  void absorb(const Node& n);
  // Defines graph value `v` (the output of an absorbed node) as written by this node's steps.
  int define_value(const Value* v, DType dtype, Shape shape, Layout layout);
  // Makes value `id` (and every value sharing its bytes) live inside the plain value `y`, as the strided view
  // (`offset` elements in, element `strides` in `id`'s dim order), when every step that already touches those
  // bytes accepts it and no later node reads them: its producers then write straight into `y`. False, with
  // nothing changed, otherwise.
  bool place_inside(int id, int y, int64_t offset, const std::vector<int64_t>& strides);

  size_t num_inputs() const { return node.inputs.size(); }
  bool has_input(size_t i) const { return node.input(i) != nullptr; }
  int input(size_t i) const;  // value id of input i; Error naming the node if it is missing
  const RtValue& value(int id) const;
  const RtValue& in(size_t i) const { return value(input(i)); }
  const Tensor* constant(size_t i) const;  // the data of input i if it is known at compile time, else null
  // Input i's data, which must be known at compile time (shape arguments etc.); Error otherwise.
  const Tensor& require_constant(size_t i, const char* what) const;

  // The same data in another layout; inserts one reorder step per value the first time it is asked.
  int as_plain(int id);
  int as_nhwc(int id);

  // Defines graph output i of the node (or the fused activation's output when i == 0 and the node is fused).
  // `scale` > 0 for an s8 output (real = scale * (q - zero_point)).
  int define_output(size_t i, DType dtype, Shape shape, Layout layout, float scale = 0.f, int zero_point = 0);
  // INT8: the scale output i may be written in as s8 (every consumer reads it quantized), 0 if it must be
  // f32 (Compiler::int8_output_scale: also 0 for an asymmetric output unless `zero_point_ok`).
  float int8_output_scale(size_t i, bool zero_point_ok = false) const;
  // The per-output-channel scales of an int8 node's weight `w` (input 1; Compiler::weight_channel_scales).
  std::vector<float> weight_scales(const Tensor& w) const;
  int int8_output_zero_point(size_t i) const;  // the s8 code zero point output i is written with
  // Output i shares storage with the plain value `src` (Reshape, Squeeze, ...): no data moves.
  int alias_output(size_t i, int src, Shape shape);
  // Output i is known now (Constant, Shape): no step runs for it.
  int define_constant_output(size_t i, Tensor t);
  // A value the lowering needs internally (not in the graph).
  int define_temp(DType dtype, Shape shape, Layout layout);
  // Records that value `y` is a dense copy of the strided view (`offset`, element `strides`) of value `x`
  // (RtValue::copy_of), for consumers that can read the view instead.
  void mark_copy_of(int y, int x, int64_t offset, const std::vector<int64_t>& strides);

  void add_step(std::unique_ptr<Step> step);

  // Error "node 'n' (op T): <what>" for a valid model the engine cannot run.
  template <typename... Args>
  [[noreturn]] void unsupported(fmt::format_string<Args...> format, Args&&... args) const {
    fail("node '{}' (op {}): not supported by the engine: {}", node.name, node.op_type,
         fmt::format(format, std::forward<Args>(args)...));
  }
  // Error "node 'n' (op T): <what>" for a malformed model (bad shapes, bad attribute values).
  template <typename... Args>
  [[noreturn]] void invalid(fmt::format_string<Args...> format, Args&&... args) const {
    fail("node '{}' (op {}): {}", node.name, node.op_type, fmt::format(format, std::forward<Args>(args)...));
  }

  // Normalises a possibly negative axis against `rank`; Error if out of range.
  int64_t axis(int64_t axis, int64_t rank) const;

 private:
  const Value* output_value(size_t i) const;  // graph value of output i (the fused activation's for 0)
  Compiler& compiler_;
};

// Fills the bookkeeping fields of a step from the lowering context.
template <typename S>
S& init_step(S& step, const Lowering& lw, std::string op, std::vector<int> inputs, std::vector<int> outputs,
             std::string impl) {
  step.op = std::move(op);
  step.nodes.push_back(lw.node.name);
  if (lw.fused)
    for (const Node* n : lw.fused->nodes)
      step.nodes.push_back(n->name);
  step.inputs = std::move(inputs);
  step.outputs = std::move(outputs);
  step.impl = std::move(impl);
  step.precision = lw.precision();
  return step;
}

}  // namespace partq::engine
