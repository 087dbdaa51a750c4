// partq auto: calibrate -> choose the method -> sensitivity -> partial quantization -> evaluate, bench,
// report.
#include <partq/auto.hpp>
#include <partq/error.hpp>
#include <partq/partial_quant.hpp>
#include <partq/pipeline.hpp>
#include <partq/ptq.hpp>
#include <partq/quant_calib_file.hpp>
#include <partq/report.hpp>
#include <partq/sensitivity.hpp>
#include <partq/util/json_file.hpp>
#include <partq/util/timing.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <filesystem>
#include <functional>

#include "model_runs.hpp"
#include "quant_model.hpp"
#include "sample_set.hpp"
#include "scorer.hpp"
#include "selection.hpp"

namespace partq {

namespace {

namespace fs = std::filesystem;

void say(const AutoOptions& o, const std::string& line) {
  if (!o.quiet) fmt::print(stderr, "partq auto: {}\n", line);
}

// The method whose full-INT8 model scores best on the selection set (all four amax come from one pass).
std::string choose_method(const AutoOptions& o, bool asymmetric, const std::string& calib_path,
                          partial::SharedSelection& shared,
                          std::vector<std::pair<std::string, double>>& scores) {
  const CalibrationTable table = read_calibration(calib_path);
  if (!o.method.empty()) return o.method;
  if (!table.settings.contains("amax_by_method")) return table.method;
  partial::QuantModel m = partial::load_quant_model({.model = o.model,
                                                     .calib = calib_path,
                                                     .preset = o.preset,
                                                     .batch = o.batch,
                                                     .threads = o.threads,
                                                     .asymmetric_activations = asymmetric,
                                                     .reduce_range = o.reduce_range});
  const partial::Selection& selection = shared.get(m, {.images = o.calib_images,
                                                       .annotations = o.calib_annotations,
                                                       .limit = o.selection_images,
                                                       .seed = o.seed,
                                                       .batch = o.batch,
                                                       .quiet = o.quiet});
  const partial::SampleSet& set = selection.set();
  const partial::Scorer& scorer = selection.scorer();
  std::string best;
  double best_score = -1;
  for (const auto& [method, amax] : table.settings["amax_by_method"].items()) {
    m.amax = amax.get<std::map<std::string, float>>();
    const double s =
        partial::score_configuration(m, set, scorer, partial::options_with_float_layers(m, {})).value;
    scores.emplace_back(method, s);
    say(o, fmt::format("full INT8 with {} calibration, {} activations: selection {} {:.4f}", method,
                       activations_name(asymmetric), partial::metric_name(scorer.metric()), s));
    if (s > best_score) {
      best_score = s;
      best = method;
    }
  }
  return best;
}

void rewrite_method(const std::string& path, const std::string& method) {
  CalibrationTable table = read_calibration(path);
  if (table.method == method) return;
  if (!table.settings.contains("amax_by_method") || !table.settings["amax_by_method"].contains(method))
    fail("{}: no amax for method '{}'", path, method);
  table.amax = table.settings["amax_by_method"][method].get<std::map<std::string, float>>();
  table.method = method;
  write_calibration(path, table);
}

// Labels for the calibration images when none were given: the Ultralytics layout, where the YOLO-txt labels
// of .../images/<split> sit in .../labels/<split>. Empty when there are none.
std::string find_labels(const std::string& images) {
  fs::path dir = fs::path(images).lexically_normal();
  if (dir.filename().empty()) dir = dir.parent_path();
  if (dir.parent_path().filename() != "images") return "";
  const fs::path labels = dir.parent_path().parent_path() / "labels" / dir.filename();
  if (!fs::is_directory(labels)) return "";
  for (const auto& entry : fs::directory_iterator(labels))
    if (entry.path().extension() == ".txt") return labels.string();
  return "";
}

// What one activation mode's search writes: into OUTDIR, or OUTDIR/<mode> for the mode not chosen.
struct SearchFiles {
  std::string sensitivity, sensitivity_csv, partial_model, trt_cache, tradeoff;

