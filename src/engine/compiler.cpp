#include "compiler.hpp"

#include <partq/passes.hpp>

#include <algorithm>
#include <cstring>

#include "kernels.hpp"
#include "memory_planner.hpp"
#include "op_support.hpp"
#include "ops/registry.hpp"

namespace partq::engine {

namespace {

// Converts between plain and NHWC with a oneDNN reorder.
class ReorderStep : public Step {
 public:
  // `scale` != 0: dst = saturate(round_half_even((src - src zero point) * scale) + dst zero point) (int8
  // quantize / dequantize; the s8 side's RtValue::zero_point).
  ReorderStep(const dnnl::engine& eng, const RtValue& src, const RtValue& dst, float scale = 0.f) {
    dnnl::primitive_attr attr;
    if (scale != 0.f) attr.set_output_scales(0, {scale});
    if (src.zero_point != 0) attr.set_zero_points(DNNL_ARG_SRC, 0, {src.zero_point});
    if (dst.zero_point != 0) attr.set_zero_points(DNNL_ARG_DST, 0, {dst.zero_point});
    dnnl::reorder::primitive_desc pd(eng, md_of(src), eng, md_of(dst), attr);
    impl = pd.impl_info_str();
    prim_ = dnnl::reorder(pd);
  }
  void execute(ExecContext& ctx) override {
    prim_.execute(ctx.stream, ctx.mem(inputs[0]), ctx.mem(outputs[0]));
  }

