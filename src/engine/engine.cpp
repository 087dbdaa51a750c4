// The Engine facade: prepares the graph (canonical forms, batch, BN folding), compiles it, binds memory,
// runs.
#include <omp.h>
#include <partq/engine.hpp>
#include <partq/error.hpp>
#include <partq/passes.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "compiler.hpp"
#include "cpu_features.hpp"
#include "int8.hpp"

namespace partq {

using engine::ExecContext;
using engine::Program;
using engine::RtValue;

struct Engine::Impl {
  dnnl::engine eng{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream{eng};
  Program program;
  int threads = 1;
  int64_t batch = 1;
  std::vector<std::byte> arena_bytes;    // every activation buffer, placed by the memory planner
  std::byte* arena = nullptr;            // 64-byte aligned start inside arena_bytes
  std::unique_ptr<ExecContext> ctx;      // declared after `program`: destroyed before the values it refers to
  std::vector<TapFn> taps;               // by runtime value id; checked only when any_tap
  std::vector<ValuesTapFn> values_taps;  // by runtime value id (set_values_tap)
  bool any_tap = false;
  bool profile = false;  // PARTQ_PROFILE=1: time each step, print a table when the engine is destroyed
  std::vector<double> step_ms;
  int runs = 0;
  // Views (Reshape, Flatten, in-place Concat inputs...) are written by no step of their own: their taps fire
  // after the last step that writes their storage.
  std::vector<std::vector<int>> views_after_step;

  int root(int id) const {
    while (program.values[id].alias_of >= 0)
      id = program.values[id].alias_of;
    return id;
  }
  // Where value `id` starts in its root's bytes (a strided view inside a Concat output starts further in).
  size_t offset_in_root(int id) const {
    size_t offset = 0;
    for (; program.values[id].alias_of >= 0; id = program.values[id].alias_of)
      offset += program.values[id].view_offset;
    return offset;
  }
  // Tap buffers are kept per value and reused: calibration taps dozens of multi-megabyte tensors every
  // batch, and fresh zero-filled allocations cost more than the copy itself.
  std::vector<Tensor> tap_plain, tap_real;
  bool tapped(int id) const { return taps[id] || values_taps[id]; }
  // An activation kept in s8: taps see its real values, in value id's reused f32 buffer.
  const Tensor& dequantized(int id, const Shape& shape, const std::byte* data, float scale, int zero_point) {
    Tensor& f = tap_real[id];
    if (f.dtype != DType::kFloat32 || f.shape != shape) f = Tensor(DType::kFloat32, shape);
    const auto* q = reinterpret_cast<const int8_t*>(data);
    auto out = f.as<float>();
    for (size_t i = 0; i < out.size(); ++i)
      out[i] = static_cast<float>(q[i] - zero_point) * scale;
    return f;
  }
  void call_tap(int id) {
    const RtValue& v = program.values[id];
    if (values_taps[id] && v.strides.empty()) {
      const Shape shape = v.layout == engine::Layout::kNhwc && v.shape.size() == 4
                              ? Shape{v.shape[0], v.shape[2], v.shape[3], v.shape[1]}
                              : v.shape;
      const size_t n = static_cast<size_t>(shape_numel(shape));
      if (v.dtype == DType::kInt8) {
        values_taps[id](v.name, dequantized(id, shape, ctx->ptr(id), v.scale, v.zero_point).as<const float>(),
                        shape);
      } else {
        values_taps[id](v.name, {reinterpret_cast<const float*>(ctx->ptr(id)), n}, shape);
      }
      return;
    }
    Tensor& t = tap_plain[id];
    engine::to_plain_tensor_into(v, ctx->ptr(id), t);
    const Tensor& real = v.dtype == DType::kInt8 && v.scale > 0
                             ? dequantized(id, t.shape, t.bytes.data(), v.scale, v.zero_point)
                             : t;
    if (values_taps[id]) {  // a strided view: its values, copied dense first
      values_taps[id](v.name, real.as<const float>(), real.shape);
      return;
    }
    taps[id](v.name, real);
  }
};

namespace {

// EngineOptions' uint8 zero points as the s8 code zero points the compiler uses; Error for one out of range.
std::map<std::string, int> s8_zero_points(const std::map<std::string, int>& uint8_zero_points) {
  std::map<std::string, int> out;
  for (const auto& [tensor, zp] : uint8_zero_points) {
    if (zp < 0 || zp > 255) fail("activation '{}': uint8 zero point {} is outside 0..255", tensor, zp);
    out[tensor] = engine::s8_zero_point(zp);
  }
  return out;
}

int default_threads() {
  return std::max(1, omp_get_num_procs());
}

// Graph-level rewrites the compiler relies on, on a private copy of the caller's graph.
std::unique_ptr<Graph> prepare(const Graph& graph, const EngineOptions& options, int64_t& batch) {
  std::unique_ptr<Graph> g = graph.clone();
  canonicalize(*g);
  int64_t own_batch = 1;
  if (!g->inputs.empty() && g->inputs[0]->has_shape && !g->inputs[0]->shape.empty())
    own_batch = g->inputs[0]->shape[0];
  batch = options.batch > 0 ? options.batch : (own_batch < 0 ? 1 : own_batch);
  if (batch != own_batch) set_batch(*g, batch);
  // With every shape known now, the shape arithmetic of a dynamic-axis export (Shape -> Gather -> Range ...)
  // becomes constants; what fold_constants does not evaluate, the compiler runs once while compiling.
  fold_constants(*g);
  fold_batchnorm(*g);
  fold_pad_into_conv(*g);
  remove_dead_nodes(*g);
  return g;
}

}  // namespace

Engine::Engine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Engine::~Engine() {
  if (!impl_ || !impl_->profile || impl_->runs == 0) return;
  const auto& steps = impl_->program.steps;
  std::vector<size_t> order(steps.size());
  for (size_t i = 0; i < order.size(); ++i)
    order[i] = i;
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return impl_->step_ms[a] > impl_->step_ms[b]; });
  double total = 0;
  for (double ms : impl_->step_ms)
    total += ms;
  std::fprintf(stderr, "partq profile: %d runs, %.3f ms per run\n", impl_->runs, total / impl_->runs);
  for (size_t i : order) {
    const auto& s = *steps[i];
    std::fprintf(stderr, "  %8.3f ms  #%zu %s %s [%s]\n", impl_->step_ms[i] / impl_->runs, i, s.op.c_str(),
                 s.nodes.empty() ? "" : s.nodes[0].c_str(), s.impl.c_str());
  }
}

