#include "svg.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace partq::report {

namespace {

std::string num(double v) {
  std::string s = fmt::format("{:.1f}", v);
  if (s.size() > 2 && s.compare(s.size() - 2, 2, ".0") == 0) s.resize(s.size() - 2);
  if (s == "-0") s = "0";
  return s;
}

std::string title_element(std::string_view tooltip) {
  return tooltip.empty() ? "" : "<title>" + escape(tooltip) + "</title>";
}

}  // namespace

std::string escape(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 8);
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string fixed(double value, int decimals) {
  std::string s = fmt::format("{:.{}f}", value, std::max(0, decimals));
  if (s.find_first_not_of("-0.") == std::string::npos && s[0] == '-') s.erase(0, 1);  // "-0.00" -> "0.00"
  return s;
}

std::string significant(double value, int digits) {
  if (value == 0 || !std::isfinite(value)) return value == 0 ? "0" : fmt::format("{}", value);
  const int magnitude = static_cast<int>(std::floor(std::log10(std::fabs(value))));
  if (magnitude < -4 || magnitude >= 9) return fmt::format("{:.{}g}", value, digits);
  std::string s = fixed(value, std::max(0, digits - 1 - magnitude));
  if (s.find('.') != std::string::npos) {
    while (s.back() == '0')
      s.pop_back();
    if (s.back() == '.') s.pop_back();
  }
  return s;
}

Ticks nice_ticks(double lo, double hi, int target, bool integer) {
  if (lo > hi) std::swap(lo, hi);
  if (hi - lo < 1e-12 * std::max(1.0, std::fabs(hi))) {  // one value: give it some room
    const double pad = lo == 0 ? 1.0 : std::fabs(lo) * 0.05;
    lo -= pad;
    hi += pad;
  }
  const double raw = (hi - lo) / std::max(1, target);
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  const double norm = raw / magnitude;
  double step = (norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10) * magnitude;
  if (integer) step = std::max(1.0, std::round(step));
  Ticks t;
  t.step = step;
  t.lo = std::floor(lo / step + 1e-9) * step;
  t.hi = std::ceil(hi / step - 1e-9) * step;
  t.decimals = std::max(0, static_cast<int>(std::ceil(-std::log10(step) - 1e-9)));
  const int count = static_cast<int>(std::llround((t.hi - t.lo) / step));
  for (int i = 0; i <= count; ++i) {
    double v = t.lo + i * step;
    if (std::fabs(v) < step * 1e-9) v = 0;
    t.values.push_back(v);
  }
  return t;
}

double text_width(std::string_view text, double font_px) {
  double em = 0;
  for (unsigned char c : text) {
    if ((c & 0xC0) == 0x80) continue;  // UTF-8 continuation byte
    em += (c == 'i' || c == 'l' || c == 'j' || c == '.' || c == ',' || c == '\'' || c == '|' || c == ' ')
              ? 0.32
          : (c == 'm' || c == 'w' || c == 'M' || c == 'W') ? 0.9
          : (c >= 'A' && c <= 'Z')                         ? 0.7
                                                           : 0.6;
  }
  return em * font_px;
}

SvgWriter::SvgWriter(double width, double height, std::string_view label, std::string_view css_class,
                     std::string_view standalone_style) {
  if (standalone_style.empty()) {
    out_ = fmt::format(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"{}\" viewBox=\"0 0 {} {}\" role=\"img\" "
        "aria-label=\"{}\">\n",
        escape(css_class), num(width), num(height), escape(label));
    return;
  }
  out_ = fmt::format(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"{}\" width=\"{}\" height=\"{}\" "
      "viewBox=\"0 0 {} {}\" role=\"img\" aria-label=\"{}\">\n"
      "<style><![CDATA[{}]]></style>\n"
      "<rect x=\"0\" y=\"0\" width=\"{}\" height=\"{}\" fill=\"#ffffff\" class=\"background\"/>\n",
      escape(css_class), num(width), num(height), num(width), num(height), escape(label), standalone_style,
      num(width), num(height));
}

void SvgWriter::line(double x1, double y1, double x2, double y2, std::string_view css_class) {
  out_ += fmt::format("<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" class=\"{}\"/>\n", num(x1), num(y1),
                      num(x2), num(y2), escape(css_class));
}

void SvgWriter::rect(double x, double y, double w, double h, std::string_view css_class,
                     std::string_view tooltip) {
  out_ += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" class=\"{}\">{}</rect>\n", num(x),
                      num(y), num(std::max(0.0, w)), num(std::max(0.0, h)), escape(css_class),
                      title_element(tooltip));
}

void SvgWriter::circle(double cx, double cy, double r, std::string_view css_class, std::string_view tooltip) {
  out_ += fmt::format("<circle cx=\"{}\" cy=\"{}\" r=\"{}\" class=\"{}\">{}</circle>\n", num(cx), num(cy),
                      num(r), escape(css_class), title_element(tooltip));
}

void SvgWriter::polyline(const std::vector<std::pair<double, double>>& points, std::string_view css_class) {
  std::string coords;
  for (const auto& [x, y] : points) {
    if (!coords.empty()) coords += ' ';
    coords += num(x);
    coords += ',';
    coords += num(y);
  }
  out_ += fmt::format("<polyline points=\"{}\" class=\"{}\"/>\n", coords, escape(css_class));
}

void SvgWriter::text(double x, double y, std::string_view content, std::string_view anchor,
                     std::string_view css_class, double rotate, std::string_view tooltip) {
  std::string attrs = fmt::format("x=\"{}\" y=\"{}\"", num(x), num(y));
  if (anchor != "start") attrs += fmt::format(" text-anchor=\"{}\"", escape(anchor));
  if (!css_class.empty()) attrs += fmt::format(" class=\"{}\"", escape(css_class));
  if (rotate != 0) attrs += fmt::format(" transform=\"rotate({} {} {})\"", num(rotate), num(x), num(y));
  out_ += fmt::format("<text {}>{}{}</text>\n", attrs, title_element(tooltip), escape(content));
}

double SvgWriter::legend_item(double x, double y, std::string_view swatch_class, std::string_view shape,
                              std::string_view content) {
  if (shape == "line" || shape == "dashed") {
    line(x, y - 4, x + 22, y - 4, swatch_class);
    x += 28;
  } else if (shape == "dot") {
    circle(x + 6, y - 4, 5, swatch_class);
    x += 16;
  } else {
    rect(x, y - 10, 12, 12, swatch_class);
    x += 18;
  }
  text(x, y, content, "start", "legend");
  return x + text_width(content, 12) + 18;
}

std::string SvgWriter::finish() {
  out_ += "</svg>\n";
  return std::move(out_);
}

}  // namespace partq::report
