// sensitivity_chart: the bars of the per-layer sensitivity; render_sensitivity_svg: them as an SVG file.
#include "sensitivity_chart.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "svg.hpp"

namespace partq::report {

std::string metric_name(const std::string& metric) {
  if (metric == "map") return "mAP50-95";
  if (metric == "pseudo-map") return "pseudo-mAP";
  if (metric == "sqnr") return "SQNR";
  return metric;
}

std::string sensitivity_direction(const SensitivityInput& s) {
  const std::string metric = metric_name(s.metric);
  return s.mode == "leave-one-out"
             ? metric + " regained when only this layer stays float (value \u2212 INT8 baseline)"
             : metric + " lost when only this layer is INT8 (float baseline \u2212 value)";
}

BarChartSpec sensitivity_chart(const SensitivityInput& s, const std::set<std::string>& float_layers,
                               bool partial) {
  const std::string metric = metric_name(s.metric);
  BarChartSpec chart{.aria_label = "per-layer sensitivity, most sensitive first",
                     .axis_label = "sensitivity (" + metric + ", higher = more sensitive)"};
  // One number of decimals for every bar: 3 significant digits for the largest |sensitivity|.
  double largest = 0;
  for (const SensitivityLayer& l : s.layers)
    largest = std::max(largest, std::fabs(l.sensitivity));
  const int decimals =
      largest > 0 ? std::clamp(2 - static_cast<int>(std::floor(std::log10(largest))), 0, 8) : 0;
  bool any_negative = false, any_float = false, any_int8 = false;
  for (const SensitivityLayer& l : s.layers) {
    const bool is_float = float_layers.count(l.name) > 0;
    std::string cls = is_float ? "bar-float" : l.sensitivity < 0 ? "bar-negative" : "bar-int8";
    any_float |= is_float;
    any_negative |= !is_float && l.sensitivity < 0;
    any_int8 |= !is_float && l.sensitivity >= 0;
    std::string tip = fmt::format("#{} {}", l.rank, l.name);
    if (!l.op_type.empty()) tip += " (" + l.op_type + (l.detail.empty() ? "" : " " + l.detail) + ")";
    tip += fmt::format("\nsensitivity {}, {} with this layer flipped {}", significant(l.sensitivity, 4),
                       metric, significant(l.value, 4));
    if (is_float) tip += "\nkept in float by the partial quantization";
    chart.bars.push_back({.label = l.name,
                          .value = l.sensitivity,
                          .value_text = fixed(l.sensitivity, decimals) + (is_float ? "  float" : ""),
                          .css_class = cls,
                          .tooltip = tip});
  }
  const char* quantized = partial ? "INT8" : "sensitivity";
  if (any_int8 || (!any_float && !any_negative)) chart.legend.push_back({"bar-int8", "box", quantized});
  if (any_float)
    chart.legend.push_back({"bar-float", "box", "kept in float (chosen by the partial quantization)"});
  if (any_negative) chart.legend.push_back({"bar-negative", "box", "negative: flipping it helps the metric"});
  return chart;
}

}  // namespace partq::report

namespace partq {

std::string render_sensitivity_svg(const report::SensitivityInput& s,
                                   const std::vector<std::string>& float_layers) {
  using namespace report;
  const std::set<std::string> floats(float_layers.begin(), float_layers.end());
  BarChartSpec chart = sensitivity_chart(s, floats, !floats.empty());
  const std::string model = s.model.empty() ? "" : std::filesystem::path(s.model).filename().string();
  chart.title = "Per-layer sensitivity" + (model.empty() ? std::string() : ": " + model);
  std::string subtitle = s.mode + ", " + metric_name(s.metric);
  if (s.image_count) subtitle += fmt::format(", {} images", *s.image_count);
  subtitle +=
      fmt::format(" (float {}, INT8 {})", significant(s.baseline_float, 4), significant(s.baseline_int8, 4));
  chart.subtitle = subtitle + ". Bar: " + sensitivity_direction(s);
  chart.standalone = true;
  return horizontal_bar_chart(chart);
}

}  // namespace partq
