// The report's two chart kinds, drawn as inline SVG: a horizontal bar chart (per-layer sensitivity) and a
// line chart against an integer x axis (the partial-quantization trade-off). Internal to partq_report.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace partq::report {

struct LegendEntry {
  std::string css_class{};  // the swatch's class (colour)
  std::string shape{};      // "box" | "line" | "dashed" | "dot"
  std::string text{};
};

struct Bar {
  std::string label{};  // drawn left of the axis (shortened with "..." if very long; full in the tooltip)
  double value = 0;
  std::string value_text{};  // drawn beside the bar
  std::string css_class{};
  std::string tooltip{};
};

struct BarChartSpec {
  std::string aria_label{};
  std::string axis_label{};
  std::vector<Bar> bars{};  // drawn top to bottom in this order
  std::vector<LegendEntry> legend{};
};
std::string horizontal_bar_chart(const BarChartSpec& spec);

struct LinePoint {
  double x = 0;
  double y = 0;
  std::string tooltip{};
};

struct ReferenceLine {  // a horizontal line across the plot, labelled at its right end
  double y = 0;
  std::string label{};
  std::string css_class{};
};

struct LineChartSpec {
  std::string aria_label{};
  std::string x_label{};
  std::string y_label{};
  std::string series_class{};  // colour of the line and its dots
  std::string series_name{};   // legend text
  std::vector<LinePoint> points{};
  std::vector<ReferenceLine> references{};
  std::optional<LinePoint> highlight{};  // drawn as a large dot with `highlight_label` beside it
  std::string highlight_label{};
  std::string highlight_legend{};
};
std::string line_chart(const LineChartSpec& spec);

}  // namespace partq::report