  SearchFiles(const std::string& dir, const std::string& stem) {
    auto at = [&](const std::string& suffix) { return (fs::path(dir) / (stem + suffix)).string(); };
    sensitivity = at(".sensitivity.json");
    sensitivity_csv = at(".sensitivity.csv");
    partial_model = at(".partial.qdq.onnx");
    trt_cache = at(".partial.cache");
    tradeoff = at(".partial.json");
  }
  std::vector<const std::string*> all() const {
    return {&sensitivity, &sensitivity_csv, &partial_model, &trt_cache, &tradeoff};
  }
  // Moves every file to the same name in `to` (which is made).
  SearchFiles move_to(const std::string& to, const std::string& stem) const {
    fs::create_directories(to);
    SearchFiles moved(to, stem);
    const auto from = all(), dest = moved.all();
    for (size_t i = 0; i < from.size(); ++i)
      if (fs::exists(*from[i])) fs::rename(*from[i], *dest[i]);
    return moved;
  }
};

struct ModeSearch {
  AutoModeSearch summary;
  std::string full_int8_method;
  std::vector<std::pair<std::string, double>> method_scores;
  PartialQuantReport partial;
  SearchFiles files;
};

SensitivityOptions sensitivity_options(const AutoOptions& o, const std::string& calib, bool asymmetric) {
  return {.model = o.model,
          .calib = calib,
          .images = o.calib_images,
          .annotations = o.calib_annotations,
          .mode = o.sensitivity_mode,
          .metric = o.sensitivity_metric,
          .limit = o.sensitivity_images,
          .seed = o.seed,
          .batch = o.batch,
          .threads = o.threads,
          .preset = o.preset,
          .asymmetric_activations = asymmetric,
          .reduce_range = o.reduce_range,
          .quiet = o.quiet};
}

PartialQuantOptions partial_options(const AutoOptions& o, const std::string& calib, const SearchFiles& files,
                                    bool asymmetric) {
  return {.model = o.model,
          .calib = calib,
          .sensitivity = files.sensitivity,
          .output = files.partial_model,
          .trt_cache = files.trt_cache,
          .max_drop_points = o.max_drop_points,
          .images = o.calib_images,
          .annotations = o.calib_annotations,
          .limit = o.selection_images,
          .seed = o.seed,
          .batch = o.batch,
          .objective = o.objective,
          .try_methods = o.method.empty(),
          .max_float_layers = o.max_float_layers,
          .max_float_fraction = o.max_float_fraction,
          .fallback = o.fallback,
          .bias_correction = o.bias_correction,
          .preset = o.preset,
          .asymmetric_activations = asymmetric,
          .reduce_range = o.reduce_range,
          .threads = o.threads,
          .quiet = o.quiet};
}

// Choose the calibration method, sweep the sensitivity and choose the float layers, in one activation mode.
ModeSearch search_mode(const AutoOptions& o, bool asymmetric, const std::string& calib, SearchFiles files,
                       partial::SharedSelection& selection,
                       const std::function<void(const std::string&)>& end_stage) {
  Stopwatch clock;
  const std::string mode = activations_name(asymmetric);
  auto stage = [&](const std::string& name) {
    end_stage(o.activations == "auto" ? name + " (" + mode + ")" : name);
  };
  std::vector<std::pair<std::string, double>> scores;
  const std::string method = choose_method(o, asymmetric, calib, selection, scores);
  rewrite_method(calib, method);
  say(o, fmt::format("calibration method: {} ({} activations)", method, mode));
  stage("choose method");

  say(o, fmt::format("sensitivity sweep ({} activations)", mode));
  const SensitivityReport s = analyse_sensitivity(sensitivity_options(o, calib, asymmetric));
  fs::create_directories(fs::path(files.sensitivity).parent_path());
  write_sensitivity(files.sensitivity, s);
  write_sensitivity_csv(files.sensitivity_csv, s);
  stage("sensitivity");

  say(o, fmt::format("choosing float layers ({} activations)", mode));
  PartialQuantReport p =
      partial::partial_quantize_shared(partial_options(o, calib, files, asymmetric), selection);
  write_json_file(files.tradeoff, to_json(p));
  stage("partial quantization");
  AutoModeSearch summary{.activations = mode,
                         .method = p.method,
                         .float_layers = p.chosen.layers,
                         .selection_map = p.chosen.map,
                         .float_selection_map = p.float_map,
                         .budget_met = p.budget_met,
                         .seconds = clock.elapsed_s()};
  return {std::move(summary), method, std::move(scores), std::move(p), std::move(files)};
}

// Within budget beats over budget; then the higher selection score.
bool better(const ModeSearch& a, const ModeSearch& b) {
  if (a.summary.budget_met != b.summary.budget_met) return a.summary.budget_met;
  return a.summary.selection_map > b.summary.selection_map;
}

}  // namespace

AutoReport run_auto(const AutoOptions& options) {
  Stopwatch total;
  AutoOptions o = options;
  if (o.output_dir.empty()) fail("no output directory given (-o OUTDIR)");
  if (o.images.empty() || o.annotations.empty())
    fail("partq auto needs evaluation images and labels (--images DIR --annotations FILE)");
  if (o.calib_images.empty()) fail("partq auto needs calibration images (--calib-images DIR)");
  if (o.calib_images_count < 1) fail("--num-calib-images must be at least 1, got {}", o.calib_images_count);
  if (o.bench_rounds < 1) fail("--bench-rounds must be at least 1, got {}", o.bench_rounds);
  std::vector<bool> modes;  // asymmetric?
  if (o.activations == "symmetric" || o.activations == "auto") modes.push_back(false);
  if (o.activations == "asymmetric" || o.activations == "auto") modes.push_back(true);
  if (modes.empty()) fail("unknown activations mode '{}' (symmetric, asymmetric or auto)", o.activations);
  std::vector<std::string> notes;
  if (o.calib_annotations.empty()) {
    o.calib_annotations = find_labels(o.calib_images);
    if (!o.calib_annotations.empty())
      notes.push_back("selection labels: " + o.calib_annotations + " (found beside the calibration images)");
    else
      notes.push_back(
          "no labels for the calibration images (--calib-annotations): the choice uses the float model's "
          "detections as labels, and the budget applies to that pseudo-mAP, which drops faster than mAP");
  }
  // Both labelled sets are read before any work: a wrong path would otherwise surface only where the set is
  // first used, after calibration (the selection set) or at the very end (the evaluation set).
  check_labelled_images(o.images, o.annotations);
  if (!o.calib_annotations.empty()) check_labelled_images(o.calib_images, o.calib_annotations);
  // So are the options of the later stages, which would otherwise be refused only when the stage starts.
  const std::string stem = fs::path(o.model).stem().string();
  check_sensitivity_options(sensitivity_options(o, "", false));
  check_partial_quant_options(partial_options(o, "", SearchFiles(o.output_dir, stem), false));
  for (const std::string& n : notes)
    say(o, n);
  std::error_code made;
  fs::create_directories(o.output_dir, made);
  if (made) fail("{}: cannot create the output directory: {}", o.output_dir, made.message());
  auto out = [&](const std::string& name) { return (fs::path(o.output_dir) / name).string(); };
  AutoReport r{.model = o.model, .output_dir = o.output_dir};
  Stopwatch stage;
  auto end_stage = [&](const std::string& name) {
    r.stage_seconds.emplace_back(name, stage.elapsed_s());
    stage = Stopwatch();
  };

  const std::string calib = out(stem + ".calib.json");
  say(o, "calibrating on " + o.calib_images);
  calibrate_model({.model = o.model,
                   .images = o.calib_images,
                   .output = calib,
                   .method = o.method.empty() ? "percentile" : o.method,
                   .num_images = o.calib_images_count,
                   .batch = o.batch,
                   .seed = o.seed,
                   .preset = o.preset,
                   .threads = o.threads,
                   .quiet = o.quiet,
                   .measure_overhead = false});
  end_stage("calibrate");

  std::vector<ModeSearch> runs;
  partial::SharedSelection selection;  // every search scores the same images against the same float model
  for (const bool asymmetric : modes) {
    if (!runs.empty()) {
      const AutoModeSearch& first = runs.front().summary;
      if (first.budget_met) break;
      const std::string why = fmt::format(
          "symmetric activations missed the budget on the selection set ({:.2f} points below float with {} "
          "float layers): searching with asymmetric activations too",
          100 * (first.float_selection_map - first.selection_map), first.float_layers.size());
      say(o, why);
      notes.push_back(why);
    }
    const std::string dir = runs.empty() ? o.output_dir : out(activations_name(asymmetric));
    runs.push_back(search_mode(o, asymmetric, calib, SearchFiles(dir, stem), selection, end_stage));
  }
  size_t chosen = 0;
  for (size_t i = 1; i < runs.size(); ++i)
    if (better(runs[i], runs[chosen])) chosen = i;
  if (chosen != 0) {  // the chosen files take OUTDIR's names; the first search's move to OUTDIR/<mode>
    runs[0].files = runs[0].files.move_to(out(runs[0].summary.activations), stem);
    const std::string left = fs::path(runs[chosen].files.sensitivity).parent_path().string();
    runs[chosen].files = runs[chosen].files.move_to(o.output_dir, stem);
    std::error_code ignored;  // left in place if something else was written there
    fs::remove(left, ignored);
  }
  for (const ModeSearch& m : runs)
    r.searches.push_back(m.summary);
  const ModeSearch& c = runs[chosen];
  const bool asymmetric = c.summary.activations == "asymmetric";
  r.activations = c.summary.activations;
  r.weights = weights_name(o.reduce_range);
  if (runs.size() > 1)
    notes.push_back(fmt::format(
        "{} activations chosen: selection {:.4f} against {:.4f}{}", r.activations, c.summary.selection_map,
        runs[1 - chosen].summary.selection_map,
        asymmetric ? "; the models are for ONNX Runtime / OpenVINO (TensorRT takes only symmetric int8: "
                     "--activations symmetric)"
                   : ""));
  r.method_scores = c.method_scores;
  r.float_layers = c.partial.chosen.layers;
  r.total_layers = c.partial.total_layers;
  r.budget_met = c.partial.budget_met;
  r.warnings = c.partial.warnings;
  r.notes = notes;
  // The full-INT8 model keeps the method that suits full INT8; the calibration file then names the partial
  // model's method (its amax are the ones in the partial Q/DQ model and TensorRT cache).
  const std::string int8_model = out(stem + ".int8.qdq.onnx");
  rewrite_method(calib, c.full_int8_method);
  quantize_model({.model = o.model,
                  .calib = calib,
                  .output = int8_model,
                  .asymmetric_activations = asymmetric,
                  .reduce_range = o.reduce_range});
  r.full_int8_method = c.full_int8_method;
  r.method = c.partial.method;
  rewrite_method(calib, r.method);
  end_stage("full INT8 export");

  ReportOptions report{
      .output = out("report.html"), .sensitivity = c.files.sensitivity, .tradeoff = c.files.tradeoff};
  const std::vector<std::pair<std::string, std::string>> models{
      {"fp32", o.model}, {"int8", int8_model}, {"partial", c.files.partial_model}};
  for (const auto& [label, path] : models) {
    say(o, fmt::format("evaluating {} on {}", label, o.images));
    AutoVariant v{.label = label, .model = path};
    const EvalReport e = evaluate_model({.model = path,
                                         .images = o.images,
                                         .annotations = o.annotations,
                                         .preset = o.preset,
                                         .limit = o.eval_limit,
                                         .batch = o.batch,
                                         .threads = o.threads,
                                         .quiet = o.quiet});
    v.map50_95 = e.coco.stats[0];
    v.map50 = e.coco.stats[1];
    const std::string eval_json = out("eval-" + label + ".json");
    write_json_file(eval_json, to_json(e));
    report.evals.push_back({label, eval_json});
    r.variants.push_back(std::move(v));
  }
  // Rounds of the three models in turn at each batch size; each keeps its median round.
  say(o,
      fmt::format("benchmarking at batch {} ({} rounds)", fmt::join(o.bench_batches, ", "), o.bench_rounds));
  for (int b : o.bench_batches) {
    std::vector<std::vector<BenchReport>> rounds(models.size());
    for (int round = 0; round < o.bench_rounds; ++round)
      for (size_t i = 0; i < models.size(); ++i)
        rounds[i].push_back(benchmark_model({.model = models[i].second,
                                             .batch = b,
                                             .threads = o.threads,
                                             .runs = o.bench_runs,
                                             .quiet = true}));
    for (size_t i = 0; i < models.size(); ++i) {
      std::vector<BenchReport>& benches = rounds[i];
      const auto middle = benches.begin() + static_cast<std::ptrdiff_t>(benches.size() / 2);
      std::nth_element(benches.begin(), middle, benches.end(),
                       [](const BenchReport& x, const BenchReport& y) {
                         return x.latency.median_ms < y.latency.median_ms;
                       });
      const BenchReport& bench = *middle;
      r.variants[i].latency_ms.emplace_back(b, bench.latency.median_ms);
      for (const std::string& w : bench.warnings)
        if (std::find(r.warnings.begin(), r.warnings.end(), w) == r.warnings.end()) r.warnings.push_back(w);
      const std::string bench_json = out(fmt::format("bench-{}-b{}.json", models[i].first, b));
      write_json_file(bench_json, to_json(bench));
      report.benches.push_back({models[i].first, bench_json});
    }
  }
  end_stage("evaluate and bench");
  r.report = write_report(report).output;
  r.seconds = total.elapsed_s();
  write_json_file(out("auto.json"), to_json(r));
  return r;
}

nlohmann::json to_json(const AutoReport& r) {
  nlohmann::json variants = nlohmann::json::array();
  for (const AutoVariant& v : r.variants) {
    nlohmann::json latency = nlohmann::json::object();
    for (const auto& [b, ms] : v.latency_ms)
      latency[std::to_string(b)] = ms;
    variants.push_back({{"label", v.label},
                        {"model", v.model},
                        {"mAP50_95", v.map50_95},
                        {"mAP50", v.map50},
                        {"latency_ms_by_batch", latency}});
  }
  nlohmann::json searches = nlohmann::json::array();
  for (const AutoModeSearch& m : r.searches)
    searches.push_back({{"activations", m.activations},
                        {"calibration_method", m.method},
                        {"float_layers", m.float_layers},
                        {"selection_map", m.selection_map},
                        {"float_selection_map", m.float_selection_map},
                        {"budget_met", m.budget_met},
                        {"seconds", m.seconds}});
  nlohmann::json methods = nlohmann::json::object(), stages = nlohmann::json::object();
  for (const auto& [m, s] : r.method_scores)
    methods[m] = s;
  for (const auto& [name, s] : r.stage_seconds)
    stages[name] = s;
  return {{"format", "partq.auto"},
          {"version", 1},
          {"model", r.model},
          {"output_dir", r.output_dir},
          {"calibration_method", r.method},
          {"activations", r.activations},
          {"weights", r.weights},
          {"activation_searches", searches},
          {"full_int8_calibration_method", r.full_int8_method},
          {"method_scores", methods},
          {"float_layers", r.float_layers},
          {"total_layers", r.total_layers},
          {"budget_met", r.budget_met},
          {"variants", variants},
          {"report", r.report},
          {"seconds", r.seconds},
          {"stage_seconds", stages},
          {"notes", r.notes},
          {"warnings", r.warnings}};
}

std::string format_auto(const AutoReport& r) {
  std::string out =
      fmt::format("{}: {} activations, {} weights, {} calibration (full INT8: {}), {} of {} layers float{}\n",
                  r.model, r.activations, r.weights, r.method, r.full_int8_method, r.float_layers.size(),
                  r.total_layers, r.budget_met ? "" : " (budget not met)");
  if (r.activations == "asymmetric")
    out +=
        "  uint8 activations: for ONNX Runtime / OpenVINO; TensorRT takes only symmetric int8 "
        "(--activations symmetric)\n";
  for (const AutoModeSearch& m : r.searches)
    if (r.searches.size() > 1)
      out += fmt::format("  searched {} activations: selection {:.4f} (float {:.4f}), {} float layers{}\n",
                         m.activations, m.selection_map, m.float_selection_map, m.float_layers.size(),
                         m.budget_met ? "" : ", budget not met");
  for (const std::string& l : r.float_layers)
    out += "  float: " + l + "\n";
  const AutoVariant* fp32 = r.variants.empty() ? nullptr : &r.variants.front();
  out += fmt::format("  {:<8} {:>9} {:>8}", "model", "mAP50-95", "mAP50");
  if (fp32)
    for (const auto& [b, ms] : fp32->latency_ms)
      out += fmt::format(" {:>12} {:>8}", fmt::format("b{} ms", b), "speed-up");
  out += "\n";
  for (const AutoVariant& v : r.variants) {
    out += fmt::format("  {:<8} {:>9.4f} {:>8.4f}", v.label, v.map50_95, v.map50);
    for (size_t i = 0; i < v.latency_ms.size(); ++i)
      out += fmt::format(" {:>12.2f} {:>7.2f}x", v.latency_ms[i].second,
                         fp32 ? fp32->latency_ms[i].second / v.latency_ms[i].second : 0.0);
    out += "\n";
  }
  out += fmt::format("report: {} ({:.0f} s in all)\n", r.report, r.seconds);
  return out;
}

}  // namespace partq
