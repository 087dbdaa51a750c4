// Reading the report's input files into the structs of include/partq/report.hpp.
#include "partq/error.hpp"
#include "partq/report.hpp"
#include "partq/util/json_file.hpp"

#include <algorithm>
#include <filesystem>
#include <set>

#include "json_fields.hpp"

namespace partq::report {

namespace {

// The partq result files the report reads, and how each is given to `partq report`.
enum class FileKind { kUnknown, kSensitivity, kTradeoff, kEval, kBench, kAuto };

struct KindText {
  const char* noun;  // "a sensitivity file"
  const char* use;   // how partq report takes it
};

KindText kind_text(FileKind kind) {
  switch (kind) {
    case FileKind::kSensitivity:
      return {"a sensitivity file", "give it as --sensitivity"};
    case FileKind::kTradeoff:
      return {"a partial-quantization file", "give it as --tradeoff"};
    case FileKind::kEval:
      return {"a `partq eval --json` result", "give it as --eval LABEL=FILE"};
    case FileKind::kBench:
      return {"a `partq bench --json` result", "give it as --bench LABEL=FILE"};
    case FileKind::kAuto:
      return {"partq auto's summary", "auto writes its own report.html beside it"};
    case FileKind::kUnknown:
      break;
  }
  return {"an unknown file", ""};
}

// By the format key the partq files carry, else by the one field only that command writes.
FileKind recognise(const nlohmann::json& json) {
  if (!json.is_object()) return FileKind::kUnknown;
  if (auto f = json.find("format"); f != json.end() && f->is_string()) {
    if (*f == "partq.sensitivity") return FileKind::kSensitivity;
    if (*f == "partq.partial_quant") return FileKind::kTradeoff;
    if (*f == "partq.auto") return FileKind::kAuto;
    return FileKind::kUnknown;
  }
  if (json.contains("median_ms")) return FileKind::kBench;
  if (json.contains("mAP50_95")) return FileKind::kEval;
  return FileKind::kUnknown;
}

// A file recognised as another kind is refused saying what it is and where it goes, instead of with the
// first key the expected kind lacks; an unrecognised one goes on to the key-by-key errors.
void require_kind(const nlohmann::json& json, const std::string& source, FileKind expected) {
  const FileKind found = recognise(json);
  if (found != FileKind::kUnknown && found != expected)
    fail("{}: this is {}, not {}: {}", source, kind_text(found).noun, kind_text(expected).noun,
         kind_text(found).use);
}

void check_format(const JsonFields& file, const std::string& expected) {
  const std::string format = file.string("format");
  if (format != expected) file.fail_key("format", "is \"" + format + "\", expected \"" + expected + "\"");
  if (auto version = file.optional_integer("version"); version && *version != 1)
    file.fail_key("version", "is " + std::to_string(*version) + ", this partq reads version 1");
}

// `map_required`: a step of steps[] (always evaluated); `chosen` may be unevaluated (no selection set).
TradeoffStep step_from(const JsonFields& s, std::optional<double> float_map, bool map_required) {
  TradeoffStep step;
  step.layers = s.strings("layers");
  step.float_layers = s.optional_integer("float_layers").value_or(static_cast<int64_t>(step.layers.size()));
  if (step.float_layers < 0) s.fail_key("float_layers", "must not be negative");
  step.note = s.optional_string("note").value_or("");
  step.map = map_required ? std::optional<double>(s.number("map")) : s.optional_number("map");
  step.drop = s.optional_number("drop");
  if (step.map && !step.drop) {
    if (!float_map) s.fail_key("drop", "is missing and the file has no float_map to derive it from");
    step.drop = *float_map - *step.map;
  }
  step.latency_ms = s.optional_number("latency_ms");
  step.batch = s.optional_integer("batch");
  return step;
}

std::set<std::string> layer_set(const TradeoffStep& step) {
  return {step.layers.begin(), step.layers.end()};
}

}  // namespace

SensitivityInput parse_sensitivity(const nlohmann::json& json, const std::string& source) {
  require_kind(json, source, FileKind::kSensitivity);
  const JsonFields file(json, source, "sensitivity file");
  check_format(file, "partq.sensitivity");
  SensitivityInput r;
  r.source = source;
  r.model = file.optional_string("model").value_or("");
  r.mode = file.string("mode");
  r.metric = file.string("metric");
  r.calibration_method = file.optional_string("calibration_method").value_or("");
  if (file.has("images")) r.image_count = file.object("images").optional_integer("count");
  const JsonFields baseline = file.object("baseline");
  r.baseline_float = baseline.number("float");
  r.baseline_int8 = baseline.number("int8");
  for (const JsonFields& l : file.objects("layers")) {
    SensitivityLayer layer;
    layer.name = l.string("name");
    layer.op_type = l.optional_string("op_type").value_or("");
    layer.detail = l.optional_string("detail").value_or("");
    layer.value = l.number("value");
    layer.sensitivity = l.number("sensitivity");
    layer.rank = l.optional_integer("rank").value_or(static_cast<int64_t>(r.layers.size()) + 1);
    r.layers.push_back(std::move(layer));
  }
  std::stable_sort(r.layers.begin(), r.layers.end(),
                   [](const auto& a, const auto& b) { return a.sensitivity > b.sensitivity; });
  if (file.has("timing")) {
    const JsonFields timing = file.object("timing");
    r.seconds = timing.optional_number("seconds");
    r.sweep_seconds = timing.optional_number("sweep_seconds");
    r.naive_seconds = timing.optional_number("naive_seconds");
    r.naive_measured = timing.optional_boolean("naive_measured");
    r.speedup = timing.optional_number("speedup");
  }
  return r;
}

TradeoffInput parse_tradeoff(const nlohmann::json& json, const std::string& source) {
  require_kind(json, source, FileKind::kTradeoff);
  const JsonFields file(json, source, "partial-quantization file");
  check_format(file, "partq.partial_quant");
  TradeoffInput r;
  r.source = source;
  r.model = file.optional_string("model").value_or("");
  r.output = file.optional_string("output").value_or("");
  r.objective = file.optional_string("objective").value_or("");
  r.activations = file.optional_string("activations").value_or("");
  r.weights = file.optional_string("weights").value_or("");
  r.max_drop = file.optional_number("max_drop");
  r.float_layers_requested = file.optional_integer("float_layers_requested");
  if (file.has("selection")) {
    const JsonFields selection = file.object("selection");
    r.selection_metric = selection.optional_string("metric").value_or("");
    r.selection_count = selection.optional_integer("count");
  }
  // partial_quantize writes -1 when it measured nothing (layers picked by count without a selection set).
  if (auto float_map = file.optional_number("float_map"); float_map && *float_map >= 0)
    r.float_map = float_map;
  if (auto latency = file.optional_number("float_latency_ms"); latency && *latency > 0)
    r.float_latency_ms = latency;
  r.budget_met = file.optional_boolean("budget_met");
  r.total_layers = file.optional_integer("total_layers");
  if (auto cap = file.optional_integer("max_float_layers"); cap && *cap > 0) r.max_float_layers = cap;
  r.fallback = file.optional_string("fallback").value_or("");
  if (file.has("best")) r.best = step_from(file.object("best"), r.float_map, /*map_required=*/false);
  r.calibration_method = file.optional_string("calibration_method").value_or("");
  if (file.has("method_results"))
    for (const JsonFields& m : file.objects("method_results"))
      r.methods.push_back({.method = m.string("method"),
                           .float_layers = m.integer("float_layers"),
                           .map = m.number("map"),
                           .budget_met = m.optional_boolean("budget_met")});
  for (const JsonFields& s : file.objects("steps"))
    r.steps.push_back(step_from(s, r.float_map, /*map_required=*/true));
  if (!r.steps.empty() && !r.float_map)
    file.fail_key("float_map", "is missing or negative but the file has evaluated steps");
  r.chosen = step_from(file.object("chosen"), r.float_map, /*map_required=*/false);
  // The search path: the steps up to the first one that does not add a float layer.
  r.greedy_steps = r.steps.empty() ? 0 : 1;
  while (r.greedy_steps < r.steps.size() &&
         r.steps[r.greedy_steps].float_layers > r.steps[r.greedy_steps - 1].float_layers)
    ++r.greedy_steps;
  // The chosen configuration by its set of layers (several steps can share a count); the last match, as
  // partial_quantize picks it.
  const std::set<std::string> chosen = layer_set(r.chosen);
  for (size_t i = 0; i < r.steps.size(); ++i)
    if (layer_set(r.steps[i]) == chosen) r.chosen_step = i;
  if (file.has("warnings")) r.warnings = file.strings("warnings");
  return r;
}

EvalInput parse_eval(const nlohmann::json& json, const std::string& label, const std::string& source) {
  require_kind(json, source, FileKind::kEval);
  const JsonFields file(json, source, "eval result file");
  EvalInput r;
  r.label = label;
  r.source = source;
  r.model = file.optional_string("model").value_or("");
  r.map50_95 = file.number("mAP50_95");
  r.map50 = file.number("mAP50");
  r.images = file.optional_integer("images");
  return r;
}

BenchInput parse_bench(const nlohmann::json& json, const std::string& label, const std::string& source) {
  require_kind(json, source, FileKind::kBench);
  const JsonFields file(json, source, "bench result file");
  BenchInput r;
  r.label = label;
  r.source = source;
  r.model = file.optional_string("model").value_or("");
  r.batch = file.integer("batch");
  if (r.batch < 1) file.fail_key("batch", "must be at least 1");
  r.threads = file.optional_integer("threads");
  r.median_ms = file.number("median_ms");
  if (r.median_ms <= 0) file.fail_key("median_ms", "must be positive");
  r.p90_ms = file.optional_number("p90_ms");
  r.images_per_s = file.optional_number("images_per_s");
  if (file.has("warnings")) r.warnings = file.strings("warnings");
  return r;
}

LabeledFile parse_labeled_file(const std::string& argument, const std::string& flag) {
  const size_t eq = argument.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == argument.size())
    fail("{} '{}': expected LABEL=FILE (e.g. fp32=yolov5n.eval.json)", flag, argument);
  return {argument.substr(0, eq), argument.substr(eq + 1)};
}

}  // namespace partq::report

