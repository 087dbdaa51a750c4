// partq quantize --sensitivity: choose the float layers, then export the Q/DQ model of that plan.
#include <partq/bias_correction.hpp>
#include <partq/engine.hpp>
#include <partq/error.hpp>
#include <partq/onnx_io.hpp>
#include <partq/partial_quant.hpp>
#include <partq/pipeline.hpp>
#include <partq/quant_calib_file.hpp>
#include <partq/quant_qdq.hpp>
#include <partq/sensitivity.hpp>
#include <partq/util/progress.hpp>
#include <partq/util/timing.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "model_runs.hpp"
#include "noise.hpp"
#include "quant_model.hpp"
#include "sample_set.hpp"
#include "scorer.hpp"
#include "selection.hpp"

namespace partq {

namespace {

using partial::QuantModel;

}  // namespace

void check_partial_quant_options(const PartialQuantOptions& o) {
  if (o.output.empty()) fail("no output file given (-o MODEL.qdq.onnx)");
  if (o.float_layers.has_value() == o.max_drop_points.has_value())
    fail("give exactly one of --float-layers K and --max-drop D with --sensitivity");
  if (o.float_layers && *o.float_layers < 0) fail("--float-layers must be >= 0, got {}", *o.float_layers);
  if (o.max_drop_points && !(std::isfinite(*o.max_drop_points) && *o.max_drop_points >= 0))
    fail("--max-drop must be a non-negative number of mAP points, got {}", *o.max_drop_points);
  if (o.bias_correction && o.images.empty())
    fail(
        "--bias-correction with --sensitivity needs the selection images it is measured and scored on "
        "(--images DIR)");
  if (o.bias_correction) parse_bias_correction_mode(o.bias_mode);
  if (o.max_drop_points && o.images.empty())
    fail("--max-drop needs a selection set to confirm the choice on: --images DIR [--annotations FILE]");
  if (o.max_float_layers && *o.max_float_layers < 0)
    fail("--max-float-layers must be >= 0, got {}", *o.max_float_layers);
  if (!(o.max_float_fraction >= 0 && o.max_float_fraction <= 1))
    fail("--max-float-fraction must be between 0 and 1, got {}", o.max_float_fraction);
  if (o.objective != "accuracy" && o.objective != "balanced")
    fail("unknown objective '{}' (choose accuracy or balanced)", o.objective);
  if (o.fallback != "within-noise" && o.fallback != "best")
    fail("unknown fallback '{}' (choose within-noise or best)", o.fallback);
  if (o.noise_halves < 2) fail("--noise-halves must be >= 2, got {}", o.noise_halves);
  if (o.batch < 1) fail("--batch must be at least 1, got {}", o.batch);
}

namespace {

// The model's layers in the order they should be kept float, from the sensitivity file.
std::vector<size_t> rank_layers(const QuantModel& m, const SensitivityReport& s, const std::string& label) {
  if (s.model_fingerprint != m.fingerprint)
    fail("{}: the sensitivity file was made for another model ({}, fingerprint {}; this model is {})", label,
         s.model, s.model_fingerprint, m.fingerprint);
  std::vector<size_t> order;
  std::set<size_t> seen;
  for (const LayerSensitivity& l : s.layers) {
    size_t i;
    try {
      i = partial::find_layer(m, l.name);
    } catch (const Error&) {
      if (l.nodes.empty()) throw;
      i = partial::find_layer(m, l.nodes.front());
    }
    if (seen.insert(i).second) order.push_back(i);
  }
  for (size_t i = 0; i < m.layers.size(); ++i)  // layers the file does not rank go last
    if (seen.insert(i).second) order.push_back(i);
  return order;
}

std::vector<std::string> names_of(const QuantModel& m, const std::vector<size_t>& layers) {
  std::vector<std::string> names;
  for (size_t i : layers)
    names.push_back(m.layers[i].name);
  return names;
}

// "balanced": sensitivity per millisecond the engine loses when the layer stays float.
std::vector<size_t> rank_balanced(const QuantModel& m, const SensitivityReport& s,
                                  const std::vector<size_t>& by_sensitivity, const PartialQuantOptions& o) {
  std::vector<double> sensitivity(m.layers.size(), 0);
  for (const LayerSensitivity& l : s.layers)
    sensitivity[partial::find_layer(m, l.name)] = std::max(0.0, l.sensitivity);
  Progress progress("latency per layer", static_cast<int64_t>(m.layers.size()) + 1, {.quiet = o.quiet});
  const double int8_ms =
      partial::measure_latency_ms(m, partial::options_with_float_layers(m, {}), o.batch, o.latency_runs);
  progress.advance();
  std::vector<double> score(m.layers.size(), 0);
  for (size_t i = 0; i < m.layers.size(); ++i) {
    const double ms =
        partial::measure_latency_ms(m, partial::options_with_float_layers(m, {i}), o.batch, o.latency_runs);
    // A layer that costs (within timing noise) nothing is ranked by its sensitivity over a small floor.
    score[i] = sensitivity[i] / std::max(ms - int8_ms, 0.05 * int8_ms / static_cast<double>(m.layers.size()));
    progress.advance();
  }
  progress.finish();
  std::vector<size_t> order = by_sensitivity;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return score[a] > score[b]; });
  return order;
}

