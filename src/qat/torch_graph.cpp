#include "torch_graph.hpp"

#include "torch_ops.hpp"

#include <partq/error.hpp>
#include <partq/passes.hpp>

#include <set>

namespace partq::qat {

namespace {

torch::Tensor to_torch(const Tensor& t, const std::string& name) {
  std::vector<int64_t> shape(t.shape.begin(), t.shape.end());
  if (t.dtype == DType::kFloat32) {
    const auto v = t.as<float>();
    return torch::from_blob(const_cast<float*>(v.data()), shape, torch::kFloat32).clone();
  }
  if (t.dtype == DType::kInt64 || t.dtype == DType::kInt32) {
    std::vector<int64_t> v = t.to_int64();
    return torch::from_blob(v.data(), shape, torch::kInt64).clone();
  }
  fail("QAT: constant '{}' has type {}, which the training executor does not read", name,
       dtype_name(t.dtype));
}

bool is_quantizable_op(const std::string& op) {
  return op == "Conv" || op == "ConvTranspose" || op == "Gemm" || op == "MatMul";
}

// The engine's rule (EngineOptions::quantized_consumers): the listed consumers, or by default every int8
// node and every node that is not a quantizable op.
bool reads_quantized(const FakeQuant& fq, const std::set<std::string>& int8, const Value& v, const Node& n) {
  if (!fq.activation_scales.count(v.name)) return false;
  if (auto it = fq.quantized_consumers.find(v.name); it != fq.quantized_consumers.end())
    return std::find(it->second.begin(), it->second.end(), n.name) != it->second.end();
  return int8.count(n.name) != 0 || !is_quantizable_op(n.op_type);
}

// The engine's output-channel axis of a ConvTranspose / Gemm / MatMul weight of rank `rank`.
int64_t weight_axis(const Node& node, int64_t rank) {
  if (node.op_type == "ConvTranspose") return 1;
  if (node.op_type == "Gemm") return node.attr_int("transB", 0) != 0 ? 0 : 1;
  if (node.op_type == "MatMul") return rank - 1;
  return 0;
}

std::vector<int64_t> dims_but(int64_t axis, int64_t rank) {
  std::vector<int64_t> others;
  for (int64_t d = 0; d < rank; ++d)
    if (d != axis) others.push_back(d);
  return others;
}

// The weight of an INT8 ConvTranspose / Gemm / MatMul: per output channel (the engine's weight axis),
// max |w| / max_code (127; 63 reduced-range), as the engine's simulation and the Q/DQ export quantize it. The
// scale follows the weight without a gradient of its own (as a Conv's).
torch::Tensor fake_quantize_fixed_weight(const Node& node, const torch::Tensor& w, int max_code) {
  const int64_t axis = weight_axis(node, w.dim());
  const torch::Tensor scale =
      (w.detach().abs().amax(dims_but(axis, w.dim())) / static_cast<double>(max_code)).clamp_min(1e-12);
  return torch::fake_quantize_per_channel_affine(w, scale, torch::zeros({w.size(axis)}, torch::kInt32), axis,
                                                 -128, 127);
}

torch::Tensor fake_quantize(const FakeQuant& fq, const Value& v, const torch::Tensor& x) {
  if (auto it = fq.learned_scales.find(v.name); it != fq.learned_scales.end())
    return torch::_fake_quantize_learnable_per_tensor_affine(x, it->second, torch::zeros({1}), -128, 127);
  return torch::fake_quantize_per_tensor_affine(x, fq.activation_scales.at(v.name), 0, -128, 127);
}

}  // namespace

FakeQuant FakeQuant::of(const EngineOptions& int8) {
  FakeQuant fq{.activation_scales = int8.activation_scales,
               .quantized_consumers = int8.quantized_consumers,
               .weight_max_code = int8.weight_max_code};
  for (const auto& [node, precision] : int8.plan.per_node)
    if (precision == Precision::kInt8) fq.int8_nodes.push_back(node);
  return fq;
}

TorchGraph::TorchGraph(const Graph& graph, std::vector<std::string> outputs) {
  std::set<const Node*> needed;
  std::vector<const Value*> stack;
  for (const std::string& name : outputs) {
    const Value* v = graph.find_value(name);
    if (!v) fail("QAT: the graph has no tensor '{}'", name);
    outputs_.push_back(v);
    stack.push_back(v);
  }
  while (!stack.empty()) {
    const Value* v = stack.back();
    stack.pop_back();
    if (!v->producer || !needed.insert(v->producer).second) continue;
    for (const Value* in : v->producer->inputs)
      if (in) stack.push_back(in);
  }
  for (const auto& n : graph.nodes()) {
    if (!needed.count(n.get())) continue;
    const Node& node = *n;
    const size_t index = schedule_.size();
    schedule_.push_back(&node);
    if (node.op_type == "Conv" && node.domain.empty()) {
      const Value* w = node.input(1);
      if (!w || !w->initializer || w->initializer->dtype != DType::kFloat32)
        fail("QAT: Conv '{}' has no constant float weight", node.name);
      for (const Value* p : {node.input(1), node.input(2)}) {
        if (!p) continue;
        if (!p->initializer || p->initializer->dtype != DType::kFloat32)
          fail("QAT: Conv '{}' has a bias '{}' that is not a constant float tensor", node.name, p->name);
        if (params_.count(p->name)) continue;
        // Trained in units of an INT8 step (max |w| / 127 per output channel; max |b| / 127 for a bias), so
        // one learning rate moves a small depthwise channel and a large one by the same number of levels.
        const torch::Tensor value = to_torch(*p->initializer, p->name);
        const torch::Tensor unit =
            (value.dim() > 1 ? value.abs().flatten(1).amax(1).reshape({-1, 1, 1, 1}) : value.abs().max())
                .clamp_min(1e-8) /
            127.0;
        units_[p->name] = unit;
        params_[p->name] = value / unit;
      }
      trained_layers_.push_back(node.name);
    } else if ((node.op_type == "MatMul" || node.op_type == "Gemm") && node.domain.empty() && node.input(1) &&
               node.input(1)->initializer && node.input(1)->initializer->dtype == DType::kFloat32 &&
               node.input(1)->initializer->shape.size() == 2) {
      // A linear layer's constant weight (transformer blocks, DETR heads): trained like a conv's, in units of
      // its output channel's INT8 step. A bias is a separate Add (MatMul) or C (Gemm), kept as it is.
      const Value* w = node.input(1);
      if (!params_.count(w->name)) {
        const torch::Tensor value = to_torch(*w->initializer, w->name);
        const torch::Tensor unit =
            value.abs().amax(dims_but(weight_axis(node, 2), 2), /*keepdim=*/true).clamp_min(1e-8) / 127.0;
        units_[w->name] = unit;
        params_[w->name] = value / unit;
      }
      trained_layers_.push_back(node.name);
    } else if (!op_supported(node.op_type) || !node.domain.empty()) {
      run_op(node, {});  // the Error naming node and op
    }
    for (const Value* in : node.inputs) {
      if (!in) continue;
      last_use_[in] = index;
      if (in->initializer && !params_.count(in->name) && !constants_.count(in))
        if (in->initializer->dtype == DType::kFloat32 || in->initializer->dtype == DType::kInt64 ||
            in->initializer->dtype == DType::kInt32)
          constants_[in] = to_torch(*in->initializer, in->name);
      if (!in->initializer && !in->producer && graph.size_inputs.count(in->name)) {
        // One row, repeated to each batch's size in forward().
        size_inputs_.try_emplace(in, to_torch(size_input_value(graph, *in), in->name).slice(0, 0, 1));
      } else if (!in->initializer && !in->producer) {
        if (input_ && input_ != in)
          fail("QAT: the model reads two inputs ('{}', '{}'); only one-input models are supported",
               input_->name, in->name);
        input_ = in;
      }
    }
  }
  if (!input_) fail("QAT: the requested tensors do not depend on the model input");
}

torch::Tensor TorchGraph::constant(const Value* v) const {
  if (auto it = params_.find(v->name); it != params_.end()) return it->second * units_.at(v->name);
  if (auto it = constants_.find(v); it != constants_.end()) return it->second;
  return {};
}

namespace {

// One node on its (fake-quantized where the plan says) inputs; int8 nodes' weights fake-quantized.
std::vector<torch::Tensor> run_node(const Node& node, std::vector<torch::Tensor> in,
                                    const std::set<std::string>& int8, const FakeQuant* fq) {
  if (node.op_type == "Conv") {
    torch::Tensor w = in[1];
    if (int8.count(node.name)) {
      // Per output channel, max |w| / max code: the scales the Q/DQ export writes for these weights.
      const torch::Tensor scale =
          (w.detach().abs().amax({1, 2, 3}) / static_cast<double>(fq->weight_max_code)).clamp_min(1e-12);
      w = torch::fake_quantize_per_channel_affine(w, scale, torch::zeros({w.size(0)}, torch::kInt32), 0, -128,
                                                  127);
    }
    return {run_conv(node, in[0], w, in.size() > 2 ? in[2] : torch::Tensor())};
  }
  if (int8.count(node.name) && is_quantizable_op(node.op_type) && node.input(1) && node.input(1)->initializer)
    in[1] = fake_quantize_fixed_weight(node, in[1], fq->weight_max_code);
  return run_op(node, in);
}

}  // namespace

std::vector<torch::Tensor> TorchGraph::forward(const torch::Tensor& input, const FakeQuant* fq) const {
  const std::set<std::string> int8 =
      fq ? std::set<std::string>(fq->int8_nodes.begin(), fq->int8_nodes.end()) : std::set<std::string>{};
  std::map<const Value*, torch::Tensor> values{{input_, input}}, quantized;
  for (const auto& [v, row] : size_inputs_)
    values[v] = row.expand({input.size(0), row.size(1)});
  const std::set<const Value*> outputs(outputs_.begin(), outputs_.end());
  for (size_t i = 0; i < schedule_.size(); ++i) {
    const Node& node = *schedule_[i];
    std::vector<torch::Tensor> in(node.inputs.size());
    for (size_t k = 0; k < node.inputs.size(); ++k) {
      const Value* v = node.inputs[k];
      if (!v) continue;
      in[k] = v->initializer ? constant(v) : values.at(v);
      if (fq && !v->initializer && reads_quantized(*fq, int8, *v, node)) {
        auto q = quantized.find(v);
        if (q == quantized.end()) q = quantized.emplace(v, fake_quantize(*fq, *v, in[k])).first;
        in[k] = q->second;
      }
    }
    std::vector<torch::Tensor> out;
    try {
      out = run_node(node, in, int8, fq);
    } catch (const Error&) {
      throw;  // partq's own, naming the node already
    } catch (const std::exception& e) {
      // libtorch's message names neither the node nor the op: say which, keep its first line.
      const std::string what = e.what();
      fail("QAT: node '{}' (op {}): {}", node.name, node.op_type, what.substr(0, what.find('\n')));
    }
    for (size_t k = 0; k < node.outputs.size() && k < out.size(); ++k)
      values[node.outputs[k]] = out[k];
    for (const Value* v : node.inputs)
      if (v && !outputs.count(v) && last_use_.at(v) == i) {
        values.erase(v);
        quantized.erase(v);
      }
  }
  std::vector<torch::Tensor> result;
  for (const Value* v : outputs_)
    result.push_back(values.at(v));
  return result;
}

std::vector<torch::Tensor> TorchGraph::parameters() const {
  std::vector<torch::Tensor> p;
  for (const auto& [name, t] : params_)
    p.push_back(t);
  return p;
}

void TorchGraph::set_requires_grad(bool on) {
  for (auto& [name, t] : params_)
    t.set_requires_grad(on);
}

void TorchGraph::write_back(Graph& graph) const {
  for (const auto& [name, t] : params_) {
    Value* v = graph.find_value(name);
    if (!v || !v->initializer) fail("QAT: the graph has no initializer '{}' to write back", name);
    const torch::Tensor c = (t.detach() * units_.at(name)).contiguous();
    v->initializer = std::make_shared<Tensor>(Tensor::from_float(
        v->initializer->shape, std::span<const float>(c.data_ptr<float>(), static_cast<size_t>(c.numel()))));
  }
}

}  // namespace partq::qat
