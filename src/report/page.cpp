// render_report: the HTML page around the charts - header, the summary table, the trade-off and the
// sensitivity sections, and the inline style sheet.
#include "partq/error.hpp"
#include "partq/report.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <map>
#include <set>

#include "charts.hpp"
#include "sensitivity_chart.hpp"
#include "svg.hpp"

#ifndef PARTQ_VERSION
#define PARTQ_VERSION "dev"
#endif

namespace partq {

namespace {

using namespace report;

constexpr const char* kStyle = R"css(
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { margin: 0; background: #f4f5f7; color: #1f2328;
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", "DejaVu Sans", Arial, sans-serif; }
main { max-width: 1120px; margin: 0 auto; padding: 24px 20px 40px; }
header h1 { font-size: 26px; margin: 0 0 2px; }
h2 { font-size: 19px; margin: 0 0 6px; }
section { background: #fff; border: 1px solid #d8dee4; border-radius: 8px; padding: 18px 22px; margin: 18px 0; }
.meta { color: #57606a; font-size: 14px; margin: 2px 0 12px; }
.meta b { color: #1f2328; font-weight: 600; }
.note { color: #57606a; font-size: 13px; margin: 10px 0 0; }
code, .mono { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 0.9em; }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-size: 14px; font-variant-numeric: tabular-nums; }
th, td { padding: 6px 10px; border-bottom: 1px solid #e5e8eb; text-align: right; vertical-align: top; }
th:first-child, td:first-child { text-align: left; }
thead th { background: #f0f2f4; font-weight: 600; white-space: nowrap; vertical-align: bottom; }
thead th.group { text-align: center; border-bottom: 1px solid #c9d1d9; }
table.summary td:first-child { white-space: nowrap; }
td .sub { display: block; color: #6e7781; font-size: 12px; }
tr.chosen td { background: #fff3e0; }
td.layers { text-align: left; color: #3d444d; font-size: 12.5px; word-break: break-word; }
.badge { display: inline-block; background: #dd8452; color: #fff; border-radius: 4px; padding: 0 6px;
  margin-left: 6px; font-size: 11.5px; font-weight: 600; }
.good { color: #1a7f37; } .bad { color: #b42318; }
.charts { display: flex; flex-wrap: wrap; gap: 14px; margin-bottom: 14px; }
.charts figure { flex: 1 1 440px; min-width: 0; }
figure { margin: 0; }
svg.chart { display: block; width: 100%; height: auto; font-family: inherit; }
footer { color: #6e7781; font-size: 12.5px; text-align: center; margin-top: 24px; }
)css";

std::string file_name(const std::string& path) {
  return path.empty() ? "" : std::filesystem::path(path).filename().string();
}

std::string display_name(const std::string& label) {
  if (label == "fp32") return "FP32";
  if (label == "int8") return "full INT8";
  if (label == "partial") return "partial INT8";
  return label;
}

int label_rank(const std::string& label) {
  return label == "fp32" ? 0 : label == "int8" ? 1 : label == "partial" ? 2 : 3;
}

std::string join(const std::vector<std::string>& parts, const std::string& separator) {
  std::string out;
  for (const std::string& p : parts)
    out += (out.empty() ? "" : separator) + p;
  return out;
}

// "<b>k</b> v" items of a .meta line; values are escaped here, keys are literal.
std::string meta_line(const std::vector<std::pair<std::string, std::string>>& items) {
  std::vector<std::string> parts;
  for (const auto& [key, value] : items)
    parts.push_back(key.empty() ? escape(value) : escape(key) + " <b>" + escape(value) + "</b>");
  return "<p class=\"meta\">" + join(parts, " &middot; ") + "</p>\n";
}

// --- summary: FP32 / full INT8 / partial INT8 ---

std::string summary_section(const ReportInputs& in) {
  std::vector<std::string> labels;
  auto add_label = [&](const std::string& l) {
    if (std::find(labels.begin(), labels.end(), l) == labels.end()) labels.push_back(l);
  };
  for (const EvalInput& e : in.evals)
    add_label(e.label);
  for (const BenchInput& b : in.benches)
    add_label(b.label);
  std::stable_sort(labels.begin(), labels.end(),
                   [](const auto& a, const auto& b) { return label_rank(a) < label_rank(b); });

  std::map<std::string, const EvalInput*> evals;
  for (const EvalInput& e : in.evals)
    evals[e.label] = &e;
  std::map<std::pair<std::string, int64_t>, const BenchInput*> benches;
  std::set<int64_t> batches;
  for (const BenchInput& b : in.benches) {
    auto [it, added] = benches.emplace(std::pair{b.label, b.batch}, &b);
    if (!added)
      fail("--bench: label '{}' has two results for batch {} ({} and {})", b.label, b.batch,
           it->second->source, b.source);
    batches.insert(b.batch);
  }
  const EvalInput* fp32_eval = evals.count("fp32") ? evals["fp32"] : nullptr;

  std::string h = "<section id=\"summary\">\n<h2>Accuracy and speed</h2>\n";
  // Two header rows when there are latencies: "batch N" over its latency and speed-up columns.
  const std::string span = batches.empty() ? "" : " rowspan=\"2\"";
  h += "<div class=\"table-wrap\"><table class=\"summary\">\n<thead><tr><th" + span + ">model</th>";
  if (!evals.empty()) {
    h += "<th" + span + ">mAP50-95</th><th" + span + ">mAP50</th>";
    if (fp32_eval) h += "<th" + span + ">&Delta; mAP50-95<br>vs FP32</th>";
  }
  std::string second_row;
  for (int64_t batch : batches) {
    const bool speedup = benches.count({"fp32", batch}) > 0;
    h += fmt::format("<th class=\"group\" colspan=\"{}\">batch {}</th>", speedup ? 2 : 1, batch);
    second_row += fmt::format("<th title=\"latency per batch, batch {}\">latency (ms)</th>", batch);
    if (speedup)
      second_row += fmt::format("<th title=\"FP32 latency / latency, batch {}\">speed-up</th>", batch);
  }
  h += "</tr>\n";
  if (!second_row.empty()) h += "<tr>" + second_row + "</tr>\n";
  h += "</thead>\n<tbody>\n";
  for (const std::string& label : labels) {
    const EvalInput* e = evals.count(label) ? evals[label] : nullptr;
    std::string model = e ? e->model : "";
    for (int64_t batch : batches)
      if (model.empty() && benches.count({label, batch})) model = benches[{label, batch}]->model;
    h += "<tr><td><b>" + escape(display_name(label)) + "</b>";
    if (!model.empty()) h += "<span class=\"sub mono\">" + escape(file_name(model)) + "</span>";
    h += "</td>";
    if (!evals.empty()) {
      if (e) {
        h += fmt::format("<td>{}</td><td>{}</td>", fixed(e->map50_95, 4), fixed(e->map50, 4));
      } else {
        h += "<td>&ndash;</td><td>&ndash;</td>";
      }
      if (fp32_eval) {
        if (!e) {
          h += "<td>&ndash;</td>";
        } else {
          const double delta = e->map50_95 - fp32_eval->map50_95;
          const char* cls = delta < -0.0005 ? "bad" : "";
          h += fmt::format("<td class=\"{}\">{}{}</td>", cls, delta > 0 ? "+" : "", fixed(delta, 4));
        }
      }
    }
    for (int64_t batch : batches) {
      auto it = benches.find({label, batch});
      if (it == benches.end()) {
        h += "<td>&ndash;</td>";
      } else {
        const BenchInput& b = *it->second;
        std::vector<std::string> tip;
        if (b.p90_ms) tip.push_back("p90 " + fixed(*b.p90_ms, 2) + " ms");
        if (b.images_per_s) tip.push_back(fixed(*b.images_per_s, 1) + " images/s");
        if (b.threads) tip.push_back(std::to_string(*b.threads) + " threads");
        h += fmt::format("<td title=\"{}\">{}</td>", escape(join(tip, ", ")), fixed(b.median_ms, 2));
      }
      auto base = benches.find({"fp32", batch});
      if (base == benches.end()) continue;
      if (it == benches.end()) {
        h += "<td>&ndash;</td>";
      } else {
        const double speedup = base->second->median_ms / it->second->median_ms;
        h += fmt::format("<td class=\"{}\">{}&times;</td>", speedup >= 1.0 ? "good" : "", fixed(speedup, 2));
      }
    }
    h += "</tr>\n";
  }
  h += "</tbody></table></div>\n";
  std::vector<std::string> notes;
  if (!evals.empty()) {
    const EvalInput& any = *evals.begin()->second;
    notes.push_back("mAP from <code>partq eval</code>" +
                    (any.images ? fmt::format(" on {} images", *any.images) : std::string()));
  }
  if (!batches.empty()) notes.push_back("latency is the median per batch from <code>partq bench</code>");
  bool any_speedup = false;
  for (int64_t batch : batches)
    any_speedup |= benches.count({"fp32", batch}) > 0;
  if (any_speedup) notes.push_back("speed-up is FP32 latency / latency at the same batch size");
  h += "<p class=\"note\">" + join(notes, "; ") + ".</p>\n";
  // What the bench files warn of (an INT8 latency that is not INT8 speed), once per warning, with the
  // results it concerns.
  std::vector<std::pair<std::string, std::vector<std::string>>> warned;
  for (const BenchInput& b : in.benches)
    for (const std::string& w : b.warnings) {
      auto it = std::find_if(warned.begin(), warned.end(), [&](const auto& e) { return e.first == w; });
      if (it == warned.end()) it = warned.insert(warned.end(), {w, {}});
      it->second.push_back(fmt::format("{} batch {}", b.label, b.batch));
    }
  for (const auto& [warning, results] : warned)
    h += "<p class=\"note bad\">Latency of " + escape(join(results, ", ")) + ": " + escape(warning) +
         ".</p>\n";
  h += "</section>\n";
  return h;
}

// --- the partial-quantization trade-off ---

// What step `i` did: its note, or (a file without notes) the layers it adds and removes against the step
// before it.
std::string step_change(const TradeoffInput& t, size_t i) {
  const TradeoffStep& s = t.steps[i];
  if (!s.note.empty()) return s.note;
  if (i == 0) return s.layers.empty() ? "full INT8" : "float: " + join(s.layers, ", ");
  const std::vector<std::string>& before = t.steps[i - 1].layers;
  const auto has = [](const std::vector<std::string>& v, const std::string& x) {
    return std::find(v.begin(), v.end(), x) != v.end();
  };
  std::vector<std::string> parts;
  for (const std::string& l : s.layers)
    if (!has(before, l)) parts.push_back("add " + l);
  for (const std::string& l : before)
    if (!has(s.layers, l)) parts.push_back("remove " + l);
  return parts.empty() ? "(same layers)" : join(parts, ", ");
}

bool within_budget(const TradeoffInput& t, const TradeoffStep& s) {
  return t.max_drop && s.drop && *s.drop <= *t.max_drop;
}

std::string tradeoff_section(const ReportInputs& in) {
  const TradeoffInput& t = *in.tradeoff;
  const std::string metric = t.selection_metric == "pseudo-map" ? "pseudo-mAP" : "mAP";
  const std::optional<size_t> chosen = t.chosen_step;
  const TradeoffStep& chosen_step = chosen ? t.steps[*chosen] : t.chosen;
  const bool pruning = t.greedy_steps < t.steps.size();

  std::string h = "<section id=\"tradeoff\">\n<h2>Partial quantization trade-off</h2>\n";
  std::vector<std::pair<std::string, std::string>> meta;
  if (!t.objective.empty()) meta.push_back({"objective", t.objective});
  if (t.activations == "asymmetric")
    meta.push_back(
        {"activations", "asymmetric (uint8 with zero points: ONNX Runtime / OpenVINO, not TensorRT)"});
  else if (!t.activations.empty())
    meta.push_back({"activations", t.activations + " int8"});
  if (t.weights == "7-bit")
    meta.push_back({"weights", "7-bit, reduced range (INT8 convolutions run in s8 on CPUs without VNNI)"});
  else if (!t.weights.empty())
    meta.push_back({"weights", t.weights});
  if (t.max_drop) meta.push_back({"max drop", significant(*t.max_drop, 3)});
  if (t.float_layers_requested)
    meta.push_back({"float layers requested", std::to_string(*t.float_layers_requested)});
  if (t.selection_count) meta.push_back({"selection images", std::to_string(*t.selection_count)});
  if (t.float_map) meta.push_back({"float " + metric, fixed(*t.float_map, 4)});
  meta.push_back({"chosen", fmt::format("{}{} layers in float", t.chosen.float_layers,
                                        t.total_layers ? fmt::format(" of {}", *t.total_layers) : "")});
  if (chosen_step.map && chosen_step.drop)
    meta.push_back(
        {metric, fmt::format("{} (drop {})", fixed(*chosen_step.map, 4), fixed(*chosen_step.drop, 4))});
  if (chosen_step.latency_ms) meta.push_back({"latency", fixed(*chosen_step.latency_ms, 2) + " ms"});
  if (!t.output.empty()) meta.push_back({"output", file_name(t.output)});
  h += meta_line(meta);
  for (const std::string& w : t.warnings)
    h += "<p class=\"note bad\">" + escape(w) + ".</p>\n";
  if (t.methods.size() > 1) {
    // The charts and the table follow the chosen method only; say where the others' searches ended.
    std::vector<std::string> parts;
    for (const TradeoffMethod& m : t.methods)
      parts.push_back(fmt::format("{} {} with {} float layer{}{}{}", m.method, fixed(m.map, 4),
                                  m.float_layers, m.float_layers == 1 ? "" : "s",
                                  m.budget_met == true ? ", within budget" : "",
                                  m.method == t.calibration_method ? " (chosen)" : ""));
    h += "<p class=\"note\">Calibration methods searched, where each search ended (" + metric +
         " on the selection set): " + escape(join(parts, "; ")) +
         (t.calibration_method.empty() ? std::string()
                                       : ". The steps below are " + escape(t.calibration_method) + "'s") +
         ".</p>\n";
  }
  if (t.budget_met == false) {
    const std::string cap =
        t.max_float_layers ? fmt::format(" with at most {} float layers", *t.max_float_layers) : "";
    // --fallback within-noise may keep fewer float layers than the best configuration: say which it was.
    const bool fewer = t.fallback == "within-noise" && t.best && t.best->map &&
                       t.chosen.layers.size() < t.best->layers.size();
    const std::string which =
        fewer ? fmt::format(
                    "the chosen one has the fewest float layers within one standard error of the "
                    "best the search found ({} float layers, {} {})",
                    t.best->layers.size(), metric, fixed(*t.best->map, 4))
              : std::string("the chosen one is the best the search found") +
                    (t.max_float_layers ? " within that cap" : "");
    h += "<p class=\"note bad\">No configuration" + cap + " met the budget: " + escape(which) + ".</p>\n";
  }

  if (t.steps.empty()) {  // picked by count, nothing evaluated
    h += "<p class=\"note\">The layers were picked by count from the sensitivity ranking, without a "
         "selection set: no configuration was evaluated. Kept in float: <span class=\"mono\">" +
         escape(t.chosen.layers.empty() ? std::string("none") : join(t.chosen.layers, ", ")) +
         "</span>.</p>\n</section>\n";
    return h;
  }

  const auto tooltip = [&](size_t i) {
    const TradeoffStep& s = t.steps[i];
    std::string tip = fmt::format("step {}: {}\n{} float layers: {} {} (drop {})", i + 1, step_change(t, i),
                                  s.float_layers, metric, fixed(*s.map, 4), fixed(*s.drop, 4));
    if (s.latency_ms) tip += fmt::format(", {} ms", fixed(*s.latency_ms, 2));
    if (t.max_drop) tip += within_budget(t, s) ? ", within budget" : ", over budget";
    if (chosen && *chosen == i) tip += "\nchosen";
    return tip;
  };
  const std::string chosen_label = fmt::format("chosen: {}", t.chosen.float_layers);
  const std::string path_name = pruning || t.steps.size() > 1 ? "search" : "evaluated";
  // Pruning candidates within the budget were kept (the set shrinks along them); the others rejected.
  const std::string kept_name = "pruning: kept";
  const std::string rejected_name = t.max_drop ? "pruning: rejected" : "pruning candidate";
  const auto pruning_series = [&](const std::string& series, const auto& value_of) {
    report::PointSeries kept{
        .css_class = "p-" + series, .name = kept_name, .line_class = "pruned s-" + series};
    report::PointSeries rejected{.css_class = "p-rejected", .name = rejected_name};
    if (t.greedy_steps > 0)
      if (std::optional<double> v = value_of(t.steps[t.greedy_steps - 1]))
        kept.line_from = report::LinePoint{double(t.steps[t.greedy_steps - 1].float_layers), *v, ""};
    for (size_t i = t.greedy_steps; i < t.steps.size(); ++i) {
      const std::optional<double> v = value_of(t.steps[i]);
      if (!v) continue;
      (within_budget(t, t.steps[i]) ? kept : rejected)
          .points.push_back({double(t.steps[i].float_layers), *v, tooltip(i)});
    }
    return std::vector<report::PointSeries>{kept, rejected};
  };

  report::LineChartSpec map_chart{
      .aria_label = metric + " against the number of float layers",
      .x_label = "layers kept in float",
      .y_label = metric,
      .series_class = "s-map",
      .series_name = metric + ", " + path_name,
  };
  for (size_t i = 0; i < t.greedy_steps; ++i)
    map_chart.points.push_back({double(t.steps[i].float_layers), *t.steps[i].map, tooltip(i)});
  map_chart.point_series = pruning_series("map", [](const TradeoffStep& s) { return s.map; });
  if (t.float_map)
    map_chart.references.push_back(
        {*t.float_map, "float " + metric + " " + fixed(*t.float_map, 4), "reference"});
  if (t.float_map && t.max_drop)
    map_chart.references.push_back(
        {*t.float_map - *t.max_drop, "budget: drop " + significant(*t.max_drop, 3), "budget"});
  if (chosen_step.map) {
    map_chart.highlight = report::LinePoint{double(chosen_step.float_layers), *chosen_step.map,
                                            chosen ? tooltip(*chosen) : std::string("chosen")};
    map_chart.highlight_label = chosen_label;
    map_chart.highlight_legend = "chosen";
  }

  std::optional<int64_t> latency_batch;
  report::LineChartSpec latency_chart{
      .aria_label = "latency against the number of float layers",
      .x_label = "layers kept in float",
      .y_label = "latency per batch (ms)",
      .series_class = "s-latency",
      .series_name = "latency, " + path_name,
  };
  bool has_latency = false;
  for (size_t i = 0; i < t.steps.size(); ++i) {
    const TradeoffStep& s = t.steps[i];
    if (!s.latency_ms) continue;
    has_latency = true;
    if (s.batch) latency_batch = s.batch;
    if (i < t.greedy_steps)
      latency_chart.points.push_back({double(s.float_layers), *s.latency_ms, tooltip(i)});
  }
  latency_chart.point_series = pruning_series("latency", [](const TradeoffStep& s) { return s.latency_ms; });
  if (has_latency) {
    if (latency_batch) latency_chart.y_label = fmt::format("latency, batch {} (ms)", *latency_batch);
    // The float model timed with the steps; else an FP32 bench of the same batch size.
    if (t.float_latency_ms) {
      latency_chart.references.push_back(
          {*t.float_latency_ms, "float " + fixed(*t.float_latency_ms, 2) + " ms", "reference"});
    } else {
      for (const BenchInput& b : in.benches)
        if (b.label == "fp32" && b.batch == latency_batch.value_or(1))
          latency_chart.references.push_back(
              {b.median_ms, "FP32 bench " + fixed(b.median_ms, 2) + " ms", "reference"});
    }
    if (chosen_step.latency_ms) {
      latency_chart.highlight = report::LinePoint{double(chosen_step.float_layers), *chosen_step.latency_ms,
                                                  chosen ? tooltip(*chosen) : std::string("chosen")};
      latency_chart.highlight_label = chosen_label;
      latency_chart.highlight_legend = "chosen";
    }
  }
  h += "<div class=\"charts\">\n<figure>\n" + report::line_chart(map_chart) + "</figure>\n";
  if (has_latency) h += "<figure>\n" + report::line_chart(latency_chart) + "</figure>\n";
  h += "</div>\n";

  std::vector<std::string> notes;
  if (t.greedy_steps > 1)
    notes.push_back(
        "Solid line: the search in the order it ran, from full INT8 keeping the next most sensitive layer in "
        "float until the drop is within the budget");
  if (pruning)
    notes.push_back(
        "rings: the pruning that follows, each layer of the set put back to INT8 in turn (least sensitive "
        "first); a candidate within the budget is kept and the set shrinks along the dashed line, one over "
        "it is rejected (grey). Several configurations can share a number of float layers");
  notes.push_back("the large dot is the chosen configuration");
  if (has_latency && t.float_latency_ms)
    notes.push_back("the red dashed latency is the float model, timed with the steps");
  std::string text = join(notes, "; ");
  text[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(text[0])));
  h += "<p class=\"note\">" + text + ".</p>\n";

  h += "<div class=\"table-wrap\"><table class=\"steps\">\n<thead><tr><th>step</th>"
       "<th style=\"text-align:left\">change</th><th>float layers</th><th>" +
       escape(metric) + "</th><th>drop</th>";
  if (has_latency) h += "<th>latency (ms)</th>";
  if (t.max_drop) h += "<th>budget</th>";
  h += "</tr></thead>\n<tbody>\n";
  for (size_t i = 0; i < t.steps.size(); ++i) {
    const TradeoffStep& s = t.steps[i];
    const bool is_chosen = chosen && *chosen == i;
    h += is_chosen ? "<tr class=\"chosen\">" : "<tr>";
    h += fmt::format("<td>{}{}</td><td class=\"layers mono\">{}</td><td>{}</td><td>{}</td><td>{}</td>", i + 1,
                     is_chosen ? "<span class=\"badge\">chosen</span>" : "", escape(step_change(t, i)),
                     s.float_layers, fixed(*s.map, 4), fixed(*s.drop, 4));
    if (has_latency)
      h += "<td>" + (s.latency_ms ? fixed(*s.latency_ms, 2) : std::string("&ndash;")) + "</td>";
    if (t.max_drop)
      h += within_budget(t, s) ? "<td class=\"good\">within</td>" : "<td class=\"bad\">over</td>";
    h += "</tr>\n";
  }
  h += "</tbody></table></div>\n";
  if (!chosen)
    h += "<p class=\"note\">The chosen configuration (" + escape(join(t.chosen.layers, ", ")) +
         ") is not one of the rows above.</p>\n";
  h += "</section>\n";
  return h;
}

// --- per-layer sensitivity ---

std::string sensitivity_section(const ReportInputs& in) {
  const SensitivityInput& s = *in.sensitivity;
  std::set<std::string> float_layers;
  if (in.tradeoff) float_layers.insert(in.tradeoff->chosen.layers.begin(), in.tradeoff->chosen.layers.end());
  const std::string metric = metric_name(s.metric);

  std::string h = "<section id=\"sensitivity\">\n<h2>Per-layer sensitivity</h2>\n";
  std::vector<std::pair<std::string, std::string>> meta{{"mode", s.mode}, {"metric", metric}};
  if (s.image_count) meta.push_back({"images", std::to_string(*s.image_count)});
  if (!s.calibration_method.empty()) meta.push_back({"calibration", s.calibration_method});
  meta.push_back({"baseline float", significant(s.baseline_float, 4)});
  meta.push_back({"baseline INT8", significant(s.baseline_int8, 4)});
  meta.push_back({"layers", std::to_string(s.layers.size())});
  // The per-layer sweep against the naive one (one full forward pass per layer): the comparable pair. Older
  // files have only the whole analysis.
  const std::optional<double> sweep = s.sweep_seconds ? s.sweep_seconds : s.seconds;
  if (sweep) {
    std::string text = significant(*sweep, 3) + " s";
    if (s.naive_seconds && *sweep > 0) {
      const char* how = !s.naive_measured ? "" : *s.naive_measured ? "measured, " : "estimated, ";
      text += fmt::format(" vs naive {} s ({}{}\u00d7 faster)", significant(*s.naive_seconds, 3), how,
                          significant(*s.naive_seconds / *sweep, 3));
    }
    meta.push_back({s.sweep_seconds ? "sweep" : "analysis", text});
  }
  if (s.sweep_seconds && s.seconds) meta.push_back({"whole analysis", significant(*s.seconds, 3) + " s"});
  h += meta_line(meta);

  if (s.layers.empty()) {
    h += "<p class=\"note\">The sensitivity file lists no layers.</p>\n";
  } else {
    h += "<figure>\n" +
         report::horizontal_bar_chart(sensitivity_chart(s, float_layers, in.tradeoff.has_value())) +
         "</figure>\n";
  }
  h += "<p class=\"note\">Sensitivity: " + escape(sensitivity_direction(s)) +
       ". Hover a bar for its op and value.</p>\n</section>\n";
  return h;
}

}  // namespace

std::string render_report(const ReportInputs& in) {
  if (in.empty())
    fail(
        "report: nothing to show: give at least one of --sensitivity, --tradeoff, --eval LABEL=FILE, --bench "
        "LABEL=FILE");
  std::vector<std::string> sources;
  if (in.sensitivity) sources.push_back(file_name(in.sensitivity->source));
  if (in.tradeoff) sources.push_back(file_name(in.tradeoff->source));
  for (const EvalInput& e : in.evals)
    sources.push_back(e.label + "=" + file_name(e.source));
  for (const BenchInput& b : in.benches)
    sources.push_back(b.label + "=" + file_name(b.source));

  std::string h;
  h += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  h += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  h += "<title>" + escape(in.title) + "</title>\n<style>" + kStyle + chart_style() +
       "</style>\n</head>\n<body>\n<main>\n";
  h += "<header>\n<h1>" + escape(in.title) + "</h1>\n";
  h += "<p class=\"meta\">inputs: <span class=\"mono\">" + escape(join(sources, ", ")) + "</span></p>\n";
  h += "</header>\n";
  if (!in.evals.empty() || !in.benches.empty()) h += summary_section(in);
  if (in.tradeoff) h += tradeoff_section(in);
  if (in.sensitivity) h += sensitivity_section(in);
  h += "<footer>partq " PARTQ_VERSION
       " &middot; <code>partq report</code> &middot; a self-contained page: no "
       "scripts, no external resources</footer>\n";
  h += "</main>\n</body>\n</html>\n";
  return h;
}

}  // namespace partq