void export_plan(const PartialQuantOptions& o, const QuantModel& m,
                 const std::vector<std::string>& float_nodes, const std::string& method,
                 const std::map<std::string, std::vector<float>>& biases) {
  auto graph = load_model(o.model);  // the model's own batch, not the search's
  apply_biases(*graph, biases);
  PlacementOptions placement{.keep_first_conv_float = o.keep_first_conv_float,
                             .weight_max_code = m.weight_max_code};
  for (const std::string& n : float_nodes)
    placement.overrides[n] = Precision::kFloat32;
  const QuantPlan plan = plan_quantization(*graph, placement);
  save_onnx(*insert_qdq(*graph, plan, m.amax, lower_bounds_for(*graph, o.asymmetric_activations)), o.output);
  if (!o.trt_cache.empty())
    write_trt_calibration_cache(
        o.trt_cache, group_amax(plan, m.amax),
        {.calibrator = method == "max" ? TrtCalibrator::kMinMax : TrtCalibrator::kEntropy2});
}

// One budget search: its configurations in evaluation order and the set it settles on.
struct Search {
  std::string method{};
  std::vector<size_t> chosen{};
  std::vector<PartialStep> steps{};
  std::vector<std::vector<Detection>> detections{};  // per step (map / pseudo-map), for the noise estimate
  bool met = false;
  double map = -1;
};

// What the search settles on when no configuration meets the budget.
struct Fallback {
  std::string rule{};  // "within-noise" | "best"
  int halves = 32;
  uint64_t seed = 0;
};

// The calibration amax to search with: the file's own method first, then (try_methods) every other method
// the file stores, so that the method is chosen for the partial model rather than for full INT8 (a method
// ruined by one outlier layer can be the best once that layer is float).
std::map<std::string, std::map<std::string, float>> all_methods(const PartialQuantOptions& o) {
  std::map<std::string, std::map<std::string, float>> by_method;
  if (!o.try_methods) return by_method;
  const CalibrationTable table = read_calibration(o.calib);
  if (table.settings.contains("amax_by_method"))
    for (const auto& [method, amax] : table.settings["amax_by_method"].items())
      by_method[method] = amax.get<std::map<std::string, float>>();
  return by_method;
}

std::vector<std::pair<std::string, std::map<std::string, float>>> ordered_methods(
    const PartialQuantOptions& o, const QuantModel& m) {
  std::vector<std::pair<std::string, std::map<std::string, float>>> out{{m.calibration_method, m.amax}};
  for (auto& [method, amax] : all_methods(o))
    if (method != m.calibration_method) out.emplace_back(method, std::move(amax));
  return out;
}

// The most layers a budget search may keep float (see PartialQuantOptions::max_float_layers).
size_t float_layer_cap(const PartialQuantOptions& o, size_t layers) {
  if (o.max_float_layers) return std::min(static_cast<size_t>(*o.max_float_layers), layers);
  const auto by_fraction =
      static_cast<size_t>(std::floor(o.max_float_fraction * static_cast<double>(layers)));
  return std::min(layers, std::max<size_t>(by_fraction, 1));
}

// Rounds (0..2 float layers) in which every calibration method is searched; after them only the method with
// the best selection mAP continues, so trying methods costs a few evaluations rather than a factor of four.
constexpr size_t kMethodRounds = 3;

