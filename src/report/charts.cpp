#include "charts.hpp"

#include <algorithm>
#include <cmath>

#include "svg.hpp"

namespace partq::report {

namespace {

constexpr double kFont = 12;

// Shortens `text` to at most `max_width` pixels, ending in "...".
std::string fit_text(const std::string& text, double max_width) {
  if (text_width(text, kFont) <= max_width) return text;
  std::string out = text;
  while (!out.empty() && text_width(out + "...", kFont) > max_width) {
    out.pop_back();
    while (!out.empty() && (static_cast<unsigned char>(out.back()) & 0xC0) == 0x80)
      out.pop_back();
    if (!out.empty() && (static_cast<unsigned char>(out.back()) & 0xC0) == 0xC0) out.pop_back();
  }
  return out + "...";
}

// Number of legend rows when the entries are laid out from x0 and wrapped at x1.
int legend_rows(const std::vector<LegendEntry>& legend, double x0, double x1) {
  int rows = legend.empty() ? 0 : 1;
  double x = x0;
  for (const LegendEntry& e : legend) {
    const double w = 34 + text_width(e.text, kFont);
    if (x + w > x1 && x > x0) {
      ++rows;
      x = x0;
    }
    x += w;
  }
  return rows;
}

void draw_legend(SvgWriter& svg, const std::vector<LegendEntry>& legend, double x0, double x1, double y) {
  double x = x0;
  for (const LegendEntry& e : legend) {
    const double w = 34 + text_width(e.text, kFont);
    if (x + w > x1 && x > x0) {
      y += 20;
      x = x0;
    }
    svg.legend_item(x, y, e.css_class, e.shape, e.text);
    x += w;
  }
}

}  // namespace

const char* chart_style() {
  return R"css(
svg text { font-size: 12px; fill: #1f2328; }
svg .title { font-size: 17px; font-weight: 600; }
svg .subtitle { font-size: 12.5px; fill: #57606a; }
svg .tick { fill: #57606a; font-size: 11px; }
svg .value { fill: #3d444d; font-size: 11px; }
svg .axis-label { font-size: 12.5px; font-weight: 600; }
svg .legend { font-size: 12px; }
svg .grid { stroke: #e6e9ec; stroke-width: 1; }
svg .axis { stroke: #6e7781; stroke-width: 1.2; }
svg .stripe { fill: #f6f8fa; }
svg .bar-int8 { fill: #4c72b0; }
svg .bar-float { fill: #dd8452; }
svg .bar-negative { fill: #9aa4ae; }
svg .series { fill: none; stroke-width: 2.2; stroke-linejoin: round; }
svg line.s-map, svg line.s-latency { stroke-width: 2.5; }
svg .s-map { stroke: #4c72b0; } svg circle.s-map { fill: #4c72b0; stroke: none; }
svg .s-latency { stroke: #55a868; } svg circle.s-latency { fill: #55a868; stroke: none; }
svg .p-map { fill: #fff; stroke: #4c72b0; stroke-width: 1.8; }
svg .p-latency { fill: #fff; stroke: #55a868; stroke-width: 1.8; }
svg .p-rejected { fill: #fff; stroke: #8c959f; stroke-width: 1.6; }
svg .pruned { fill: none; stroke-width: 1.6; stroke-dasharray: 5 3; }
svg .reference { stroke: #c44e52; stroke-width: 1.6; stroke-dasharray: 7 4; }
svg .budget { stroke: #8172b3; stroke-width: 1.4; stroke-dasharray: 3 3; }
svg .ref-label { font-size: 11px; fill: #3d444d; }
svg .highlight { fill: #dd8452; stroke: #fff; stroke-width: 2; }
svg .highlight-label { font-size: 12px; font-weight: 600; fill: #a0522d; }
)css";
}

const char* standalone_style() {
  return R"css(svg.chart { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue",
  "DejaVu Sans", Arial, sans-serif; background: #fff; }
svg .background { fill: #fff; }
)css";
}

std::string horizontal_bar_chart(const BarChartSpec& spec) {
  constexpr double kWidth = 1000, kRow = 20, kBar = 13, kMaxLabel = 330, kRight = 96;
  double label_width = 40;
  for (const Bar& b : spec.bars)
    label_width = std::max(label_width, std::min(kMaxLabel, text_width(b.label, kFont)));
  const double x0 = 16 + label_width + 10, x1 = kWidth - kRight;
  const int rows = legend_rows(spec.legend, x0, kWidth - 10);
  // Title and subtitle lines above the legend.
  const double heading = (spec.title.empty() ? 0.0 : 30.0) + (spec.subtitle.empty() ? 0.0 : 20.0);
  const double legend_y = heading + 18;
  const double top_ticks = legend_y + 20.0 * rows + 8;  // baseline of the upper tick labels
  const double y0 = top_ticks + 8;
  const double y1 = y0 + kRow * static_cast<double>(spec.bars.size());
  const double height = y1 + 52;

  double lo = 0, hi = 0;
  for (const Bar& b : spec.bars) {
    lo = std::min(lo, b.value);
    hi = std::max(hi, b.value);
  }
  const Ticks ticks = nice_ticks(lo, hi, 6);
  const LinearScale sx{ticks.lo, ticks.hi, x0, x1};

  SvgWriter svg(kWidth, height, spec.aria_label, "chart",
                spec.standalone ? std::string(chart_style()) + standalone_style() : std::string());
  if (!spec.title.empty()) svg.text(16, 26, fit_text(spec.title, (kWidth - 32) * 0.75), "start", "title");
  if (!spec.subtitle.empty())
    svg.text(16, spec.title.empty() ? 22 : 48, fit_text(spec.subtitle, kWidth - 32), "start", "subtitle");
  draw_legend(svg, spec.legend, x0, kWidth - 10, legend_y);
  for (size_t i = 0; i < spec.bars.size(); i += 2)
    svg.rect(8, y0 + kRow * static_cast<double>(i), kWidth - 16, kRow, "stripe");
  for (double t : ticks.values) {
    svg.line(sx(t), y0, sx(t), y1, t == 0 ? "axis" : "grid");
    svg.text(sx(t), top_ticks, ticks.label(t), "middle", "tick");
    svg.text(sx(t), y1 + 16, ticks.label(t), "middle", "tick");
  }
  svg.line(x0, y1, x1, y1, "axis");
  for (size_t i = 0; i < spec.bars.size(); ++i) {
    const Bar& b = spec.bars[i];
    const double top = y0 + kRow * static_cast<double>(i);
    const double baseline = top + kRow / 2 + 4;
    svg.text(x0 - 10, baseline, fit_text(b.label, kMaxLabel), "end", "bar-label", 0, b.tooltip);
    double left = std::min(sx(0), sx(b.value)), width = std::fabs(sx(b.value) - sx(0));
    if (b.value != 0 && width < 1.5) width = 1.5;
    svg.rect(left, top + (kRow - kBar) / 2, width, kBar, b.css_class, b.tooltip);
    svg.text((b.value >= 0 ? sx(b.value) : sx(0)) + 5, baseline, b.value_text, "start", "value");
  }
  svg.text((x0 + x1) / 2, y1 + 38, spec.axis_label, "middle", "axis-label");
  return svg.finish();
}

std::string line_chart(const LineChartSpec& spec) {
  constexpr double kWidth = 520, kLeft = 66, kRight = 22;
  const double x0 = kLeft, x1 = kWidth - kRight;

  std::vector<LegendEntry> legend{{spec.series_class, "line", spec.series_name}};
  for (const ReferenceLine& r : spec.references)
    legend.push_back({r.css_class, "dashed", r.label});
  for (const PointSeries& series : spec.point_series)
    if (!series.points.empty()) legend.push_back({series.css_class, "dot", series.name});
  if (spec.highlight) legend.push_back({"highlight", "dot", spec.highlight_legend});
  const int rows = legend_rows(legend, 12, kWidth - 8);
  const double y0 = 18 + 20.0 * rows + 14, y1 = y0 + 230;
  const double height = y1 + 50;

  double xmin = 0, xmax = 1, ymin = 0, ymax = 0;
  bool first = true;
  auto extend_y = [&](double y) {
    ymin = first ? y : std::min(ymin, y);
    ymax = first ? y : std::max(ymax, y);
    first = false;
  };
  std::vector<LinePoint> all = spec.points;
  for (const PointSeries& series : spec.point_series)
    all.insert(all.end(), series.points.begin(), series.points.end());
  if (spec.highlight) all.push_back(*spec.highlight);
  for (const LinePoint& p : all) {
    xmin = std::min(xmin, p.x);
    xmax = std::max(xmax, p.x);
    extend_y(p.y);
  }
  for (const ReferenceLine& r : spec.references)
    extend_y(r.y);
  const double pad = (ymax - ymin) * 0.08;
  const Ticks xt = nice_ticks(xmin, xmax, 6, /*integer=*/true);
  const Ticks yt = nice_ticks(ymin - pad, ymax + pad, 5);
  const LinearScale sx{xt.lo, xt.hi, x0, x1};
  const LinearScale sy{yt.lo, yt.hi, y1, y0};

  SvgWriter svg(kWidth, height, spec.aria_label);
  draw_legend(svg, legend, 12, kWidth - 8, 18);
  for (double t : yt.values) {
    svg.line(x0, sy(t), x1, sy(t), "grid");
    svg.line(x0 - 5, sy(t), x0, sy(t), "axis");
    svg.text(x0 - 8, sy(t) + 4, yt.label(t), "end", "tick");
  }
  for (double t : xt.values) {
    svg.line(sx(t), y1, sx(t), y1 + 5, "axis");
    svg.text(sx(t), y1 + 18, xt.label(t), "middle", "tick");
  }
  svg.line(x0, y0, x0, y1, "axis");
  svg.line(x0, y1, x1, y1, "axis");
  svg.text((x0 + x1) / 2, y1 + 40, spec.x_label, "middle", "axis-label");
  svg.text(16, (y0 + y1) / 2, spec.y_label, "middle", "axis-label", -90);

  // Labels at the left end (the series usually ends at the right, where the chosen point is), above the
  // line; below it when another reference lies just above.
  for (const ReferenceLine& r : spec.references) {
    svg.line(x0, sy(r.y), x1, sy(r.y), r.css_class);
    bool crowded = false;
    for (const ReferenceLine& other : spec.references)
      crowded |=
          (sy(other.y) < sy(r.y) || (sy(other.y) == sy(r.y) && &other < &r)) && sy(r.y) - sy(other.y) < 16;
    svg.text(x0 + 6, crowded ? sy(r.y) + 14 : sy(r.y) - 5, r.label, "start", "ref-label");
  }
  std::vector<std::pair<double, double>> coords;
  for (const LinePoint& p : spec.points)
    coords.emplace_back(sx(p.x), sy(p.y));
  if (coords.size() > 1) svg.polyline(coords, spec.series_class + " series");
  for (const LinePoint& p : spec.points)
    svg.circle(sx(p.x), sy(p.y), 3.5, "dot " + spec.series_class, p.tooltip);
  for (const PointSeries& series : spec.point_series) {
    if (series.line_class.empty() || series.points.empty()) continue;
    std::vector<std::pair<double, double>> joined;
    if (series.line_from) joined.emplace_back(sx(series.line_from->x), sy(series.line_from->y));
    for (const LinePoint& p : series.points)
      joined.emplace_back(sx(p.x), sy(p.y));
    if (joined.size() > 1) svg.polyline(joined, series.line_class);
  }
  for (const PointSeries& series : spec.point_series)
    for (const LinePoint& p : series.points)
      svg.circle(sx(p.x), sy(p.y), 4.5, series.css_class, p.tooltip);
  if (spec.highlight) {
    const double hx = sx(spec.highlight->x), hy = sy(spec.highlight->y);
    svg.circle(hx, hy, 7, "highlight", spec.highlight->tooltip);
    // Above the point, or below it when the point is near the top; towards the middle of the plot.
    const double ty = hy - y0 < 24 ? hy + 22 : hy - 12;
    svg.text(hx + (hx > (x0 + x1) / 2 ? -10 : 10), ty, spec.highlight_label,
             hx > (x0 + x1) / 2 ? "end" : "start", "highlight-label");
  }
  return svg.finish();
}

}  // namespace partq::report