bool int8_convolutions_run_in_s8(int weight_max_code) {
  return engine::cpu_has_vnni() || weight_max_code <= engine::kHalvingExactCode;
}

std::unique_ptr<Engine> Engine::create(const Graph& graph, const EngineOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->threads = options.threads > 0 ? options.threads : default_threads();
  omp_set_num_threads(impl->threads);
  std::unique_ptr<Graph> g = prepare(graph, options, impl->batch);

  engine::Compiler compiler(impl->eng, impl->stream,
                            {.fuse = options.fuse,
                             .plan = options.plan,
                             .scales = options.activation_scales,
                             .zero_points = s8_zero_points(options.activation_zero_points),
                             .quantized_consumers = options.quantized_consumers,
                             .weight_scales = options.weight_scales,
                             .weight_max_code = options.weight_max_code,
                             .real_int8 = options.int8_mode == EngineOptions::Int8Mode::kReal,
                             .int8_silu_table = options.int8_silu_table,
                             .silu_bands = options.silu_bands});
  impl->program = compiler.compile(*g);
  Program& p = impl->program;

  impl->arena_bytes.resize(p.arena_size + 64);
  auto base = reinterpret_cast<uintptr_t>(impl->arena_bytes.data());
  impl->arena = impl->arena_bytes.data() + ((64 - base % 64) % 64);
  impl->ctx = std::make_unique<ExecContext>(impl->eng, impl->stream, p.values);
  for (size_t id = 0; id < p.values.size(); ++id) {
    const RtValue& v = p.values[id];
    int r = impl->root(static_cast<int>(id));
    const RtValue& rv = p.values[r];
    if (v.is_constant())
      impl->ctx->bind(static_cast<int>(id), const_cast<std::byte*>(v.constant->bytes.data()));
    else if (rv.storage >= 0)
      impl->ctx->bind(static_cast<int>(id), impl->arena + p.storages[rv.storage].offset +
                                                impl->offset_in_root(static_cast<int>(id)));
  }
  impl->taps.resize(p.values.size());
  impl->tap_plain.resize(p.values.size());
  impl->values_taps.resize(p.values.size());
  impl->tap_real.resize(p.values.size());
  impl->step_ms.assign(p.steps.size(), 0.0);
  std::vector<int> last_writer(p.values.size(), -1);
  std::vector<bool> step_output(p.values.size(), false);
  for (size_t s = 0; s < p.steps.size(); ++s)
    for (int id : p.steps[s]->outputs) {
      last_writer[impl->root(id)] = static_cast<int>(s);
      step_output[id] = true;
    }
  impl->views_after_step.resize(p.steps.size());
  for (size_t id = 0; id < p.values.size(); ++id) {
    // (A Concat output whose inputs were all written in place into it is such a root with no step of its
    // own.)
    if (step_output[id] || p.values[id].is_constant()) continue;
    const int writer = last_writer[impl->root(static_cast<int>(id))];
    if (writer >= 0) impl->views_after_step[writer].push_back(static_cast<int>(id));
  }
  const char* prof = std::getenv("PARTQ_PROFILE");
  impl->profile = prof && std::strcmp(prof, "0") != 0;
  return std::unique_ptr<Engine>(new Engine(std::move(impl)));
}