class Searcher {
 public:
  Searcher(const QuantModel& m, const partial::SampleSet& set, const partial::Scorer& scorer,
           double float_map, bool quiet)
      : m_(m), set_(set), scorer_(scorer), float_map_(float_map), quiet_(quiet) {}

  const PartialStep& evaluate(Search& s, const std::vector<size_t>& layers, const std::string& note) const {
    auto score = partial::score_configuration(
        m_, set_, scorer_, partial::options_with_float_layers(m_, {layers.begin(), layers.end()}));
    s.detections.push_back(std::move(score.detections));
    s.steps.push_back({.layers = names_of(m_, layers),
                       .map = score.value,
                       .drop = float_map_ - score.value,
                       .latency_ms = score.median_batch_ms,
                       .note = (s.method.empty() ? "" : "[" + s.method + "] ") + note});
    return s.steps.back();
  }

  // Greedy, for every method in lockstep: keep the k most sensitive layers float, k = 0, 1, ..., cap, until
  // some method is within budget; the best such method wins (higher selection mAP). Then prune every layer
  // whose removal keeps the winner within budget, least sensitive first. When no k within the cap meets the
  // budget, the configuration with the best selection mAP seen wins.
  // The fallback rule then decides: the best one, or the fewest float layers within its noise.
  Search budget_search(QuantModel& m,
                       const std::vector<std::pair<std::string, std::map<std::string, float>>>& methods,
                       const std::vector<size_t>& order, double budget, size_t cap, const Fallback& fallback,
                       std::vector<MethodResult>& results, PartialStep& best) const {
    std::vector<Search> runs;
    for (const auto& method : methods)
      runs.push_back({.method = method.first});
    const size_t rounds = std::min(cap, order.size()) + 1;
    const size_t method_rounds = std::min(kMethodRounds, rounds);
    Progress progress("search",
                      static_cast<int64_t>(method_rounds * methods.size() + (rounds - method_rounds)),
                      {.quiet = quiet_});
    std::vector<size_t> prefix;
    int winner = -1;
    std::vector<bool> active(runs.size(), true);
    // The best configuration seen (method index, float layers), for when nothing meets the budget.
    int best_run = -1;
    std::vector<size_t> best_layers;
    double best_map = -1;
    for (size_t k = 0; winner < 0 && k < rounds; ++k) {
      if (k > 0) prefix.push_back(order[k - 1]);
      if (k == kMethodRounds) {  // from here on only the method with the best selection mAP goes on
        size_t lead = 0;
        for (size_t i = 1; i < runs.size(); ++i)
          if (runs[i].map > runs[lead].map) lead = i;
        for (size_t i = 0; i < runs.size(); ++i)
          active[i] = i == lead;
      }
      for (size_t i = 0; i < runs.size(); ++i) {
        if (!active[i]) continue;
        m.amax = methods[i].second;
        runs[i].chosen = prefix;
        const PartialStep& step =
            evaluate(runs[i], prefix, k == 0 ? "full INT8" : "add " + m_.layers[order[k - 1]].name);
        runs[i].map = step.map;
        runs[i].met = step.drop <= budget;
        if (step.map > best_map) {
          best_map = step.map;
          best_run = static_cast<int>(i);
          best_layers = prefix;
        }
        if (runs[i].met && (winner < 0 || runs[i].map > runs[static_cast<size_t>(winner)].map))
          winner = static_cast<int>(i);
        progress.advance();
      }
    }
    progress.finish();
    if (winner < 0) {  // nothing met the budget within the cap
      winner = best_run;
      Search& run = runs[static_cast<size_t>(winner)];
      run.chosen = best_layers;
      run.map = best_map;
      for (const PartialStep& step : run.steps)
        if (step.layers.size() == best_layers.size()) best = step;
      if (fallback.rule == "within-noise") settle_within_noise(run, best, fallback);
    }
    Search s = runs[static_cast<size_t>(winner)];
    m.amax = methods[static_cast<size_t>(winner)].second;
    if (s.met && s.chosen.size() > 1)
      for (size_t i = s.chosen.size() - 1; i-- > 0;) {  // the last one added is needed: skip it
        std::vector<size_t> without;
        for (size_t j = 0; j < s.chosen.size(); ++j)
          if (j != i) without.push_back(s.chosen[j]);
        const PartialStep& step = evaluate(s, without, "remove " + m_.layers[s.chosen[i]].name);
        if (step.drop <= budget) {
          s.chosen = without;
          s.map = step.map;
        }
      }
    results.clear();
    for (const Search& run : runs)
      results.push_back({.method = run.method,
                         .float_layers = static_cast<int>(run.chosen.size()),
                         .map = run.map,
                         .met = run.met});
    return s;
  }

