// `partq report`: one self-contained HTML page (inline CSS + SVG, no script, no external resource) that a
// person reads to decide on a quantized model: the per-layer sensitivity chart, the partial-quantization
// trade-off (mAP and latency against the number of float layers) and the FP32 / full INT8 / partial INT8
// summary table.
//
//   partq::ReportInputs in{.title = "yolov5n"};
//   in.sensitivity = partq::report::parse_sensitivity(partq::read_json_file(path), path);
//   in.evals.push_back(partq::report::parse_eval(json, "fp32", path));
//   std::string html = partq::render_report(in);   // partq::Error if `in` has nothing to show
//   std::string svg = partq::render_sensitivity_svg(*in.sensitivity);  // the bar chart as an SVG file
//
// Every input file is read into a small struct first: a missing or mistyped key is a partq::Error naming the
// file and the key, so rendering never meets a half-valid document. Every text from a file is HTML-escaped.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace partq {

// --- the inputs, as read from the JSON files (only what the page shows) ---
// (in partq::report: partq itself has a SensitivityReport, the result of the sweep)
namespace report {

struct SensitivityLayer {
  std::string name;
  std::string op_type;     // "" when the file has none
  std::string detail;      // e.g. "6x6 s2 3->16 g1"; "" when the file has none
  double value = 0;        // the metric with this layer flipped
  double sensitivity = 0;  // > 0: sensitive
  int64_t rank = 0;
};

struct SensitivityInput {  // a partq.sensitivity file
  std::string source;      // the file it was read from (for messages and the page)
  std::string model;
  std::string mode;    // "enable-one" | "leave-one-out"
  std::string metric;  // "map" | "pseudo-map" | "sqnr" | "cosine"
  std::string calibration_method;
  std::optional<int64_t> image_count;
  double baseline_float = 0;
  double baseline_int8 = 0;
  std::vector<SensitivityLayer> layers;  // most sensitive first (sorted again on reading)
  // timing.*, when the file has it: the whole analysis (image loading, baselines, sweep), the per-layer sweep
  // alone, and the naive sweep (one full forward pass per layer; comparable to sweep_seconds), measured
  // (--compare-naive) or estimated from timed full passes.
  std::optional<double> seconds;
  std::optional<double> sweep_seconds;
  std::optional<double> naive_seconds;
  std::optional<bool> naive_measured;
  std::optional<double> speedup;  // naive_seconds / sweep_seconds as the file gives it
};

struct TradeoffStep {
  int64_t float_layers = 0;
  std::vector<std::string> layers;  // the layers kept in float at this step
  std::string note;            // "full INT8", "add X", "remove X", "requested"; "" when the file has none
  std::optional<double> map;   // the selection-set metric; absent: not evaluated (steps[] always are)
  std::optional<double> drop;  // float_map - map
  std::optional<double> latency_ms;  // per batch
  std::optional<int64_t> batch;
};

struct TradeoffMethod {  // where one calibration method's search ended (--try-methods)
  std::string method;
  int64_t float_layers = 0;
  double map = 0;
  std::optional<bool> budget_met;
};

struct TradeoffInput {  // a partq.partial_quant file
  std::string source;
  std::string model;
  std::string output;
  std::string objective;    // "accuracy" | "balanced"
  std::string activations;  // "symmetric" | "asymmetric"; "" if absent
  std::string weights;      // "8-bit" | "7-bit" (reduced range); "" if absent
  std::optional<double> max_drop;
  std::optional<int64_t> float_layers_requested;
  std::string selection_metric;  // "map" | "pseudo-map"; "" if absent
  std::optional<int64_t> selection_count;
  std::optional<double> float_map;         // absent when there was no selection set (file: -1 or null)
  std::optional<double> float_latency_ms;  // the float model per batch, timed with the steps
  std::optional<bool> budget_met;
  std::optional<int64_t> total_layers;
  std::optional<int64_t> max_float_layers;  // the search's cap (absent in files written before it existed)
  // When no configuration met the budget: the rule that picked `chosen` ("within-noise" | "best") and the
  // configuration with the best selection metric (within-noise may choose fewer float layers than it).
  std::string fallback;
  std::optional<TradeoffStep> best;
  std::string calibration_method;  // the chosen method; "" if absent
  // Every method searched, when there were several; the steps are the chosen method's only.
  std::vector<TradeoffMethod> methods;
  // In evaluation order (as in the file): with a budget, the greedy "add" steps (the float-layer count grows
  // by one each), then the "remove" pruning candidates, which can repeat a count or go below it. Empty when
  // the layers were picked by count without a selection set.
  std::vector<TradeoffStep> steps;
  TradeoffStep chosen;
  std::optional<size_t> chosen_step;  // the step with the same set of layers as `chosen`, if any
  // Steps [0, greedy_steps) are the search path (strictly increasing float-layer count); the rest are
  // pruning candidates.
  size_t greedy_steps = 0;
  std::vector<std::string> warnings;  // the file's, e.g. that its latencies are not INT8 speed
};

struct EvalInput {    // a `partq eval --json` file under a label
  std::string label;  // "fp32", "int8", "partial", or anything the user chose
  std::string source;
  std::string model;
  double map50_95 = 0;
  double map50 = 0;
  std::optional<int64_t> images;
};

struct BenchInput {  // a `partq bench --json` file under a label
  std::string label;
  std::string source;
  std::string model;
  int64_t batch = 1;
  std::optional<int64_t> threads;
  double median_ms = 0;  // per batch
  std::optional<double> p90_ms;
  std::optional<double> images_per_s;
  std::vector<std::string> warnings;  // the file's, e.g. that this latency is not INT8 speed
};

// Parsers: `source` names the file in every error ("S.json: sensitivity file has no 'baseline.float'").
SensitivityInput parse_sensitivity(const nlohmann::json& json, const std::string& source);
TradeoffInput parse_tradeoff(const nlohmann::json& json, const std::string& source);
EvalInput parse_eval(const nlohmann::json& json, const std::string& label, const std::string& source);
BenchInput parse_bench(const nlohmann::json& json, const std::string& label, const std::string& source);

struct LabeledFile {
  std::string label{};
  std::string path{};
};
// "LABEL=FILE" -> {LABEL, FILE}; partq::Error naming `flag` when there is no '=' or either side is empty.
LabeledFile parse_labeled_file(const std::string& argument, const std::string& flag);

}  // namespace report

