// partq sensitivity: the per-layer sweep (see partq/sensitivity.hpp and docs/sensitivity.md).
#include <partq/error.hpp>
#include <partq/pipeline.hpp>
#include <partq/sensitivity.hpp>
#include <partq/util/progress.hpp>
#include <partq/util/timing.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>

#include "model_runs.hpp"
#include "proxy_outputs.hpp"
#include "quant_model.hpp"
#include "region.hpp"
#include "sample_set.hpp"
#include "scorer.hpp"

namespace partq {

namespace {

using partial::Region;
using partial::Scorer;

enum class Mode { kEnableOne, kLeaveOneOut };

Mode parse_mode(const std::string& s) {
  if (s == "enable-one") return Mode::kEnableOne;
  if (s == "leave-one-out") return Mode::kLeaveOneOut;
  fail("unknown mode '{}' (choose enable-one or leave-one-out)", s);
}

// The metric asked for, or the default for the labels given (map with them, pseudo-map without).
partial::Metric metric_of(const SensitivityOptions& o) {
  return partial::parse_metric(!o.metric.empty() ? o.metric : (o.annotations.empty() ? "pseudo-map" : "map"));
}

// The values each batch of the baseline pass recorded, by name.
using Recorded = std::vector<std::map<std::string, Tensor>>;

struct LayerRun {
  double value = 0;
  double create_ms = 0, run_ms = 0, score_ms = 0;
};

// Re-runs only `region` of the flipped configuration on the recorded boundary values. The engine reads its
// inputs in place, so the recorded tensors are lent to it (moved in and back) rather than copied.
LayerRun run_region(const partial::QuantModel& m, partial::SampleSet& set, const Scorer& scorer,
                    const Region& region, const EngineOptions& flipped, Recorded& recorded) {
  LayerRun r;
  const std::string& model_input = m.graph->inputs[0]->name;
  auto source = [&](size_t b, const std::string& name) -> Tensor& {
    if (name == model_input) return set.batches[b].input;
    auto it = recorded.at(b).find(name);
    if (it == recorded[b].end()) fail("internal: the baseline pass did not record '{}'", name);
    return it->second;
  };
  std::vector<Shape> shapes;
  for (const std::string& name : region.inputs)
    shapes.push_back(source(0, name).shape);
  Stopwatch create;
  auto sub = partial::extract_region(*m.graph, region, shapes);
  EngineOptions options = flipped;
  options.batch = 0;
  auto engine = Engine::create(*sub, options);
  r.create_ms = create.elapsed_ms();
  Scorer::Run run = scorer.start();
  std::vector<Tensor> inputs(region.inputs.size()), outputs;
  for (size_t b = 0; b < set.batches.size(); ++b) {
    for (size_t i = 0; i < region.inputs.size(); ++i)
      inputs[i] = std::move(source(b, region.inputs[i]));
    Stopwatch watch;
    try {
      engine->run(inputs, outputs);
    } catch (...) {
      for (size_t i = 0; i < region.inputs.size(); ++i)
        source(b, region.inputs[i]) = std::move(inputs[i]);
      throw;
    }
    r.run_ms += watch.elapsed_ms();
    for (size_t i = 0; i < region.inputs.size(); ++i)
      source(b, region.inputs[i]) = std::move(inputs[i]);
    Stopwatch score;
    run.add(b, outputs);
    r.score_ms += score.elapsed_ms();
  }
  Stopwatch score;
  r.value = run.finish();
  r.score_ms += score.elapsed_ms();
  return r;
}

// Larger = more sensitive. For sqnr the comparison is made on the noise-to-signal power ratio
// 10^(-SQNR/10): it is zero for the float model (whose SQNR is unbounded) and the noise of several layers
// adds up, where dB differences against an infinite baseline would not mean anything.
double sensitivity_of(partial::Metric metric, Mode mode, double value, double float_value,
                      double int8_value) {
  if (metric == partial::Metric::kSqnr) {
    auto nsr = [](double db) { return std::pow(10.0, -db / 10.0); };
    return mode == Mode::kEnableOne ? nsr(value) - nsr(float_value) : nsr(int8_value) - nsr(value);
  }
  return mode == Mode::kEnableOne ? float_value - value : value - int8_value;
}

}  // namespace

void check_sensitivity_options(const SensitivityOptions& o) {
  parse_mode(o.mode);
  if (partial::metric_needs_labels(metric_of(o)) && o.annotations.empty())
    fail(
        "metric 'map' needs --annotations; use --metric pseudo-map (the float model's detections as labels) "
        "or sqnr / cosine without labels");
  if (o.images.empty()) fail("no images given (--images DIR)");
  if (o.batch < 1) fail("--batch must be at least 1, got {}", o.batch);
}

SensitivityReport analyse_sensitivity(const SensitivityOptions& o) {
  Stopwatch total;
  check_sensitivity_options(o);
  const Mode mode = parse_mode(o.mode);
  const partial::Metric metric = metric_of(o);
  partial::QuantModel m = partial::load_quant_model({.model = o.model,
                                                     .calib = o.calib,
                                                     .preset = o.preset,
                                                     .batch = o.batch,
                                                     .threads = o.threads,
                                                     .keep_first_conv_float = o.keep_first_conv_float,
                                                     .asymmetric_activations = o.asymmetric_activations,
                                                     .reduce_range = o.reduce_range});
  partial::SampleSet set = partial::load_sample_set({.images = o.images,
                                                     .annotations = o.annotations,
                                                     .limit = o.limit,
                                                     .seed = o.seed,
                                                     .batch = o.batch,
                                                     .quiet = o.quiet},
                                                    m.preset);
  Scorer scorer(metric, set, m.preset);

  SensitivityReport report{.model = o.model,
                           .model_fingerprint = m.fingerprint,
                           .calib = o.calib,
                           .calibration_method = m.calibration_method,
                           .mode = o.mode,
                           .metric = partial::metric_name(metric),
                           .activations = activations_name(o.asymmetric_activations),
                           .weights = weights_name(o.reduce_range),
                           .images = o.images,
                           .annotations = o.annotations,
                           .files = set.files,
                           .seed = o.seed,
                           .batch = o.batch};
  report.notes = m.warnings;
  if (metric == partial::Metric::kSqnr || metric == partial::Metric::kCosine)
    if (const auto read = partial::cut_before_selection(*m.graph); !read.empty())
      report.notes.push_back(fmt::format(
          "{} compares the tensors the model's TopK selection reads ({}), not the rows it selects: INT8 "
          "can select other rows, which the outputs would count as noise",
          partial::metric_name(metric), fmt::join(read, ", ")));

  const EngineOptions float_opts = partial::float_options(m);
  const EngineOptions int8_opts = partial::options_with_float_layers(m, {});
  const EngineOptions& baseline_opts = mode == Mode::kEnableOne ? float_opts : int8_opts;
  std::vector<EngineOptions> flipped(m.layers.size());
  for (size_t l = 0; l < m.layers.size(); ++l)
    flipped[l] = mode == Mode::kEnableOne ? partial::options_with_int8_layers(m, {l})
                                          : partial::options_with_float_layers(m, {l});

  // The regions, with the boundary the baseline engine can record.
  auto baseline = Engine::create(*m.graph, baseline_opts);
  auto recordable = [&](const std::string& name) {
    try {
      baseline->set_tap(name, [](const std::string&, const Tensor&) {});
      return true;
    } catch (const Error&) {
      return false;
    }
  };
  std::vector<Region> regions;
  std::set<std::string> record;
  for (size_t l = 0; l < m.layers.size(); ++l) {
    regions.push_back(partial::changed_region(*m.graph, baseline_opts, flipped[l], recordable));
    for (const std::string& name : regions.back().inputs)
      if (name != m.graph->inputs[0]->name) record.insert(name);
  }
  baseline->clear_taps();

  // Baseline passes: float (the reference every metric compares with) and full INT8; the one the sweep
  // starts from records the boundary values.
  Recorded recorded(set.batches.size());
  size_t batch_index = 0;
  for (const std::string& name : record)
    baseline->set_tap(name, [&](const std::string& value, const Tensor& t) {
      recorded[batch_index][value] = t;
      report.cached_bytes += static_cast<int64_t>(t.bytes.size());
    });
  auto other = Engine::create(*m.graph, mode == Mode::kEnableOne ? int8_opts : float_opts);
  Engine& float_engine = mode == Mode::kEnableOne ? *baseline : *other;
  Engine& int8_engine = mode == Mode::kEnableOne ? *other : *baseline;
  Progress baseline_progress("baselines", static_cast<int64_t>(2 * set.batches.size()), {.quiet = o.quiet});
  Scorer::Run float_run = scorer.start(), int8_run = scorer.start();
  std::vector<Tensor> outputs;
  for (batch_index = 0; batch_index < set.batches.size(); ++batch_index) {
    const std::vector<Tensor> inputs{set.batches[batch_index].input};
    float_engine.run(inputs, outputs);
    scorer.add_reference(batch_index, outputs);
    float_run.add(batch_index, outputs);
    baseline_progress.advance();
    int8_engine.run(inputs, outputs);
    int8_run.add(batch_index, outputs);
    baseline_progress.advance();
  }
  baseline_progress.finish();
  report.baseline_float = float_run.finish();
  report.baseline_int8 = int8_run.finish();
  // The naive sweep's estimate needs the time of a full pass: timed again here, on warm engines and without
  // the taps, whose copies of every boundary tensor (and first-run set-up) made the passes above several
  // times slower than the model itself (yolox_nano on a VNNI CPU: an estimate of 505 s against 56 s
  // measured).
  baseline->clear_taps();
  double float_ms = 0, int8_ms = 0;
  if (!set.batches.empty()) {
    const std::vector<Tensor> inputs{set.batches[0].input};
    const auto timed_ms = [&](Engine& engine) {
      Stopwatch t;
      engine.run(inputs, outputs);
      return t.elapsed_ms() * static_cast<double>(set.batches.size());
    };
    float_ms = timed_ms(float_engine);
    int8_ms = timed_ms(int8_engine);
  }
  baseline.reset();
  other.reset();

  // The sweep.
  Stopwatch sweep;
  Progress progress("sensitivity", static_cast<int64_t>(m.layers.size()), {.quiet = o.quiet});
  double create_ms = 0, score_ms = 0, run_ms = 0;
  for (size_t l = 0; l < m.layers.size(); ++l) {
    const Region& region = regions[l];
    LayerSensitivity s{.name = m.layers[l].name, .nodes = m.layers[l].nodes};
    if (const Node* n = m.graph->find_node(s.name)) {
      s.op_type = n->op_type;
      s.detail = describe_layer(*n).detail;
    }
    s.cone_fraction = region.flops_fraction;
    LayerRun run;
    if (region.covers_outputs && !region.nodes.empty()) {
      run = run_region(m, set, scorer, region, flipped[l], recorded);
    } else {  // nothing to share (or an output outside the region): the whole model
      run.value = partial::score_configuration(m, set, scorer, flipped[l]).value;
      s.cone_fraction = 1;
    }
    create_ms += run.create_ms;
    score_ms += run.score_ms;
    run_ms += run.run_ms;
    s.value = run.value;
    s.sensitivity = sensitivity_of(metric, mode, s.value, report.baseline_float, report.baseline_int8);
    report.layers.push_back(std::move(s));
    progress.advance();
  }
  progress.finish();
  report.sweep_seconds = sweep.elapsed_s();
  report.sweep_create_seconds = create_ms / 1000;
  report.sweep_run_seconds = run_ms / 1000;
  report.sweep_score_seconds = score_ms / 1000;
  recorded.clear();

  double fraction = 0;
  for (const auto& s : report.layers)
    fraction += s.cone_fraction;
  report.forward_fraction = report.layers.empty() ? 0 : fraction / static_cast<double>(report.layers.size());

  if (o.compare_naive) {
    Stopwatch naive;
    Progress naive_progress("naive sweep", static_cast<int64_t>(m.layers.size()), {.quiet = o.quiet});
    for (size_t l = 0; l < m.layers.size(); ++l) {
      report.layers[l].naive_value = partial::score_configuration(m, set, scorer, flipped[l]).value;
      naive_progress.advance();
    }
    naive_progress.finish();
    report.naive_seconds = naive.elapsed_s();
    report.naive_measured = true;
  } else {
    // One full forward pass per layer and batch (the mean of the float and INT8 passes: a flipped model is
    // one or the other except one layer), plus the same engine creation and scoring the sweep paid.
    const double full_ms = (float_ms + int8_ms) / 2;
    report.naive_seconds = (static_cast<double>(m.layers.size()) * full_ms + create_ms + score_ms) / 1000.0;
  }

  std::vector<size_t> order(report.layers.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return report.layers[a].sensitivity > report.layers[b].sensitivity;
  });
  std::vector<LayerSensitivity> sorted;
  for (size_t i : order) {
    sorted.push_back(report.layers[i]);
    sorted.back().rank = static_cast<int>(sorted.size());
  }
  report.layers = std::move(sorted);
  report.seconds = total.elapsed_s();
  return report;
}

}  // namespace partq