 private:
  // The one-standard-error rule over the run's greedy prefixes (its steps, in order of float layers): the
  // first whose selection map is within one standard error of the best's. Each step's error is recorded.
  void settle_within_noise(Search& run, const PartialStep& best, const Fallback& fallback) const {
    if (!scorer_.scores_detections() || set_.images() < 4) return;
    size_t best_index = 0;
    for (size_t i = 0; i < run.steps.size(); ++i)
      if (run.steps[i].layers == best.layers) best_index = i;
    const partial::HalfSampleNoise noise(
        scorer_, partial::half_samples(set_.image_ids, fallback.halves, fallback.seed),
        run.detections[best_index]);
    for (size_t i = 0; i < best_index; ++i) {
      PartialStep& step = run.steps[i];
      step.se_vs_best = noise.standard_error(run.detections[i]);
      if (step.map >= best.map - step.se_vs_best) {
        run.chosen.resize(step.layers.size());
        run.map = step.map;
        return;
      }
    }
  }

  const QuantModel& m_;
  const partial::SampleSet& set_;
  const partial::Scorer& scorer_;
  double float_map_;
  bool quiet_;
};

}  // namespace

namespace partial {

PartialQuantReport partial_quantize_shared(const PartialQuantOptions& o, SharedSelection& shared) {
  Stopwatch total;
  check_partial_quant_options(o);
  QuantModel m = partial::load_quant_model({.model = o.model,
                                            .calib = o.calib,
                                            .preset = o.preset,
                                            .batch = o.batch,
                                            .threads = o.threads,
                                            .keep_first_conv_float = o.keep_first_conv_float,
                                            .asymmetric_activations = o.asymmetric_activations,
                                            .reduce_range = o.reduce_range});
  const SensitivityReport sens = read_sensitivity(o.sensitivity);
  std::vector<size_t> order = rank_layers(m, sens, o.sensitivity);
  if (o.objective == "balanced") order = rank_balanced(m, sens, order, o);

  PartialQuantReport r{.model = o.model,
                       .output = o.output,
                       .sensitivity = o.sensitivity,
                       .objective = o.objective,
                       .activations = activations_name(o.asymmetric_activations),
                       .weights = weights_name(o.reduce_range),
                       .float_layers_requested = o.float_layers,
                       .batch = o.batch,
                       .total_layers = static_cast<int>(m.layers.size())};
  r.warnings = m.warnings;
  // The ranking still applies, but it was measured on another quantization than the one chosen here.
  if (sens.weights != r.weights || sens.activations != r.activations)
    r.warnings.push_back(fmt::format(
        "{} was measured with {} weights and {} activations; this quantization uses {} weights and {} "
        "activations (--reduce-range / --asymmetric-activations as in the sweep rank the layers for it)",
        o.sensitivity, sens.weights, sens.activations, r.weights, r.activations));
  // The engine times the configurations (and, for "balanced", each layer); without VNNI it runs the INT8
  // convs as their f32 simulation.
  if (!int8_convolutions_run_in_s8(m.weight_max_code) && (!o.images.empty() || o.objective == "balanced"))
    r.warnings.push_back(
        std::string("this CPU has no VNNI: the INT8 convolutions of 8-bit weights ran in f32 "
                    "(docs/quantization.md; --reduce-range runs them in s8), so the latencies of the "
                    "configurations are not INT8 speed") +
        (o.objective == "balanced" ? ", and the balanced objective ranked the layers by them" : ""));
  if (o.max_drop_points) r.max_drop = *o.max_drop_points / 100.0;

  std::vector<size_t> chosen;
  std::map<std::string, std::vector<float>> biases;  // corrected conv biases, when bias correction is kept
  r.method = m.calibration_method;
  if (!o.images.empty()) {
    const partial::Selection& selection = shared.get(m, {.images = o.images,
                                                         .annotations = o.annotations,
                                                         .limit = o.limit,
                                                         .seed = o.seed,
                                                         .batch = o.batch,
                                                         .quiet = o.quiet});
    const partial::SampleSet& set = selection.set();
    const partial::Scorer& scorer = selection.scorer();
    r.selection_images = o.images;
    r.selection_annotations = o.annotations;
    r.selection_metric = partial::metric_name(scorer.metric());
    r.selection_count = set.images();
    r.float_map = selection.reference().value;
    r.float_latency_ms = selection.reference().median_batch_ms;
    const Searcher searcher{m, set, scorer, r.float_map, o.quiet};
    if (o.float_layers) {
      chosen.assign(order.begin(), order.begin() + std::min<size_t>(*o.float_layers, order.size()));
      Search requested{.method = r.method};
      searcher.evaluate(requested, chosen, "requested");
      r.steps = requested.steps;
    } else {
      const auto methods = ordered_methods(o, m);
      r.max_float_layers = static_cast<int>(float_layer_cap(o, order.size()));
      Search best = searcher.budget_search(
          m, methods, order, *r.max_drop, static_cast<size_t>(r.max_float_layers),
          {.rule = o.fallback, .halves = o.noise_halves, .seed = o.seed}, r.method_results, r.best);
      if (!best.met) r.fallback = o.fallback;
      r.method = best.method;
      r.budget_met = best.met;
      r.steps = best.steps;
      chosen = best.chosen;
    }
    for (const PartialStep& s : r.steps)
      if (s.layers == names_of(m, chosen)) r.chosen = s;
    if (o.bias_correction) {
      const auto batches = load_input_batches(
          {.images = o.images, .count = o.bias_images, .seed = o.seed, .batch = o.batch, .quiet = o.quiet},
          m.preset);
      const std::set<size_t> chosen_set(chosen.begin(), chosen.end());
      const BiasCorrectionReport bc = correct_biases(
          *m.graph, partial::options_with_float_layers(m, chosen_set), batches,
          {.mode = parse_bias_correction_mode(o.bias_mode), .threads = o.threads, .quiet = o.quiet});
      apply_biases(*m.graph, bc.biases);  // the search is over: only this evaluation reads m.graph now
      Search corrected{.method = r.method};
      const PartialStep step = searcher.evaluate(corrected, chosen, "bias correction");
      r.steps.push_back(step);
      const bool kept = step.map > r.chosen.map;
      r.bias_correction = to_json(bc);
      r.bias_correction["kept"] = kept;
      if (kept) {
        r.chosen = step;
        biases = bc.biases;
        if (r.max_drop) r.budget_met = step.drop <= *r.max_drop;
      }
    }
  } else {
    chosen.assign(order.begin(), order.begin() + std::min<size_t>(*o.float_layers, order.size()));
    r.chosen = {.layers = names_of(m, chosen), .note = "requested"};
  }
  if (o.float_layers && static_cast<size_t>(*o.float_layers) > order.size())
    r.warnings.push_back(
        fmt::format("--float-layers {}: the model has only {} layers", *o.float_layers, order.size()));

  std::set<size_t> chosen_set(chosen.begin(), chosen.end());
  const auto nodes = partial::layer_nodes(m, chosen_set);
  export_plan(o, m, {nodes.begin(), nodes.end()}, r.method, biases);
  r.seconds = total.elapsed_s();
  return r;
}

}  // namespace partial