const std::vector<TensorInfo>& Engine::inputs() const {
  return impl_->program.inputs;
}
const std::vector<TensorInfo>& Engine::outputs() const {
  return impl_->program.outputs;
}
int64_t Engine::batch() const {
  return impl_->batch;
}

std::vector<Tensor> Engine::run(const std::vector<Tensor>& inputs) {
  std::vector<Tensor> outputs;
  run(inputs, outputs);
  return outputs;
}

void Engine::run(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs) {
  Impl& m = *impl_;
  Program& p = m.program;
  if (inputs.size() != p.inputs.size())
    fail("Engine::run: got {} inputs, the model has {}", inputs.size(), p.inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    const TensorInfo& info = p.inputs[i];
    if (inputs[i].dtype != info.dtype || inputs[i].shape != info.shape)
      fail("Engine::run: input '{}' is {} {}, the engine was compiled for {} {}", info.name,
           dtype_name(inputs[i].dtype), shape_str(inputs[i].shape), dtype_name(info.dtype),
           shape_str(info.shape));
  }
  omp_set_num_threads(m.threads);
  // Inputs are read in place from the caller's tensors (no step ever writes to an input).
  for (size_t id = 0; id < p.values.size(); ++id) {
    int r = m.root(static_cast<int>(id));
    int gi = p.values[r].graph_input;
    if (gi >= 0 && !p.values[id].is_constant())
      m.ctx->bind(static_cast<int>(id), const_cast<std::byte*>(inputs[gi].bytes.data()));
  }
  if (m.any_tap) {
    for (size_t id = 0; id < p.values.size(); ++id)
      if (m.tapped(static_cast<int>(id)) &&
          (p.values[id].is_constant() || p.values[m.root(static_cast<int>(id))].graph_input >= 0))
        m.call_tap(static_cast<int>(id));
  }
  for (size_t s = 0; s < p.steps.size(); ++s) {
    auto& step = *p.steps[s];
    if (m.profile) {
      auto t0 = std::chrono::steady_clock::now();
      step.execute(*m.ctx);
      m.stream.wait();
      m.step_ms[s] +=
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    } else {
      step.execute(*m.ctx);
    }
    if (m.any_tap) {
      m.stream.wait();
      for (int id : step.outputs)
        if (m.tapped(id)) m.call_tap(id);
      for (int id : m.views_after_step[s])
        if (m.tapped(id)) m.call_tap(id);
    }
  }
  m.stream.wait();
  if (m.profile) ++m.runs;
  outputs.resize(p.output_ids.size());
  for (size_t i = 0; i < p.output_ids.size(); ++i) {
    const RtValue& v = p.values[p.output_ids[i]];
    Tensor& out = outputs[i];
    if (out.dtype != v.dtype || out.shape != v.shape) out = Tensor(v.dtype, v.shape);
    std::memcpy(out.bytes.data(), m.ctx->ptr(p.output_ids[i]), out.bytes.size());  // outputs are plain
  }
}