 private:
  dnnl::reorder prim_;
};

}  // namespace

std::unique_ptr<Step> make_reorder_step(const dnnl::engine& eng, const RtValue& src, const RtValue& dst,
                                        float scale) {
  return std::make_unique<ReorderStep>(eng, src, dst, scale);
}

void to_plain_tensor_into(const RtValue& v, const std::byte* data, Tensor& t) {
  if (t.dtype != v.dtype || t.shape != v.shape) t = Tensor(v.dtype, v.shape);
  if (!v.strides.empty()) {
    strided_copy(dtype_size(v.dtype), v.shape, data, v.strides, t.bytes.data(), dense_strides(v.shape));
  } else if (v.layout == Layout::kNhwc) {
    strided_copy(dtype_size(v.dtype), v.shape, data, nhwc_strides(v.shape), t.bytes.data(),
                 dense_strides(v.shape));
  } else if (!t.bytes.empty()) {
    std::memcpy(t.bytes.data(), data, t.bytes.size());
  }
}

Tensor to_plain_tensor(const RtValue& v, const std::byte* data) {
  Tensor t;
  to_plain_tensor_into(v, data, t);
  return t;
}

int Compiler::id_of(const Value* v) const {
  auto it = ids_.find(v);
  return it == ids_.end() ? -1 : it->second;
}

bool Compiler::is_graph_output(const Value* v) const {
  return std::find(graph_->outputs.begin(), graph_->outputs.end(), v) != graph_->outputs.end();
}

void Compiler::mark_overwritten(const Value* v, const std::string& by) {
  program_.value_ids.erase(v->name);
  program_.fused_away[v->name] = by;
}

int Compiler::add_value(RtValue v) {
  program_.values.push_back(std::move(v));
  return static_cast<int>(program_.values.size()) - 1;
}

int Compiler::define_graph_value(const Value* v, RtValue rv) {
  rv.name = v->name;
  int id = add_value(std::move(rv));
  ids_[v] = id;
  program_.value_ids[v->name] = id;
  return id;
}

int Compiler::as_plain(int id) {
  if (program_.values[id].layout == Layout::kPlain) return id;
  return layout_twin(id, Layout::kPlain);
}

int Compiler::as_nhwc(int id) {
  const RtValue& v = program_.values[id];
  if (v.layout == Layout::kNhwc) return id;
  if (v.shape.size() != 4)
    fail("internal: NHWC layout asked for a rank-{} value '{}'", v.shape.size(), v.name);
  return layout_twin(id, Layout::kNhwc);
}

// The copy of value `id` in `layout`, made once: a constant is converted now, anything else gets one
// Reorder step; later consumers asking for the same layout share it.
int Compiler::layout_twin(int id, Layout layout) {
  const bool to_plain = layout == Layout::kPlain;
  auto twin_of = [&](int value) -> int& {
    RtValue& v = program_.values[value];
    return to_plain ? v.plain_twin : v.nhwc_twin;
  };
  if (twin_of(id) >= 0) return twin_of(id);
  const RtValue& v = program_.values[id];
  RtValue twin = make_value(v.name + (to_plain ? "#plain" : "#nhwc"), v.dtype, v.shape, layout);
  twin.scale = v.scale;
  twin.zero_point = v.zero_point;
  twin.twin_of = id;
  if (v.is_constant()) {
    if (to_plain) {
      twin.constant = std::make_shared<Tensor>(to_plain_tensor(v, v.constant->bytes.data()));
    } else {
      auto t = std::make_shared<Tensor>(v.dtype, v.shape);
      strided_copy(dtype_size(v.dtype), v.shape, v.constant->bytes.data(), dense_strides(v.shape),
                   t->bytes.data(), nhwc_strides(v.shape));
      twin.constant = t;
    }
    const int tid = add_value(std::move(twin));
    twin_of(id) = tid;
    return tid;
  }
  const int tid = add_value(std::move(twin));
  auto step = std::make_unique<ReorderStep>(eng_, program_.values[id], program_.values[tid]);
  step->op = "Reorder";
  step->inputs = {id};
  step->outputs = {tid};
  add_step(std::move(step));
  twin_of(id) = tid;
  return tid;
}

Program Compiler::compile(const Graph& graph) {
  check_ops_supported(graph);
  opset_ = graph.opset;
  graph_ = &graph;
  for (const Value* in : graph.inputs) {
    if (graph.size_inputs.count(in->name)) {  // partq's to feed: a constant, not a run() input
      RtValue rv = make_value(in->name, in->dtype, in->shape);
      rv.constant = std::make_shared<Tensor>(size_input_value(graph, *in));
      define_graph_value(in, std::move(rv));
      continue;
    }
    if (!in->has_shape || shape_numel(in->shape) < 0)
      fail(
          "graph input '{}' has no static shape {}: dims other than the batch must be fixed (for an image "
          "of dynamic height and width: partq convert MODEL --input-size HxW -o FIXED.onnx)",
          in->name, shape_str(in->shape));
    RtValue rv = make_value(in->name, in->dtype, in->shape);
    rv.graph_input = static_cast<int>(program_.input_ids.size());
    int id = define_graph_value(in, std::move(rv));
    program_.input_ids.push_back(id);
    program_.inputs.push_back({in->name, in->dtype, in->shape});
  }
  // Initializers referenced by nodes become constants.
  for (const auto& n : graph.nodes())
    for (const Value* v : n->inputs)
      if (v && v->initializer && id_of(v) < 0) {
        RtValue rv = make_value(v->name, v->initializer->dtype, v->initializer->shape);
        rv.constant = v->initializer;
        define_graph_value(v, std::move(rv));
      }

  std::map<const Node*, FusedActivation> fusions;
  if (options_.fuse) fusions = plan_fusions(graph);
  // A quantized tensor inside a fusion (the conv output before its activation) must be materialised.
  for (auto it = fusions.begin(); it != fusions.end();) {
    bool inner_quantized = quant_scale(it->first->outputs[0]) > 0;
    for (const Node* n : it->second.nodes)
      if (n->outputs[0] != it->second.output && quant_scale(n->outputs[0]) > 0) inner_quantized = true;
    for (const Node* n : it->second.through)
      if (quant_scale(n->outputs[0]) > 0) inner_quantized = true;
    it = inner_quantized ? fusions.erase(it) : std::next(it);
  }
  std::set<const Node*> absorbed, moved;
  for (const auto& [conv, f] : fusions)
    for (const Node* n : f.nodes)
      (f.through.empty() ? absorbed : moved).insert(n);

  for (const auto& n : graph.nodes()) {
    done_.insert(n.get());
    if (absorbed.count(n.get()) || absorbed_.count(n.get())) continue;
    if (moved.count(n.get())) {  // applied by the conv before the data movement: a view of its input
      const int src = id_of(n->inputs[0]);
      const RtValue& sv = program_.values[src];
      if (sv.layout != Layout::kPlain || sv.is_constant())
        fail("internal: moved activation '{}' reads a non-plain value", n->name);
      RtValue rv = make_value("", sv.dtype, sv.shape);
      rv.alias_of = src;
      define_graph_value(n->outputs[0], std::move(rv));
      continue;
    }
    auto it = fusions.find(n.get());
    lower_node(*n, it == fusions.end() ? nullptr : &it->second);
  }
  for (const auto& [conv, f] : fusions) {
    std::string step = fmt::format("{}+{}", conv->name, f.name);
    if (!f.through.empty()) {  // these hold activated values now, not their own
      for (const Value* v : {conv->outputs[0], f.through[0]->outputs[0], f.through[1]->outputs[0]}) {
        program_.fused_away[v->name] = step;
        program_.value_ids.erase(v->name);
      }
      continue;
    }
    program_.fused_away[conv->outputs[0]->name] = step;
    for (const Node* n : f.nodes)
      if (n->outputs[0] != f.output) program_.fused_away[n->outputs[0]->name] = step;
  }
  finish(graph);
  return std::move(program_);
}

void Compiler::lower_node(const Node& node, const FusedActivation* fused) {
  if (!node.domain.empty() && node.domain != "ai.onnx")
    fail("node '{}' (op {}): not supported by the engine: domain '{}'", node.name, node.op_type, node.domain);
  const OpEntry* op = find_op(node.op_type);
  if (!op) fail("node '{}' (op {}): not supported by the engine", node.name, node.op_type);
  bool all_constant = true;
  for (const Value* v : node.inputs) {
    if (!v) continue;
    int id = id_of(v);
    if (id < 0)
      fail("node '{}' (op {}): input '{}' is not computed before it", node.name, node.op_type, v->name);
    all_constant = all_constant && program_.values[id].is_constant();
  }
  // The per-node precision decision point: which inputs are read quantized, and whether s8 kernels run.
  std::string why_float;
  bool int8_kernels = options_.real_int8 && runs_int8(node, why_float);
  const bool planned_int8 = precision_of(node) == Precision::kInt8;
  if (planned_int8 && !options_.real_int8) why_float = "fake-quant mode";
  const size_t snapshot_steps = program_.steps.size(), snapshot_values = program_.values.size();
  plan_inputs(node, int8_kernels);
  size_t first_step = program_.steps.size();
  size_t first_value = program_.values.size();
  Lowering lw(*this, node, fused);
  current_ = &node;
  try {
    op->lower(lw);
  } catch (const dnnl::error& e) {
    if (!int8_kernels)
      fail("node '{}' (op {}): not supported by the engine: oneDNN has no implementation for it ({})",
           node.name, node.op_type, e.what());
    // No s8 kernel for this descriptor: run the node in float on quantize->dequantize inputs instead.
    why_float = fmt::format("no oneDNN s8 kernel ({})", e.what());
    rollback(snapshot_steps, snapshot_values);
    int8_kernels = false;
    plan_inputs(node, false);
    first_step = program_.steps.size();
    first_value = program_.values.size();
    try {
      op->lower(lw);
    } catch (const dnnl::error& e2) {
      fail("node '{}' (op {}): not supported by the engine: oneDNN has no implementation for it ({})",
           node.name, node.op_type, e2.what());
    }
  }
  overrides_.clear();
  if (planned_int8 && !int8_kernels)
    for (size_t s = first_step; s < program_.steps.size(); ++s)
      program_.steps[s]->impl += " [int8 simulated in f32: " + why_float + "]";
  for (const Value* out : node.outputs)
    if (out && !out->name.empty() && id_of(out) < 0 && !fused && !program_.fused_away.count(out->name))
      fail("internal: node '{}' (op {}) left output '{}' undefined", node.name, node.op_type, out->name);
  if (all_constant && program_.steps.size() > first_step) {
    std::vector<const Value*> outputs(node.outputs.begin(), node.outputs.end());
    if (fused) outputs.push_back(fused->output);
    evaluate_now(outputs, first_step, first_value);
  }
}

// Runs the steps just lowered for a node once, on temporary buffers, and turns its outputs into constants.
void Compiler::evaluate_now(const std::vector<const Value*>& outputs, size_t first_step, size_t first_value) {
  ExecContext ctx(eng_, stream_, program_.values);
  std::vector<std::vector<std::byte>> temps;
  for (size_t id = 0; id < program_.values.size(); ++id) {
    RtValue& v = program_.values[id];
    if (v.is_constant()) ctx.bind(static_cast<int>(id), const_cast<std::byte*>(v.constant->bytes.data()));
  }
  for (size_t id = first_value; id < program_.values.size(); ++id) {
    RtValue& v = program_.values[id];
    if (v.is_constant()) continue;
    if (v.alias_of >= 0) {
      ctx.bind(static_cast<int>(id), ctx.ptr(v.alias_of) + v.view_offset);
    } else {
      temps.emplace_back(v.bytes() + 64);
      ctx.bind(static_cast<int>(id), temps.back().data());
    }
  }
  for (size_t s = first_step; s < program_.steps.size(); ++s)
    program_.steps[s]->execute(ctx);
  stream_.wait();
  for (const Value* out : outputs) {
    int id = out ? id_of(out) : -1;
    if (id < 0) continue;
    RtValue& v = program_.values[id];
    if (v.is_constant()) continue;
    v.constant = std::make_shared<Tensor>(to_plain_tensor(v, ctx.ptr(id)));
    v.layout = Layout::kPlain;
    v.alias_of = -1;
  }
  program_.steps.resize(first_step);
}

// Steps whose results no later step reads (a layout reorder whose consumer read the NHWC source directly, a
// Split output an in-place Concat kept where it was): removed, with the values that lived in their outputs
// (now never written) marked as fused away.
void Compiler::drop_dead_steps() {
  auto& values = program_.values;
  auto root = [&](int id) {
    while (values[id].alias_of >= 0)
      id = values[id].alias_of;
    return id;
  };
  std::set<int> read, dropped;
  for (int id : program_.output_ids)
    read.insert(root(id));
  auto& steps = program_.steps;
  for (size_t s = steps.size(); s-- > 0;) {
    const Step& step = *steps[s];
    bool dead = !step.outputs.empty();
    for (int id : step.outputs)
      dead = dead && !read.count(root(id)) && values[root(id)].graph_input < 0;
    if (dead) {
      for (int id : step.outputs)
        dropped.insert(root(id));
      steps.erase(steps.begin() + static_cast<std::ptrdiff_t>(s));
      continue;
    }
    for (int id : step.inputs)
      read.insert(root(id));
  }
  if (dropped.empty()) return;
  for (auto it = program_.value_ids.begin(); it != program_.value_ids.end();) {
    if (dropped.count(root(it->second))) {
      program_.fused_away[it->first] = "a step reading its source directly";
      it = program_.value_ids.erase(it);
    } else {
      ++it;
    }
  }
}

bool Compiler::place_inside(int id, int y, int64_t offset, const std::vector<int64_t>& strides) {
  auto& values = program_.values;
  auto root = [&](int v) {
    while (values[v].alias_of >= 0)
      v = values[v].alias_of;
    return v;
  };
  const int r = root(id);
  const RtValue& rv = values[r];
  if (r == root(y) || rv.is_constant() || rv.graph_input >= 0 || rv.dtype != values[y].dtype ||
      rv.scale != values[y].scale || rv.zero_point != values[y].zero_point ||
      values[y].layout != Layout::kPlain || !values[y].strides.empty())
    return false;
  // The values sharing r's bytes: plain, dense, with no layout or type twins (their steps read dense bytes).
  std::vector<int> family;
  for (size_t v = 0; v < values.size(); ++v)
    if (root(static_cast<int>(v)) == r) family.push_back(static_cast<int>(v));
  std::vector<Strides> family_strides(family.size());
  for (size_t k = 0; k < family.size(); ++k) {
    const RtValue& m = values[family[k]];
    if (m.layout != Layout::kPlain || !m.strides.empty() || m.view_offset != 0 || m.plain_twin >= 0 ||
        m.nhwc_twin >= 0 || m.int8_twin >= 0 || m.float_twin >= 0 || m.fakequant_twin >= 0)
      return false;
    // All of them reinterpret the same dense bytes: each one's strides follow from the view of `id`.
    if (!reshape_strides(values[id].shape, strides, m.shape, family_strides[k])) return false;
  }
  // No graph output among them, and nothing left to lower reads them.
  for (const auto& [gv, vid] : ids_) {
    if (root(vid) != r) continue;
    if (is_graph_output(gv)) return false;
    for (const Node* c : gv->consumers)
      if (c != current_ && !done_.count(c)) return false;
  }
  // Every step that touches them reads their strides when it runs.
  for (const auto& step : program_.steps)
    for (const auto* ids : {&step->inputs, &step->outputs})
      for (int v : *ids)
        for (size_t k = 0; k < family.size(); ++k)
          if (v == family[k]) {
            RtValue view = values[v];
            view.strides = family_strides[k];
            if (!step->accepts_view(v, view)) return false;
          }
  for (size_t k = 0; k < family.size(); ++k)
    values[family[k]].strides = family_strides[k];
  values[r].alias_of = y;
  values[r].view_offset = static_cast<size_t>(offset) * dtype_size(values[y].dtype);
  return true;
}

void Compiler::finish(const Graph& graph) {
  auto& values = program_.values;
  for (const Value* out : graph.outputs) {
    int id = id_of(out);
    if (id < 0) fail("graph output '{}' is not computed by any node", out->name);
    id = as_plain(id);
    program_.output_ids.push_back(id);
    program_.outputs.push_back({out->name, values[id].dtype, values[id].shape});
  }
  drop_dead_steps();
  // One arena buffer per root value that some step writes; aliases share their root's buffer.
  auto root = [&](int id) {
    while (values[id].alias_of >= 0)
      id = values[id].alias_of;
    return id;
  };
  std::vector<BufferLifetime> lifetimes;
  std::map<int, int> storage_of_root;
  const int n_steps = static_cast<int>(program_.steps.size());
  auto touch = [&](int id, int step, bool write) {
    int r = root(id);
    if (values[r].is_constant() || values[r].graph_input >= 0) return;
    auto [it, inserted] = storage_of_root.try_emplace(r, static_cast<int>(lifetimes.size()));
    if (inserted) lifetimes.push_back(BufferLifetime{step, step, values[r].bytes(), 0});
    BufferLifetime& lt = lifetimes[it->second];
    if (write) lt.first_use = std::min(lt.first_use, step);
    lt.last_use = std::max(lt.last_use, step);
  };
  for (int s = 0; s < n_steps; ++s) {
    for (int id : program_.steps[s]->outputs)
      touch(id, s, true);
    for (int id : program_.steps[s]->inputs)
      touch(id, s, false);
  }
  for (int id : program_.output_ids)
    touch(id, n_steps, false);
  program_.arena_size = plan_memory(lifetimes);
  for (const BufferLifetime& lt : lifetimes)
    program_.storages.push_back({lt.size, lt.offset});
  for (size_t id = 0; id < values.size(); ++id) {
    auto it = storage_of_root.find(root(static_cast<int>(id)));
    if (it != storage_of_root.end()) values[id].storage = it->second;
  }
}

// ---- Lowering ----

int64_t Lowering::opset() const {
  return compiler_.opset();
}
Precision Lowering::precision() const {
  return compiler_.precision_of(node);
}
const dnnl::engine& Lowering::dnnl_engine() const {
  return compiler_.dnnl_engine();
}
bool Lowering::fuse() const {
  return compiler_.fuse();
}

bool Lowering::int8_silu_table() const {
  return compiler_.int8_silu_table();
}

bool Lowering::silu_bands() const {
  return compiler_.silu_bands();
}
int Lowering::id_of(const Value* v) const {
  return compiler_.id_of(v);
}
bool Lowering::is_graph_output(const Value* v) const {
  return compiler_.is_graph_output(v);
}
void Lowering::mark_overwritten(const Value* v) {
  compiler_.mark_overwritten(v, fmt::format("{} (in place)", node.name));
}
void Lowering::mark_fused_away(const Value* v, const std::string& how) {
  compiler_.mark_overwritten(v, fmt::format("{} ({})", node.name, how));
}
void Lowering::absorb(const Node& n) {
  compiler_.absorb(&n);
}
int Lowering::define_value(const Value* v, DType dtype, Shape shape, Layout layout) {
  return compiler_.define_graph_value(v, make_value("", dtype, std::move(shape), layout));
}
bool Lowering::place_inside(int id, int y, int64_t offset, const std::vector<int64_t>& strides) {
  return compiler_.place_inside(id, y, offset, strides);
}

int Lowering::input(size_t i) const {
  const Value* v = node.input(i);
  if (!v) invalid("input {} is missing", i);
  int o = compiler_.input_override(i);
  return o >= 0 ? o : compiler_.id_of(v);
}

const Value* Lowering::output_value(size_t i) const {
  return (fused && i == 0) ? fused->output : (i < node.outputs.size() ? node.outputs[i] : nullptr);
}
float Lowering::int8_output_scale(size_t i, bool zero_point_ok) const {
  return compiler_.int8_output_scale(output_value(i), zero_point_ok);
}

std::vector<float> Lowering::weight_scales(const Tensor& w) const {
  Compiler::ChannelScales ws = compiler_.weight_channel_scales(node, node.input(1), w);
  if (ws.axis != 0) unsupported("a weight quantized along axis {}", ws.axis);
  return std::move(ws.scales);
}
int Lowering::int8_output_zero_point(size_t i) const {
  return compiler_.quant_zero_point(output_value(i));
}

const RtValue& Lowering::value(int id) const {
  return compiler_.value(id);
}

const Tensor* Lowering::constant(size_t i) const {
  if (!has_input(i)) return nullptr;
  const RtValue& v = in(i);
  if (!v.is_constant()) return nullptr;
  if (v.layout != Layout::kPlain) return nullptr;
  return v.constant.get();
}

const Tensor& Lowering::require_constant(size_t i, const char* what) const {
  const Tensor* t = constant(i);
  if (!t) unsupported("{} (input {}) must be known at compile time", what, i);
  return *t;
}

int Lowering::as_plain(int id) {
  return compiler_.as_plain(id);
}
int Lowering::as_nhwc(int id) {
  return compiler_.as_nhwc(id);
}

int Lowering::define_output(size_t i, DType dtype, Shape shape, Layout layout, float scale, int zero_point) {
  const Value* v = (fused && i == 0) ? fused->output : (i < node.outputs.size() ? node.outputs[i] : nullptr);
  RtValue rv = make_value("", dtype, std::move(shape), layout);
  rv.scale = scale;
  rv.zero_point = zero_point;
  if (!v || v->name.empty()) return compiler_.add_value(std::move(rv));  // omitted optional output
  return compiler_.define_graph_value(v, std::move(rv));
}

int Lowering::alias_output(size_t i, int src, Shape shape) {
  const RtValue& s = compiler_.value(src);
  if (s.layout != Layout::kPlain) fail("internal: alias of a non-plain value in node '{}'", node.name);
  RtValue rv = make_value("", s.dtype, std::move(shape));
  if (s.is_constant()) {
    auto t = std::make_shared<Tensor>(*s.constant);
    t->shape = rv.shape;
    rv.constant = std::move(t);
  } else {
    rv.alias_of = src;
    rv.graph_input = -1;
  }
  const Value* v = i < node.outputs.size() ? node.outputs[i] : nullptr;
  if (!v || v->name.empty()) return compiler_.add_value(std::move(rv));
  return compiler_.define_graph_value(v, std::move(rv));
}

int Lowering::define_constant_output(size_t i, Tensor t) {
  RtValue rv = make_value("", t.dtype, t.shape);
  rv.constant = std::make_shared<Tensor>(std::move(t));
  const Value* v = i < node.outputs.size() ? node.outputs[i] : nullptr;
  if (!v || v->name.empty()) return compiler_.add_value(std::move(rv));
  return compiler_.define_graph_value(v, std::move(rv));
}

int Lowering::define_temp(DType dtype, Shape shape, Layout layout) {
  return compiler_.add_value(make_value(node.name + "#tmp", dtype, std::move(shape), layout));
}

void Lowering::mark_copy_of(int y, int x, int64_t offset, const std::vector<int64_t>& strides) {
  RtValue& v = compiler_.value(y);
  v.copy_of = x;
  v.copy_offset = offset;
  v.copy_strides = strides;
}

void Lowering::add_step(std::unique_ptr<Step> step) {
  compiler_.add_step(std::move(step));
}

int64_t Lowering::axis(int64_t a, int64_t rank) const {
  if (a < -rank || a >= rank) invalid("axis {} out of range for rank {}", a, rank);
  return a < 0 ? a + rank : a;
}

}  // namespace partq::engine