PartialQuantReport partial_quantize(const PartialQuantOptions& o) {
  partial::SharedSelection own;
  return partial::partial_quantize_shared(o, own);
}

nlohmann::json to_json(const PartialQuantReport& r) {
  auto step_json = [&](const PartialStep& s) {
    nlohmann::json j = {
        {"float_layers", s.layers.size()}, {"layers", s.layers}, {"note", s.note}, {"batch", r.batch}};
    if (s.map >= 0) {
      j["map"] = s.map;
      j["drop"] = s.drop;
      j["latency_ms"] = s.latency_ms;
    }
    if (s.se_vs_best >= 0) j["se_vs_best"] = s.se_vs_best;
    return j;
  };
  nlohmann::json steps = nlohmann::json::array();
  for (const PartialStep& s : r.steps)
    steps.push_back(step_json(s));
  nlohmann::json method_results = nlohmann::json::array();
  for (const MethodResult& mr : r.method_results)
    method_results.push_back(
        {{"method", mr.method}, {"float_layers", mr.float_layers}, {"map", mr.map}, {"budget_met", mr.met}});
  auto optional = [](const auto& v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); };
  return {{"format", "partq.partial_quant"},
          {"version", 1},
          {"model", r.model},
          {"output", r.output},
          {"sensitivity", r.sensitivity},
          {"objective", r.objective},
          {"activations", r.activations},
          {"weights", r.weights},
          {"calibration_method", r.method},
          {"method_results", method_results},
          {"max_drop", optional(r.max_drop)},
          {"float_layers_requested", optional(r.float_layers_requested)},
          {"selection",
           {{"images", r.selection_images},
            {"annotations", r.selection_annotations.empty() ? nlohmann::json(nullptr)
                                                            : nlohmann::json(r.selection_annotations)},
            {"count", r.selection_count},
            {"metric", r.selection_metric}}},
          {"float_map", r.float_map},
          {"float_latency_ms", r.float_latency_ms},
          {"total_layers", r.total_layers},
          {"max_float_layers", r.max_float_layers},
          {"budget_met", r.budget_met},
          {"fallback", r.fallback.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.fallback)},
          {"best", r.fallback.empty() ? nlohmann::json(nullptr) : step_json(r.best)},
          {"bias_correction", r.bias_correction},
          {"steps", steps},
          {"chosen", step_json(r.chosen)},
          {"seconds", r.seconds},
          {"warnings", r.warnings}};
}