namespace partq {

using namespace report;

ReportInputs load_report_inputs(const ReportOptions& options) {
  ReportInputs in;
  if (!options.sensitivity.empty())
    in.sensitivity = parse_sensitivity(read_json_file(options.sensitivity), options.sensitivity);
  if (!options.tradeoff.empty())
    in.tradeoff = parse_tradeoff(read_json_file(options.tradeoff), options.tradeoff);
  for (const LabeledFile& f : options.evals) {
    for (const EvalInput& e : in.evals)
      if (e.label == f.label) fail("--eval: label '{}' given twice ({} and {})", f.label, e.source, f.path);
    in.evals.push_back(parse_eval(read_json_file(f.path), f.label, f.path));
  }
  for (const LabeledFile& f : options.benches)
    in.benches.push_back(parse_bench(read_json_file(f.path), f.label, f.path));
  if (!options.title.empty()) {
    in.title = options.title;
  } else {
    std::string model;
    if (in.sensitivity) model = in.sensitivity->model;
    if (model.empty() && in.tradeoff) model = in.tradeoff->model;
    for (const EvalInput& e : in.evals)
      if (model.empty()) model = e.model;
    const std::string stem = model.empty() ? "" : std::filesystem::path(model).stem().string();
    if (!stem.empty()) in.title = "partq report: " + stem;
  }
  return in;
}

}  // namespace partq
