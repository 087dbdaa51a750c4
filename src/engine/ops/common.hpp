// Step types shared by the op files: a oneDNN primitive with its arguments, and a plain C++ kernel.
#pragma once

#include <functional>
#include <unordered_map>
#include <utility>
#include <vector>

#include "../kernels.hpp"
#include "../lowering.hpp"

namespace partq::engine {

// Runs one oneDNN primitive. Arguments are runtime values (in their own layout), views of runtime values
// under another descriptor (same bytes, e.g. a transposed view), or memories the step owns (reordered
// weights).
class PrimitiveStep : public Step {
 public:
  dnnl::primitive prim;
  std::vector<std::pair<int, int>> value_args;                      // dnnl arg -> value id
  std::vector<std::tuple<int, int, dnnl::memory::desc>> view_args;  // dnnl arg, value id, descriptor
  std::vector<std::pair<int, dnnl::memory>> owned_args;

  void execute(ExecContext& ctx) override {
    std::unordered_map<int, dnnl::memory> args;
    for (auto [arg, id] : value_args)
      args.emplace(arg, ctx.mem(id));
    for (auto& [arg, id, md] : view_args)
      args.emplace(arg, dnnl::memory(md, ctx.engine, ctx.ptr(id)));
    for (auto& [arg, m] : owned_args)
      args.emplace(arg, m);
    prim.execute(ctx.stream, args);
  }
};

// Runs a C++ function (partq's own kernels).
class KernelStep : public Step {
 public:
  using Fn = std::function<void(ExecContext&, const KernelStep&)>;
  explicit KernelStep(Fn fn) : fn_(std::move(fn)) {}
  void execute(ExecContext& ctx) override {
    ctx.stream.wait();  // oneDNN work queued before must be done before a plain kernel reads its output
    fn_(ctx, *this);
  }
  // Set when the kernel takes every value's strides from value_strides(ctx.value(id)) as it runs.
  bool reads_strides = false;
  bool accepts_view(int, const RtValue&) const override { return reads_strides; }

 private:
  Fn fn_;
};

// `reads_strides`: see KernelStep::reads_strides.
inline void add_kernel(Lowering& lw, std::string op, std::vector<int> inputs, std::vector<int> outputs,
                       std::string kernel, KernelStep::Fn fn, bool reads_strides = false) {
  auto step = std::make_unique<KernelStep>(std::move(fn));
  step->reads_strides = reads_strides;
  init_step(*step, lw, std::move(op), std::move(inputs), std::move(outputs), "partq:" + std::move(kernel));
  lw.add_step(std::move(step));
}

// A copy of a constant tensor's data as a oneDNN memory the step owns (weights, biases).
inline dnnl::memory owned_memory(const dnnl::engine& eng, const dnnl::memory::desc& md, const void* data) {
  dnnl::memory m(md, eng);
  std::memcpy(m.get_data_handle(), data, md.get_size());
  return m;
}

// Element strides of a value in ONNX dim order, whatever its layout (a strided view's own strides).
inline Strides value_strides(const RtValue& v) {
  if (!v.strides.empty()) return v.strides;
  return v.layout == Layout::kNhwc ? nhwc_strides(v.shape) : dense_strides(v.shape);
}

inline int64_t product(const Shape& s, size_t begin, size_t end) {
  int64_t p = 1;
  for (size_t i = begin; i < end && i < s.size(); ++i)
    p *= s[i];
  return p;
}

}  // namespace partq::engine
