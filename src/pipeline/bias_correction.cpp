// Bias correction: the per-channel mean error of every INT8 conv, folded into its float bias.
//
// Both modes need the mean output of a conv for inputs they only see as a tapped tensor. A conv is linear, so
// that mean is bias + sum over (input channel, kernel tap) of weight * mean input patch, where the mean patch
// of a tap is the input averaged over the positions that tap reads (zero padding included as zeros): the
// patch sums below, O(input size * kernel width) per conv and image instead of a second convolution.
#include <partq/bias_correction.hpp>
#include <partq/data.hpp>
#include <partq/error.hpp>
#include <partq/quant_weights.hpp>
#include <partq/util/progress.hpp>
#include <partq/util/timing.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>

namespace partq {

namespace {

// The bias of a Conv (zeros when it has none), validated against its weight's output channels.
std::vector<float> conv_bias(const Node& conv) {
  const Value* w = conv.input(1);
  if (!w || !w->initializer || w->initializer->dtype != DType::kFloat32 || w->initializer->shape.empty())
    fail("bias correction: Conv '{}' has no constant float weight", conv.name);
  const auto channels = static_cast<size_t>(w->initializer->shape[0]);
  const Value* b = conv.input(2);
  if (!b) return std::vector<float>(channels, 0.f);
  if (!b->initializer || b->initializer->dtype != DType::kFloat32)
    fail("bias correction: Conv '{}' has a bias '{}' that is not a constant float tensor", conv.name,
         b->name);
  std::vector<float> bias = b->initializer->to_float();
  if (bias.size() != channels)
    fail("bias correction: Conv '{}' has {} output channels but its bias '{}' has {} values", conv.name,
         channels, b->name, bias.size());
  return bias;
}

// A corrected conv: its weights, original bias and the geometry its input patches are read with.
struct Conv {
  std::string name, input, output;
  std::vector<float> weight, weight_q,
      bias;  // weight and its INT8 stand-in (q * scale): [C, K/groups, kh, kw]
  int64_t channels = 0, in_per_group = 0, groups = 1, kh = 1, kw = 1;
  int64_t stride_h = 1, stride_w = 1, dilation_h = 1, dilation_w = 1;
  int64_t pad_top = 0, pad_left = 0, pad_bottom = 0, pad_right = 0;
};

// Empty when the conv's geometry is one the patch sums do not handle (the reason in `why`).
std::optional<Conv> describe_conv(const Node& n, int weight_max_code, std::string& why) {
  const std::vector<float> bias = conv_bias(n);  // validates weight and bias
  const Tensor& w = *n.input(1)->initializer;
  const Shape strides = n.attr_ints("strides", {1, 1}), dilations = n.attr_ints("dilations", {1, 1});
  const Shape pads = n.attr_ints("pads", {0, 0, 0, 0});
  const std::string auto_pad = n.attr_string("auto_pad", "NOTSET");
  if (w.shape.size() != 4 || strides.size() != 2 || dilations.size() != 2 || pads.size() != 4) {
    why = "not a 2D conv";
    return std::nullopt;
  }
  if (auto_pad != "NOTSET" && auto_pad != "VALID") {
    why = fmt::format("auto_pad {}", auto_pad);
    return std::nullopt;
  }
  Conv c;
  c.name = n.name;
  c.input = n.inputs.at(0)->name;
  c.output = n.outputs.at(0)->name;
  c.bias = bias;
  c.weight = w.to_float();
  // What the engine and the Q/DQ export use.
  const QuantParams params = weight_quant_params(w, 0, weight_max_code);
  c.weight_q = dequantize_weight(quantize_weight(w, params), params).to_float();
  c.channels = w.shape[0];
  c.groups = n.attr_int("group", 1);
  c.in_per_group = w.shape[1];
  c.kh = w.shape[2];
  c.kw = w.shape[3];
  c.stride_h = strides[0], c.stride_w = strides[1];
  c.dilation_h = dilations[0], c.dilation_w = dilations[1];
  if (auto_pad == "NOTSET")
    c.pad_top = pads[0], c.pad_left = pads[1], c.pad_bottom = pads[2], c.pad_right = pads[3];
  return c;
}

// One conv over one pass: per-channel output sums (and sums of squares) over the real images, and the input's
// patch sums, [K, kh, kw], each over the `count` output positions of the same images.
struct ConvStats {
  std::vector<double> sum, sum_sq, patch;
  int64_t count = 0;  // output values per channel