std::string format_tradeoff(const PartialQuantReport& r) {
  std::string out;
  if (r.float_map >= 0)
    out += fmt::format("selection set: {} images ({}), float mAP {:.4f}, {:.1f} ms per batch of {}\n",
                       r.selection_count, r.selection_metric, r.float_map, r.float_latency_ms, r.batch);
  out +=
      fmt::format("  {:>5}  {:>8}  {:>11}  {:>10}  {}\n", "float", "mAP", "drop (pts)", "ms/batch", "step");
  for (const PartialStep& s : r.steps)
    out += fmt::format("  {:>5}  {:>8.4f}  {:>11.2f}  {:>10.1f}  {}{}\n", s.layers.size(), s.map,
                       100 * s.drop, s.latency_ms, s.note,
                       s.se_vs_best >= 0 ? fmt::format("  (best - {:.2f} +- {:.2f} pts)",
                                                       100 * (r.best.map - s.map), 100 * s.se_vs_best)
                                         : "");
  for (const MethodResult& mr : r.method_results)
    out += fmt::format("  {} calibration: {} float layers, mAP {:.4f}{}\n", mr.method, mr.float_layers,
                       mr.map, mr.met ? "" : " (budget not met)");
  if (!r.bias_correction.is_null())
    out += fmt::format("bias correction ({} mode, {} convs): {}\n", r.bias_correction.value("mode", ""),
                       r.bias_correction.value("convs", 0),
                       r.bias_correction.value("kept", false) ? "kept (higher selection mAP)"
                                                              : "not kept (no higher selection mAP)");
  out += fmt::format("chosen: {} calibration, {} of {} layers float", r.method, r.chosen.layers.size(),
                     r.total_layers);
  for (size_t i = 0; i < r.chosen.layers.size(); ++i)
    out += (i == 0 ? ": " : ", ") + r.chosen.layers[i];
  out += "\n";
  if (!r.budget_met) {
    const bool fewer = r.fallback == "within-noise" && r.chosen.layers.size() < r.best.layers.size();
    out += fmt::format(
        "warning: no configuration with at most {} float layers met the budget of {:.2f} mAP points; kept {} "
        "float layers (drop {:.2f}): {}. Raise --max-float-layers / --max-float-fraction, or try another "
        "calibration method (--try-methods)\n",
        r.max_float_layers, r.max_drop.value_or(0) * 100, r.chosen.layers.size(), 100 * r.chosen.drop,
        fewer
            ? fmt::format("the fewest within one standard error of the best configuration ({} float layers, "
                          "drop {:.2f})",
                          r.best.layers.size(), 100 * r.best.drop)
            : std::string("the best configuration found"));
  }
  return out;
}

}  // namespace partq
