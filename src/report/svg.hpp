// The low-level pieces of the report's pages: HTML escaping, number formatting, "nice" axis ticks and a
// small SVG element writer. Internal to partq_report.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace partq::report {

// Escapes & < > " ' so that `text` is safe both as element content and inside a quoted attribute.
std::string escape(std::string_view text);

// "0.3047" for (0.30470001, 4); never "-0".
std::string fixed(double value, int decimals);
// Up to `digits` significant digits, no trailing zeros: 0.0037 -> "0.0037", 41.234 -> "41.2" (3).
std::string significant(double value, int digits = 3);

// Axis ticks over at least [lo, hi]: a 1/2/5 x 10^k step giving about `target` intervals; the axis bounds
// (first / last tick) enclose [lo, hi]. `integer` keeps the step >= 1 (counts on the axis).
struct Ticks {
  double lo = 0;
  double hi = 1;
  double step = 1;
  int decimals = 0;  // enough to tell the ticks apart
  std::vector<double> values;
  std::string label(double value) const { return fixed(value, decimals); }
};
Ticks nice_ticks(double lo, double hi, int target = 5, bool integer = false);

// Maps [d0, d1] onto [r0, r1].
struct LinearScale {
  double d0, d1, r0, r1;
  double operator()(double v) const { return d1 == d0 ? r0 : r0 + (v - d0) * (r1 - r0) / (d1 - d0); }
};

// Appends SVG elements; every text is escaped, numbers are written with 1 decimal.
class SvgWriter {
 public:
  // A responsive <svg>: the viewBox is width x height, CSS scales it to the container's width. With a
  // `standalone_style`: an SVG document of its own - XML declaration, width and height, that style sheet in
  // a <style> element and a white background.
  SvgWriter(double width, double height, std::string_view label, std::string_view css_class = "chart",
            std::string_view standalone_style = "");

  void line(double x1, double y1, double x2, double y2, std::string_view css_class);
  void rect(double x, double y, double w, double h, std::string_view css_class,
            std::string_view tooltip = "");
  void circle(double cx, double cy, double r, std::string_view css_class, std::string_view tooltip = "");
  void polyline(const std::vector<std::pair<double, double>>& points, std::string_view css_class);
  // anchor: "start" | "middle" | "end"; `rotate` turns the text about (x, y) (degrees).
  void text(double x, double y, std::string_view content, std::string_view anchor = "start",
            std::string_view css_class = "", double rotate = 0, std::string_view tooltip = "");
  // A legend swatch (square, line, dashed line or dot) with its text; returns the x after it.
  double legend_item(double x, double y, std::string_view swatch_class, std::string_view shape,
                     std::string_view content);

  std::string finish();  // closes the <svg>; the writer must not be used afterwards

 private:
  std::string out_;
};

// Rough width of `text` at `font_px` in a sans-serif font (there is no layout engine here).
double text_width(std::string_view text, double font_px);

}  // namespace partq::report