  double mean(size_t c) const { return sum[c] / static_cast<double>(count); }
  double rms(size_t c) const { return std::sqrt(sum_sq[c] / static_cast<double>(count)); }
  // sum over (k, tap) of weight * mean patch, per output channel (no bias).
  std::vector<double> weighted_patch_mean(const Conv& conv, const std::vector<float>& weight) const {
    std::vector<double> m(static_cast<size_t>(conv.channels));
    const int64_t taps = conv.kh * conv.kw, per_group = conv.channels / conv.groups;
    for (int64_t c = 0; c < conv.channels; ++c) {
      const int64_t k0 = (c / per_group) * conv.in_per_group;
      double acc = 0;
      for (int64_t k = 0; k < conv.in_per_group; ++k)
        for (int64_t t = 0; t < taps; ++t)
          acc += static_cast<double>(weight[static_cast<size_t>((c * conv.in_per_group + k) * taps + t)]) *
                 patch[static_cast<size_t>((k0 + k) * taps + t)];
      m[static_cast<size_t>(c)] = acc / static_cast<double>(count);
    }
    return m;
  }
};

void add_output(ConvStats& s, const Conv& conv, const Tensor& value, size_t images) {
  if (value.shape.size() != 4 || value.shape[1] != conv.channels)
    fail("bias correction: output '{}' of Conv '{}' has shape {}, expected [N, {}, H, W]", conv.output,
         conv.name, shape_str(value.shape), conv.channels);
  const auto channels = static_cast<size_t>(conv.channels);
  const auto spatial = static_cast<size_t>(value.shape[2] * value.shape[3]);
  if (s.sum.empty()) s.sum.assign(channels, 0), s.sum_sq.assign(channels, 0);
  const float* x = value.as<float>().data();
  for (size_t n = 0; n < images; ++n)
    for (size_t c = 0; c < channels; ++c) {
      const float* p = x + (n * channels + c) * spatial;
      double sum = 0, sum_sq = 0;
      for (size_t k = 0; k < spatial; ++k)
        sum += p[k], sum_sq += static_cast<double>(p[k]) * p[k];
      s.sum[c] += sum;
      s.sum_sq[c] += sum_sq;
    }
  s.count += static_cast<int64_t>(images * spatial);
}

// Adds, per (input channel, kernel row i, kernel column j), the sum of the input values that tap reads over
// every output position (an out-of-bounds read is padding: zero).
void add_patches(ConvStats& s, const Conv& conv, const Tensor& x, size_t images) {
  if (x.shape.size() != 4 || x.shape[1] != conv.in_per_group * conv.groups)
    fail("bias correction: input '{}' of Conv '{}' has shape {}, expected [N, {}, H, W]", conv.input,
         conv.name, shape_str(x.shape), conv.in_per_group * conv.groups);
  const int64_t channels = x.shape[1], h = x.shape[2], w = x.shape[3];
  const int64_t out_h =
      (h + conv.pad_top + conv.pad_bottom - (conv.kh - 1) * conv.dilation_h - 1) / conv.stride_h + 1;
  const int64_t out_w =
      (w + conv.pad_left + conv.pad_right - (conv.kw - 1) * conv.dilation_w - 1) / conv.stride_w + 1;
  if (s.patch.empty()) s.patch.assign(static_cast<size_t>(channels * conv.kh * conv.kw), 0);
  std::vector<double> row_sums(static_cast<size_t>(conv.kw * h));  // [j][row]
  const float* data = x.as<float>().data();
  for (size_t n = 0; n < images; ++n)
    for (int64_t k = 0; k < channels; ++k) {
      const float* plane = data + (static_cast<int64_t>(n) * channels + k) * h * w;
      for (int64_t j = 0; j < conv.kw; ++j)
        for (int64_t r = 0; r < h; ++r) {
          double acc = 0;
          for (int64_t o = 0; o < out_w; ++o) {
            const int64_t col = o * conv.stride_w + j * conv.dilation_w - conv.pad_left;
            if (col >= 0 && col < w) acc += plane[r * w + col];
          }
          row_sums[static_cast<size_t>(j * h + r)] = acc;
        }
      for (int64_t i = 0; i < conv.kh; ++i)
        for (int64_t j = 0; j < conv.kw; ++j) {
          double acc = 0;
          for (int64_t o = 0; o < out_h; ++o) {
            const int64_t row = o * conv.stride_h + i * conv.dilation_h - conv.pad_top;
            if (row >= 0 && row < h) acc += row_sums[static_cast<size_t>(j * h + row)];
          }
          s.patch[static_cast<size_t>((k * conv.kh + i) * conv.kw + j)] += acc;
        }
    }
}

// One run of `graph` over the batches, with every conv's output sums and (with `patches`) input patch sums.
std::vector<ConvStats> run_pass(const Graph& graph, const EngineOptions& options,
                                const std::vector<InputBatch>& batches, const std::vector<Conv>& convs,
                                bool patches, Progress& progress) {
  auto engine = Engine::create(graph, options);
  std::vector<ConvStats> stats(convs.size());
  size_t real_images = 0;
  std::map<std::string, std::vector<size_t>> readers;  // input value -> the convs reading it
  for (size_t i = 0; i < convs.size(); ++i) {
    if (patches) readers[convs[i].input].push_back(i);
    engine->set_tap(convs[i].output, [&, i](const std::string&, const Tensor& value) {
      add_output(stats[i], convs[i], value, real_images);
    });
  }
  for (const auto& [input, users] : readers)
    engine->set_tap(input, [&, users](const std::string&, const Tensor& value) {
      for (size_t i : users)
        add_patches(stats[i], convs[i], value, real_images);
    });
  std::vector<Tensor> inputs(1), outputs;
  for (const InputBatch& b : batches) {
    real_images = b.images;
    inputs[0] = b.input;
    engine->run(inputs, outputs);
    progress.advance(static_cast<int64_t>(b.images));
  }
  for (size_t i = 0; i < convs.size(); ++i)
    for (size_t c = 0; c < stats[i].sum.size(); ++c)
      if (!std::isfinite(stats[i].sum[c]) || !std::isfinite(stats[i].sum_sq[c]))
        fail("bias correction: Conv '{}' output channel {} is not finite on the sample images", convs[i].name,
             c);
  return stats;
}

void check_batches(const std::vector<InputBatch>& batches, const Graph& graph) {
  if (batches.empty()) fail("bias correction: no sample images");
  if (graph.inputs.size() != 1 + graph.size_inputs.size())
    fail("bias correction: the model has {} inputs; only single-input (image) models are supported",
         graph.inputs.size());
  for (const InputBatch& b : batches) {
    if (b.input.shape != batches.front().input.shape)
      fail("bias correction: sample batches of different shapes ({} and {})", shape_str(b.input.shape),
           shape_str(batches.front().input.shape));
    if (b.input.shape.empty() || b.images == 0 || static_cast<int64_t>(b.images) > b.input.shape[0])
      fail("bias correction: a sample batch of shape {} says it holds {} images", shape_str(b.input.shape),
           b.images);
  }
}

// Mean over channels (with a non-zero float RMS) of |value(i, c)| / float RMS.
template <typename F>
double mean_relative(const std::vector<Conv>& convs, const std::vector<ConvStats>& reference, F value) {
  double total = 0;
  int64_t channels = 0;
  for (size_t i = 0; i < convs.size(); ++i)
    for (size_t c = 0; c < static_cast<size_t>(convs[i].channels); ++c)
      if (const double rms = reference[i].rms(c); rms > 0) total += std::abs(value(i, c)) / rms, ++channels;
  return channels > 0 ? total / static_cast<double>(channels) : 0;
}

}  // namespace

const char* bias_correction_mode_name(BiasCorrectionMode mode) {
  return mode == BiasCorrectionMode::kLocal ? "local" : "weights";
}

BiasCorrectionMode parse_bias_correction_mode(const std::string& name) {
  if (name == "weights") return BiasCorrectionMode::kWeights;
  if (name == "local") return BiasCorrectionMode::kLocal;
  fail("unknown bias correction mode '{}' (choose weights or local)", name);
}

std::vector<InputBatch> load_input_batches(const InputBatchOptions& o, const Preset& preset) {
  if (o.batch < 1) fail("--batch must be at least 1, got {}", o.batch);
  if (o.count < 1) fail("the number of sample images must be at least 1");
  if (!std::filesystem::is_directory(o.images)) fail("{}: not a directory of images", o.images);
  ImageList list = ImageList::from_directory(o.images).sample(o.count, o.seed);
  if (list.size() == 0) fail("{}: no image files in this directory", o.images);
  std::sort(list.entries.begin(), list.entries.end(),
            [](const ImageEntry& a, const ImageEntry& b) { return a.path < b.path; });
  BatchLoaderOptions loading;
  loading.batch_size = static_cast<int>(std::min<size_t>(static_cast<size_t>(o.batch), list.size()));
  loading.input_w = preset.input_w;
  loading.input_h = preset.input_h;
  loading.profile = preset.profile;
  if (o.quiet) loading.on_skip = [](const std::string&, const std::string&) {};
  BatchLoader loader(list, loading);
  Progress progress("load images", static_cast<int64_t>(list.size()), {.quiet = o.quiet});
  std::vector<InputBatch> batches;
  Batch batch;
  while (loader.next(batch)) {
    InputBatch b{.input = Tensor(DType::kFloat32, batch.shape), .images = batch.size()};
    std::memcpy(b.input.bytes.data(), batch.data.data(), batch.data.size() * sizeof(float));
    progress.advance(static_cast<int64_t>(batch.size()));
    batches.push_back(std::move(b));
  }
  progress.finish();
  if (batches.empty()) fail("{}: none of the {} sampled images could be read", o.images, list.size());
  return batches;
}

BiasCorrectionReport correct_biases(const Graph& graph, const EngineOptions& int8,
                                    const std::vector<InputBatch>& batches, const BiasCorrectionOptions& o) {
  if (o.iterations < 0) fail("bias correction: iterations must be >= 0, got {}", o.iterations);
  check_batches(batches, graph);
  Stopwatch wall;
  BiasCorrectionReport report{.mode = o.mode};
  for (const InputBatch& b : batches)
    report.images += static_cast<int64_t>(b.images);
  std::vector<Conv> convs;
  for (const auto& n : graph.nodes()) {
    if (n->op_type != "Conv" || int8.plan.of(n->name) != Precision::kInt8) continue;
    std::string why;
    if (std::optional<Conv> c = describe_conv(*n, int8.weight_max_code, why)) {
      report.convs.push_back(c->name);
      report.biases[c->name] = c->bias;
      convs.push_back(std::move(*c));
    } else {
      report.skipped.push_back(fmt::format("{}: {}", n->name, why));
    }
  }
  if (convs.empty()) return report;

  const int64_t batch = batches.front().input.shape[0];
  // Unfused, so that each conv's own output (before its activation) is a value the taps can read.
  const EngineOptions reference{.threads = o.threads, .batch = batch, .fuse = false};
  EngineOptions quantized = int8;
  quantized.threads = o.threads;
  quantized.batch = batch;
  quantized.fuse = false;
  quantized.int8_mode = EngineOptions::Int8Mode::kFakeQuant;  // the Q/DQ graph's own arithmetic

  const bool local = o.mode == BiasCorrectionMode::kLocal;
  report.iterations = local ? o.iterations : 0;
  const int passes = report.iterations + (o.measure_final || (local && o.iterations == 0) ? 1 : 0);
  Progress progress("bias correction", report.images * (1 + passes), {.quiet = o.quiet});
  const std::vector<ConvStats> floats = run_pass(graph, reference, batches, convs, !local, progress);
  if (!local)  // the weights' error on the float model's input
    for (size_t i = 0; i < convs.size(); ++i) {
      const std::vector<double> f = floats[i].weighted_patch_mean(convs[i], convs[i].weight);
      const std::vector<double> q = floats[i].weighted_patch_mean(convs[i], convs[i].weight_q);
      std::vector<float>& bias = report.biases[convs[i].name];
      for (size_t c = 0; c < bias.size(); ++c)
        bias[c] = static_cast<float>(bias[c] + (f[c] - q[c]));
    }

  std::unique_ptr<Graph> work = graph.clone();
  if (!local) apply_biases(*work, report.biases);
  for (int pass = 0; pass < passes; ++pass) {
    const bool correct = pass < report.iterations;
    const std::vector<ConvStats> q = run_pass(*work, quantized, batches, convs, correct, progress);
    report.relative_error.push_back(
        mean_relative(convs, floats, [&](size_t i, size_t c) { return floats[i].mean(c) - q[i].mean(c); }));
    if (!correct) continue;
    // Each conv against the float conv on the input it saw: the original bias + W * mean patch.
    for (size_t i = 0; i < convs.size(); ++i) {
      const std::vector<double> target = q[i].weighted_patch_mean(convs[i], convs[i].weight);
      std::vector<float>& bias = report.biases[convs[i].name];
      for (size_t c = 0; c < bias.size(); ++c)
        bias[c] = static_cast<float>(bias[c] + (convs[i].bias[c] + target[c] - q[i].mean(c)));
    }
    apply_biases(*work, report.biases);
  }
  progress.finish();
  report.relative_shift = mean_relative(convs, floats, [&](size_t i, size_t c) {
    return static_cast<double>(report.biases[convs[i].name][c]) - convs[i].bias[c];
  });
  report.seconds = wall.elapsed_s();
  return report;
}

void apply_biases(Graph& graph, const std::map<std::string, std::vector<float>>& biases) {
  for (const auto& [name, values] : biases) {
    Node* conv = graph.find_node(name);
    if (!conv) fail("bias correction: the graph has no node '{}'", name);
    if (conv->op_type != "Conv") fail("bias correction: node '{}' is a {}, not a Conv", name, conv->op_type);
    const size_t channels = conv_bias(*conv).size();  // validates weight and bias
    if (values.size() != channels)
      fail("bias correction: Conv '{}' has {} output channels, the corrected bias {} values", name, channels,
           values.size());
    Tensor bias = Tensor::from_float({static_cast<int64_t>(values.size())}, values);
    Value* b = conv->input(2);
    const bool graph_output =
        b && std::find(graph.outputs.begin(), graph.outputs.end(), b) != graph.outputs.end();
    if (b && b->consumers.size() == 1 && !graph_output) {
      b->initializer = std::make_shared<const Tensor>(std::move(bias));
    } else {
      Value* fresh = graph.add_initializer(graph.unique_value_name(name + "_bias"), std::move(bias));
      graph.set_input(conv, 2, fresh);
    }
  }
}

nlohmann::json to_json(const BiasCorrectionReport& r) {
  return {{"mode", bias_correction_mode_name(r.mode)},
          {"convs", r.convs.size()},
          {"skipped", r.skipped},
          {"images", r.images},
          {"iterations", r.iterations},
          {"relative_shift", r.relative_shift},
          {"relative_error", r.relative_error},
          {"seconds", r.seconds}};
}

}  // namespace partq
