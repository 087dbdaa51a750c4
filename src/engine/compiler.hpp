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
};

class Compiler {
 public:
  Compiler(const dnnl::engine& eng, dnnl::stream& stream, CompileOptions options)
      : eng_(eng), stream_(stream), options_(std::move(options)) {}

  Program compile(const Graph& graph);

  // --- used by Lowering ---
  int64_t opset() const { return opset_; }
  const dnnl::engine& dnnl_engine() const { return eng_; }
  Precision precision_of(const Node& node) const { return options_.plan.of(node.name); }
  int id_of(const Value* v) const;  // -1 if the value has not been defined
  RtValue& value(int id) { return program_.values[id]; }
  int add_value(RtValue v);
  int define_graph_value(const Value* v, RtValue rv);
  int as_plain(int id);
  int as_nhwc(int id);
  void add_step(std::unique_ptr<Step> step) { program_.steps.push_back(std::move(step)); }

 private:
  void lower_node(const Node& node, const FusedActivation* fused);
  void evaluate_now(const std::vector<const Value*>& outputs, size_t first_step, size_t first_value);
  void finish(const Graph& graph);

  const dnnl::engine& eng_;
  dnnl::stream& stream_;
  CompileOptions options_;
  int64_t opset_ = 17;
  Program program_;
  std::map<const Value*, int> ids_;
};

// A dense row-major copy of a runtime value given its bytes (converts NHWC to NCHW).
Tensor to_plain_tensor(const RtValue& v, const std::byte* data);

}  // namespace partq::engine
