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

std::string horizontal_bar_chart(const BarChartSpec& spec) {
  constexpr double kWidth = 1000, kRow = 20, kBar = 13, kMaxLabel = 330, kRight = 96;
  double label_width = 40;
  for (const Bar& b : spec.bars)
    label_width = std::max(label_width, std::min(kMaxLabel, text_width(b.label, kFont)));
  const double x0 = 16 + label_width + 10, x1 = kWidth - kRight;
  const int rows = legend_rows(spec.legend, x0, kWidth - 10);
  const double top_ticks = 18 + 20.0 * rows + 8;  // baseline of the upper tick labels
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

  SvgWriter svg(kWidth, height, spec.aria_label);
  draw_legend(svg, spec.legend, x0, kWidth - 10, 18);
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

  for (const ReferenceLine& r : spec.references) {
    svg.line(x0, sy(r.y), x1, sy(r.y), r.css_class);
    svg.text(x1 - 4, sy(r.y) - 5, r.label, "end", "ref-label");
  }
  std::vector<std::pair<double, double>> coords;
  for (const LinePoint& p : spec.points)
    coords.emplace_back(sx(p.x), sy(p.y));
  if (coords.size() > 1) svg.polyline(coords, spec.series_class + " series");
  for (const LinePoint& p : spec.points)
    svg.circle(sx(p.x), sy(p.y), 3.5, "dot " + spec.series_class, p.tooltip);
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
