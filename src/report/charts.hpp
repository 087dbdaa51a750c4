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
  std::string title{};     // drawn above the legend when not empty (standalone charts)
  std::string subtitle{};  // a grey line under the title
  // A standalone SVG document: width / height attributes, chart_style() and standalone_style() in a <style>
  // element, a white background. Otherwise the chart is meant for a page whose style sheet has chart_style().
  bool standalone = false;
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

struct PointSeries {  // points drawn as rings, optionally joined by a line
  std::string css_class{};
  std::string name{};  // legend text
  std::vector<LinePoint> points{};
  std::string line_class{};              // not empty: a line through `line_from` and the points, in order
  std::optional<LinePoint> line_from{};  // where that line starts (no ring is drawn there)
};

struct LineChartSpec {
  std::string aria_label{};
  std::string x_label{};
  std::string y_label{};
  std::string series_class{};  // colour of the line and its dots
  std::string series_name{};   // legend text
  std::vector<LinePoint> points{};
  std::vector<PointSeries> point_series{};  // drawn over the line, under the highlight
  std::vector<ReferenceLine> references{};
  std::optional<LinePoint> highlight{};  // drawn as a large dot with `highlight_label` beside it
  std::string highlight_label{};
  std::string highlight_legend{};
};
std::string line_chart(const LineChartSpec& spec);

// The CSS rules of the chart classes (colours, strokes, text sizes), all scoped under `svg`: the page
// embeds them in its style sheet, a standalone chart in its <style> element.
const char* chart_style();
// What a standalone chart needs beyond chart_style(): its font and background.
const char* standalone_style();

}  // namespace partq::report
