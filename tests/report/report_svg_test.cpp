// The page's building blocks: escaping, number formatting, axis ticks.
#include <gtest/gtest.h>

#include <cmath>

#include "svg.hpp"

namespace partq::report {
namespace {

TEST(ReportSvg, EscapeCoversTextAndAttributes) {
  EXPECT_EQ(escape("<a href=\"x\">Tom & Jerry's</a>"),
            "&lt;a href=&quot;x&quot;&gt;Tom &amp; Jerry&#39;s&lt;/a&gt;");
  EXPECT_EQ(escape("plain /model.0/conv/Conv"), "plain /model.0/conv/Conv");
}

TEST(ReportSvg, NumberFormatting) {
  EXPECT_EQ(fixed(0.30470001, 4), "0.3047");
  EXPECT_EQ(fixed(-0.00001, 3), "0.000");
  EXPECT_EQ(significant(0.0037), "0.0037");
  EXPECT_EQ(significant(41.234), "41.2");
  EXPECT_EQ(significant(-0.000412, 2), "-0.00041");
  EXPECT_EQ(significant(0), "0");
  EXPECT_EQ(significant(180.6, 3), "181");
}

TEST(ReportSvg, TicksEncloseTheRangeWithNiceSteps) {
  const double ranges[][2] = {{0, 1},  {0.285, 0.31}, {-0.0004, 0.02}, {12.7, 14.5},
                              {0, 57}, {5, 5},        {-3, -1}};
  for (const auto& r : ranges) {
    const Ticks t = nice_ticks(r[0], r[1], 5);
    SCOPED_TRACE(testing::Message() << "[" << r[0] << ", " << r[1] << "] step " << t.step);
    EXPECT_LE(t.lo, r[0] + t.step * 1e-9);
    EXPECT_GE(t.hi, r[1] - t.step * 1e-9);
    EXPECT_GE(t.values.size(), 3u);
    EXPECT_LE(t.values.size(), 12u);
    const double mantissa = t.step / std::pow(10.0, std::floor(std::log10(t.step)));
    EXPECT_TRUE(std::fabs(mantissa - 1) < 1e-9 || std::fabs(mantissa - 2) < 1e-9 ||
                std::fabs(mantissa - 5) < 1e-9);
    for (size_t i = 1; i < t.values.size(); ++i) {
      EXPECT_NEAR(t.values[i] - t.values[i - 1], t.step, t.step * 1e-6);
      EXPECT_NE(t.label(t.values[i]), t.label(t.values[i - 1]));  // labels tell ticks apart
    }
  }
  const Ticks counts = nice_ticks(0, 3, 6, /*integer=*/true);
  EXPECT_EQ(counts.step, 1);
  EXPECT_EQ(counts.label(2), "2");
}

TEST(ReportSvg, WriterEscapesTextAndTooltips) {
  SvgWriter svg(100, 50, "a \"chart\"");
  svg.text(1, 2, "<b>&", "middle", "tick", 0, "tip <i>");
  svg.rect(0, 0, 10, 10, "bar", "x&y");
  const std::string out = svg.finish();
  EXPECT_NE(out.find("aria-label=\"a &quot;chart&quot;\""), std::string::npos);
  EXPECT_NE(out.find("&lt;b&gt;&amp;</text>"), std::string::npos);
  EXPECT_NE(out.find("<title>tip &lt;i&gt;</title>"), std::string::npos);
  EXPECT_NE(out.find("<title>x&amp;y</title>"), std::string::npos);
  EXPECT_EQ(out.find("<b>"), std::string::npos);
  EXPECT_NE(out.find("viewBox=\"0 0 100 50\""), std::string::npos);
}

}  // namespace
}  // namespace partq::report
