// train_qat: distillation of the fake-quantized model towards the float model on the decode's inputs.
#include <partq/engine_quant.hpp>
#include <partq/error.hpp>
#include <partq/qat.hpp>
#include <partq/util/progress.hpp>
#include <partq/util/timing.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "torch_graph.hpp"

#include <algorithm>
#include <cmath>
#include <memory>
#include <numeric>
#include <random>
#include <set>

namespace partq {

// Where the quantized region hands over to the float decode: the non-constant inputs of decode nodes that
// no decode node produces (the graph outputs when the plan found no decode). A tensor the decode only
// reshapes / transposes and then squashes with a Sigmoid is compared after that Sigmoid.
std::vector<std::string> distillation_tensors(const Graph& graph, const QuantPlan& plan) {
  const std::set<std::string> decode(plan.decode_nodes.begin(), plan.decode_nodes.end());
  std::vector<const Value*> boundary;
  std::set<const Value*> seen;
  for (const auto& n : graph.nodes()) {
    if (!decode.count(n->name)) continue;
    for (const Value* in : n->inputs)
      if (in && !in->initializer && in->producer && !decode.count(in->producer->name) &&
          seen.insert(in).second)
        boundary.push_back(in);
  }
  if (boundary.empty())
    for (const Value* out : graph.outputs)
      boundary.push_back(out);
  std::vector<std::string> names;
  for (const Value* b : boundary) {
    const Value* v = b;
    const Value* target = b;
    while (v->consumers.size() == 1) {
      const Node* c = v->consumers[0];
      if (c->op_type == "Sigmoid") {
        target = c->outputs[0];
        break;
      }
      if (c->op_type != "Reshape" && c->op_type != "Transpose" && c->op_type != "Identity") break;
      v = c->outputs[0];
    }
    names.push_back(target->name);
  }
  return names;
}

namespace {

torch::Tensor images_of(const InputBatch& b) {
  const Tensor& t = b.input;
  std::vector<int64_t> shape(t.shape.begin(), t.shape.end());
  const auto v = t.as<float>();
  return torch::from_blob(const_cast<float*>(v.data()), shape, torch::kFloat32)
      .slice(0, 0, static_cast<int64_t>(b.images))
      .clone();
}

// Mean over the loss tensors of mean((student - teacher)^2) / var(teacher).
// See QatLoss::kDetections. s, t: [N, A, 5+C].
torch::Tensor detection_loss(const torch::Tensor& s, const torch::Tensor& t, bool boxes_in_pixels) {
  const torch::Tensor score_s = s.slice(2, 4, 5) * s.slice(2, 5), score_t = t.slice(2, 4, 5) * t.slice(2, 5);
  const torch::Tensor weight =
      torch::maximum(std::get<0>(score_s.max(2)), std::get<0>(score_t.max(2))).detach();
  torch::Tensor box = s.slice(2, 0, 4) - t.slice(2, 0, 4);
  if (boxes_in_pixels) box = box / (t.slice(2, 2, 3) * t.slice(2, 3, 4)).sqrt().clamp_min(1).detach();
  const torch::Tensor error = box.pow(2).sum(2) + (score_s - score_t).pow(2).sum(2);
  return (weight * error).sum() / weight.sum().clamp_min(1e-6);
}

torch::Tensor distillation_loss(const std::vector<torch::Tensor>& student,
                                const std::vector<torch::Tensor>& teacher) {
  torch::Tensor loss = torch::zeros({});
  for (size_t i = 0; i < student.size(); ++i)
    loss = loss + (student[i] - teacher[i]).pow(2).mean() / (teacher[i].var() + 1e-6);
  return loss / static_cast<double>(student.size());
}

}  // namespace

void check_qat_options(const QatOptions& o) {
  if (o.epochs < 1) fail("QAT: --epochs must be at least 1 (got {})", o.epochs);
  if (!(o.learning_rate > 0)) fail("QAT: the learning rate must be positive (got {})", o.learning_rate);
  if (o.learn_scales && !(o.scale_learning_rate > 0))
    fail("QAT: --scale-lr must be positive with --learn-scales (got {})", o.scale_learning_rate);
  if (o.optimizer != "adam" && o.optimizer != "sgd")
    fail("QAT: unknown optimizer '{}' (adam or sgd)", o.optimizer);
}

QatReport train_qat(Graph& graph, const QuantPlan& plan, const std::map<std::string, float>& amax,
                    const std::vector<InputBatch>& batches, const QatOptions& o) {
  if (batches.empty()) fail("QAT: no training images");
  for (const InputBatch& b : batches)
    if (b.input.shape != batches[0].input.shape)
      fail("QAT: training batches of different shapes ({} and {})", shape_str(batches[0].input.shape),
           shape_str(b.input.shape));
  check_qat_options(o);
  check_plan_matches(plan, graph, "the quantization plan");
  const Stopwatch clock;
  torch::set_num_threads(o.threads > 0 ? o.threads : hardware_threads());
  torch::manual_seed(o.seed);

  QatReport report;
  if (o.loss == QatLoss::kDetections) {
    if (graph.outputs.empty()) fail("QAT: the model has no output");
    report.loss_tensors = {graph.outputs[0]->name};
  } else {
    report.loss_tensors = distillation_tensors(graph, plan);
  }
  auto loss_of = [&](const std::vector<torch::Tensor>& student, const std::vector<torch::Tensor>& teacher) {
    if (o.loss == QatLoss::kFeatures) return distillation_loss(student, teacher);
    if (teacher[0].dim() != 3 || teacher[0].size(2) < 6)
      fail("QAT: the detection loss needs an [N, A, 5+C] output; '{}' is [{}]", report.loss_tensors[0],
           fmt::join(teacher[0].sizes(), ","));
    return detection_loss(student[0], teacher[0], o.boxes_in_pixels);
  };
  qat::FakeQuant fq = qat::FakeQuant::of(int8_options_from_plan(plan, amax));
  const qat::TorchGraph teacher(graph, report.loss_tensors);
  qat::TorchGraph student(graph, report.loss_tensors);
  report.trained = student.trained_layers();
  for (const torch::Tensor& p : student.parameters())
    report.parameters += p.numel();
  for (const InputBatch& b : batches)
    report.images += static_cast<int64_t>(b.images);
  report.epochs = o.epochs;

  auto loss_over_all = [&]() {
    torch::NoGradGuard no_grad;
    double sum = 0;
    for (const InputBatch& b : batches) {
      const torch::Tensor x = images_of(b);
      sum += loss_of(student.forward(x, &fq), teacher.forward(x, nullptr)).item<double>() *
             static_cast<double>(b.images);
    }
    return sum / static_cast<double>(report.images);
  };

  Progress bar("qat", report.images * (o.epochs + 2), {.quiet = o.quiet});
  report.initial_loss = loss_over_all();
  bar.advance(report.images);

  // One log-scale per scale group (tensors of a group share one scale, as the export requires).
  std::map<int, torch::Tensor> log_scales;
  if (o.learn_scales)
    for (const QuantActivation& a : plan.activations)
      if (!log_scales.count(a.group))
        log_scales[a.group] = torch::full(
            {1}, std::log(static_cast<double>(fq.activation_scales.at(a.tensor))), torch::requires_grad());
  auto refresh_scales = [&] {
    for (const QuantActivation& a : plan.activations)
      if (auto it = log_scales.find(a.group); it != log_scales.end())
        fq.learned_scales[a.tensor] = torch::exp(it->second);
  };
  std::unique_ptr<torch::optim::Adam> scale_optimizer;
  if (!log_scales.empty()) {
    std::vector<torch::Tensor> p;
    for (const auto& [group, t] : log_scales)
      p.push_back(t);
    scale_optimizer =
        std::make_unique<torch::optim::Adam>(p, torch::optim::AdamOptions(o.scale_learning_rate));
  }

  student.set_requires_grad(true);
  std::unique_ptr<torch::optim::Optimizer> optimizer;
  if (o.optimizer == "adam")  // check_qat_options allowed only adam and sgd
    optimizer = std::make_unique<torch::optim::Adam>(student.parameters(),
                                                     torch::optim::AdamOptions(o.learning_rate));
  else
    optimizer = std::make_unique<torch::optim::SGD>(student.parameters(),
                                                    torch::optim::SGDOptions(o.learning_rate).momentum(0.9));
  const int total_steps = o.epochs * static_cast<int>(batches.size());
  std::mt19937_64 rng(o.seed);
  std::vector<size_t> order(batches.size());
  std::iota(order.begin(), order.end(), 0);
  for (int epoch = 0; epoch < o.epochs; ++epoch) {
    std::shuffle(order.begin(), order.end(), rng);
    double sum = 0;
    for (size_t k = 0; k < order.size(); ++k) {
      const InputBatch& b = batches[order[k]];
      // Cosine decay from the learning rate to 0 over all steps.
      const double lr = 0.5 * o.learning_rate * (1 + std::cos(M_PI * report.steps / total_steps));
      for (auto& group : optimizer->param_groups())
        group.options().set_lr(lr);
      if (scale_optimizer)
        for (auto& group : scale_optimizer->param_groups())
          group.options().set_lr(lr / o.learning_rate * o.scale_learning_rate);
      refresh_scales();
      const torch::Tensor x = images_of(b);
      std::vector<torch::Tensor> t;
      {
        torch::NoGradGuard no_grad;
        t = teacher.forward(x, nullptr);
      }
      const torch::Tensor loss = loss_of(student.forward(x, &fq), t);
      const double value = loss.item<double>();
      if (!std::isfinite(value))
        fail("QAT: the distillation loss became {} at epoch {}, step {}; lower the learning rate", value,
             epoch + 1, k + 1);
      optimizer->zero_grad();
      if (scale_optimizer) scale_optimizer->zero_grad();
      loss.backward();
      optimizer->step();
      if (scale_optimizer) scale_optimizer->step();
      sum += value * static_cast<double>(b.images);
      ++report.steps;
      bar.advance(static_cast<int64_t>(b.images));
    }
    report.epoch_loss.push_back(sum / static_cast<double>(report.images));
  }
  student.set_requires_grad(false);
  if (!log_scales.empty()) {
    torch::NoGradGuard no_grad;
    refresh_scales();
    for (const QuantActivation& a : plan.activations)
      report.learned_amax[a.tensor] = fq.learned_scales.at(a.tensor).item<float>() * 127.0f;
    double change = 0;
    for (const auto& [group, t] : log_scales) {
      const auto it = std::find_if(plan.activations.begin(), plan.activations.end(),
                                   [g = group](const QuantActivation& a) { return a.group == g; });
      change +=
          std::abs(t.item<double>() - std::log(static_cast<double>(fq.activation_scales.at(it->tensor))));
    }
    report.mean_scale_change = change / static_cast<double>(log_scales.size());
  }
  report.final_loss = loss_over_all();
  bar.advance(report.images);
  bar.finish();
  student.write_back(graph);
  report.seconds = clock.elapsed_s();
  return report;
}

const char* qat_loss_name(QatLoss loss) {
  return loss == QatLoss::kFeatures ? "features" : "detections";
}

nlohmann::json to_json(const QatReport& r) {
  return {{"loss_tensors", r.loss_tensors},
          {"trained_layers", r.trained},
          {"parameters", r.parameters},
          {"images", r.images},
          {"epochs", r.epochs},
          {"steps", r.steps},
          {"initial_loss", r.initial_loss},
          {"final_loss", r.final_loss},
          {"epoch_loss", r.epoch_loss},
          {"seconds", r.seconds},
          {"learned_amax", r.learned_amax},
          {"mean_scale_change", r.mean_scale_change}};
}

}  // namespace partq