namespace {

int tap_target(const Program& p, const std::string& value_name) {
  auto it = p.value_ids.find(value_name);
  if (it == p.value_ids.end()) {
    auto fused = p.fused_away.find(value_name);
    if (fused != p.fused_away.end())
      fail(
          "Engine::set_tap: value '{}' is fused into step '{}' and never materialised; create the engine "
          "with "
          "fuse = false to observe it",
          value_name, fused->second);
    fail("Engine::set_tap: the compiled graph has no value '{}'", value_name);
  }
  return it->second;
}

}  // namespace

void Engine::set_tap(const std::string& value_name, TapFn fn) {
  const int id = tap_target(impl_->program, value_name);
  impl_->taps[id] = std::move(fn);
  impl_->values_taps[id] = nullptr;
  impl_->any_tap = true;
}

void Engine::set_values_tap(const std::string& value_name, ValuesTapFn fn) {
  const int id = tap_target(impl_->program, value_name);
  const RtValue& v = impl_->program.values[id];
  if (v.dtype != DType::kFloat32 && !(v.dtype == DType::kInt8 && v.scale > 0))
    fail("Engine::set_values_tap: value '{}' is {}, not a float or INT8 activation", value_name,
         dtype_name(v.dtype));
  impl_->values_taps[id] = std::move(fn);
  impl_->taps[id] = nullptr;
  impl_->any_tap = true;
}

void Engine::clear_taps() {
  for (auto& t : impl_->taps)
    t = nullptr;
  for (auto& t : impl_->values_taps)
    t = nullptr;
  for (auto* buffers : {&impl_->tap_plain, &impl_->tap_real})
    for (Tensor& t : *buffers)
      t = Tensor();
  impl_->any_tap = false;
}

std::string Engine::describe() const {
  const Program& p = impl_->program;
  std::string out;
  for (size_t i = 0; i < p.steps.size(); ++i) {
    const auto& s = *p.steps[i];
    std::string outs;
    bool s8 = s.precision == Precision::kInt8;
    for (int id : s.outputs) {
      const RtValue& v = p.values[id];
      s8 = s8 || v.dtype == DType::kInt8;
      outs += fmt::format("{}{}{}{}", outs.empty() ? "" : ",", shape_str(v.shape),
                          v.layout == engine::Layout::kNhwc ? "nhwc" : "",
                          v.dtype != DType::kInt8 ? ""
                          : v.zero_point != 0     ? fmt::format(" s8@{:.4g}z{}", v.scale, v.zero_point)
                                                  : fmt::format(" s8@{:.4g}", v.scale));
    }
    std::string nodes;
    for (const auto& n : s.nodes)
      nodes += (nodes.empty() ? "" : "+") + n;
    out += fmt::format("#{:<3} {:<22} {:<40} {} -> {} [{}]\n", i, s.op, nodes, s8 ? "int8" : "f32", outs,
                       s.impl);
  }
  out += fmt::format("arena: {:.1f} MiB, {} threads, batch {}\n", p.arena_size / 1048576.0, impl_->threads,
                     impl_->batch);
  return out;
}

}  // namespace partq