struct ReportInputs {
  std::string title = "partq report";
  std::optional<report::SensitivityInput> sensitivity{};
  std::optional<report::TradeoffInput> tradeoff{};
  std::vector<report::EvalInput> evals{};
  std::vector<report::BenchInput> benches{};
  bool empty() const { return !sensitivity && !tradeoff && evals.empty() && benches.empty(); }
};

// The whole page. partq::Error if `inputs` is empty, or two bench files share a label and a batch size.
// Sections without input are left out. Deterministic: the same inputs give the same bytes.
std::string render_report(const ReportInputs& inputs);

// The page's per-layer sensitivity bar chart as a standalone SVG document: xmlns, width and height, its own
// <style> (colours and fonts work outside the page), a white background and a title naming the model, mode
// and metric. `float_layers` are drawn as kept in float (e.g. the chosen layers of a partial quantization).
std::string render_sensitivity_svg(const report::SensitivityInput& sensitivity,
                                   const std::vector<std::string>& float_layers = {});

// --- the command ---

struct ReportOptions {
  std::string output{};       // the .html file (written atomically)
  std::string sensitivity{};  // partq.sensitivity JSON, or ""
  std::string tradeoff{};     // partq.partial_quant JSON, or ""
  std::vector<report::LabeledFile> evals{};
  std::vector<report::LabeledFile> benches{};
  std::string title{};  // "" -> derived from the model names in the inputs
};

struct ReportSummary {
  std::string output{};
  std::string title{};
  std::vector<std::string> sections{};  // "summary", "sensitivity", "tradeoff" - those the page has
  int64_t bytes = 0;
};

// Reads every file of `options` (partq::Error naming the file and the key on a bad one).
ReportInputs load_report_inputs(const ReportOptions& options);
// load_report_inputs + render_report + atomic write of options.output.
ReportSummary write_report(const ReportOptions& options);
nlohmann::json to_json(const ReportSummary& summary);

}  // namespace partq
