// render_report from inputs built in code: sections, charts, escaping, the summary's numbers.
#include <gtest/gtest.h>
#include <partq/error.hpp>
#include <partq/report.hpp>

#include <fmt/format.h>

#include <string>

#include "synthetic.hpp"

namespace partq {
namespace {

using namespace report;

size_t count(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + needle.size()))
    ++n;
  return n;
}

ReportInputs full_inputs() {
  ReportInputs in;
  in.title = "yolov5n <report> & \"friends\"";
  in.sensitivity = parse_sensitivity(test::synthetic_sensitivity(), "s.json");
  in.tradeoff = parse_tradeoff(test::synthetic_tradeoff(), "t.json");
  in.evals.push_back(parse_eval(test::synthetic_eval(0.3047, 0.4822), "fp32", "fp32.eval.json"));
  in.evals.push_back(parse_eval(test::synthetic_eval(0.2949, 0.4700), "int8", "int8.eval.json"));
  in.evals.push_back(parse_eval(test::synthetic_eval(0.3031, 0.4800), "partial", "partial.eval.json"));
  in.benches.push_back(parse_bench(test::synthetic_bench(1, 24.0), "fp32", "fp32.b1.json"));
  in.benches.push_back(parse_bench(test::synthetic_bench(1, 12.0), "int8", "int8.b1.json"));
  in.benches.push_back(parse_bench(test::synthetic_bench(8, 190.0), "fp32", "fp32.b8.json"));
  in.benches.push_back(parse_bench(test::synthetic_bench(8, 76.0), "partial", "partial.b8.json"));
  return in;
}

TEST(ReportRender, FullPageHasEverySectionAndOneSvgPerChart) {
  const std::string html = render_report(full_inputs());
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_NE(html.find("</html>"), std::string::npos);
  for (const char* id : {"id=\"summary\"", "id=\"tradeoff\"", "id=\"sensitivity\""})
    EXPECT_EQ(count(html, id), 1u) << id;
  // sensitivity bars + mAP vs float layers + latency vs float layers
  EXPECT_EQ(count(html, "<svg"), 3u);
  EXPECT_EQ(count(html, "</svg>"), 3u);
  EXPECT_NE(html.find("viewBox=\"0 0 "), std::string::npos);
  // Self-contained: nothing is fetched, nothing runs.
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("<link"), std::string::npos);
  EXPECT_EQ(html.find("src="), std::string::npos);
  EXPECT_EQ(html.find("url("), std::string::npos);
  EXPECT_EQ(html.find("@import"), std::string::npos);
}

TEST(ReportRender, EveryLayerNameIsOnThePageAndEscaped) {
  const ReportInputs in = full_inputs();
  const std::string html = render_report(in);
  for (const SensitivityLayer& layer : in.sensitivity->layers) {
    if (layer.name == "<Conv&1>") continue;
    EXPECT_NE(html.find(">" + layer.name + "<"), std::string::npos) << layer.name;
  }
  EXPECT_NE(html.find("&lt;Conv&amp;1&gt;"), std::string::npos);
  EXPECT_EQ(html.find("<Conv&1>"), std::string::npos);
  EXPECT_EQ(html.find("<report>"), std::string::npos);
  EXPECT_NE(html.find("<title>yolov5n &lt;report&gt; &amp; &quot;friends&quot;</title>"), std::string::npos);
}

TEST(ReportRender, LabelsAndFileNamesAreEscaped) {
  ReportInputs in;
  in.evals.push_back(parse_eval(test::synthetic_eval(0.3, 0.5), "a<b>\"c'", "<evil>.json"));
  const std::string html = render_report(in);
  EXPECT_EQ(html.find("a<b>"), std::string::npos);
  EXPECT_EQ(html.find("<evil>"), std::string::npos);
  EXPECT_NE(html.find("a&lt;b&gt;&quot;c&#39;"), std::string::npos);
}

TEST(ReportRender, BarsAreMostSensitiveFirstWhateverTheFileOrder) {
  nlohmann::json s = test::synthetic_sensitivity(6);
  std::reverse(s["layers"].begin(), s["layers"].end());
  ReportInputs in;
  in.sensitivity = parse_sensitivity(s, "s.json");
  const std::string html = render_report(in);
  size_t previous = 0;
  double previous_sensitivity = 1e9;
  for (const SensitivityLayer& layer : in.sensitivity->layers) {
    EXPECT_LE(layer.sensitivity, previous_sensitivity);
    previous_sensitivity = layer.sensitivity;
    const std::string name = layer.name == "<Conv&1>" ? "&lt;Conv&amp;1&gt;" : layer.name;
    const size_t at = html.find(">" + name + "<", previous);
    ASSERT_NE(at, std::string::npos) << name << " missing or out of order";
    previous = at;
  }
  EXPECT_EQ(count(html, "<svg"), 1u);
  EXPECT_EQ(html.find("id=\"summary\""), std::string::npos);
  EXPECT_EQ(html.find("id=\"tradeoff\""), std::string::npos);
}

TEST(ReportRender, TheChosenFloatLayersAreMarkedInTheSensitivityChart) {
  const ReportInputs in = full_inputs();
  const std::string html = render_report(in);
  const size_t chart = html.find("id=\"sensitivity\"");
  ASSERT_NE(chart, std::string::npos);
  const std::string section = html.substr(chart);
  const size_t chosen = in.tradeoff->chosen.layers.size();
  ASSERT_GT(chosen, 0u);
  // One bar per chosen layer plus its legend swatch.
  EXPECT_EQ(count(section, "class=\"bar-float\""), chosen + 1);
  EXPECT_EQ(count(section, "class=\"bar-negative\""), 1u + 1u);  // the synthetic file's last layer
}

TEST(ReportRender, TradeoffHighlightsTheChosenPointAndDrawsTheFloatReference) {
  ReportInputs in;
  in.tradeoff = parse_tradeoff(test::synthetic_tradeoff(), "t.json");
  const std::string html = render_report(in);
  EXPECT_EQ(count(html, "<svg"), 2u);  // mAP and latency
  // A dot per step in both charts, plus per chart the chosen point and its legend swatch.
  EXPECT_EQ(count(html, "<circle"), 2 * in.tradeoff->steps.size() + 4);
  EXPECT_EQ(count(html, "class=\"highlight\""), 4u);
  EXPECT_NE(html.find("class=\"reference\""), std::string::npos);
  EXPECT_NE(html.find("class=\"budget\""), std::string::npos);  // max_drop is set
  EXPECT_NE(html.find(fmt::format("float mAP {:.4f}", in.tradeoff->float_map)), std::string::npos);
  EXPECT_EQ(count(html, "<tr class=\"chosen\">"), 1u);
  // The steps table: one row per step.
  const size_t table = html.find("class=\"steps\"");
  ASSERT_NE(table, std::string::npos);
  EXPECT_EQ(count(html.substr(table), "<tr"), in.tradeoff->steps.size() + 1);
}

TEST(ReportRender, TradeoffWithoutLatencyHasOnlyTheAccuracyChart) {
  nlohmann::json t = test::synthetic_tradeoff();
  for (auto& step : t["steps"])
    step.erase("latency_ms");
  t["chosen"].erase("latency_ms");
  ReportInputs in;
  in.tradeoff = parse_tradeoff(t, "t.json");
  const std::string html = render_report(in);
  EXPECT_EQ(count(html, "<svg"), 1u);
  EXPECT_EQ(html.find("latency (ms)"), std::string::npos);
}

TEST(ReportRender, SummaryShowsEveryBatchAndTheSpeedUpAgainstFp32) {
  const ReportInputs in = full_inputs();
  const std::string html = render_report(in);
  EXPECT_NE(html.find(">batch 1</th>"), std::string::npos);
  EXPECT_NE(html.find(">batch 8</th>"), std::string::npos);
  const size_t begin = html.find("id=\"summary\""), end = html.find("</section>", begin);
  ASSERT_NE(end, std::string::npos);
  const std::string summary = html.substr(begin, end - begin);
  EXPECT_EQ(count(summary, ">latency (ms)</th>"), 2u);  // one latency column per batch size
  EXPECT_EQ(count(summary, ">speed-up</th>"), 2u);
  // speed-up = fp32 / this, at the same batch
  EXPECT_NE(html.find(fmt::format(">{:.2f}&times;<", 24.0 / 12.0)), std::string::npos);
  EXPECT_NE(html.find(fmt::format(">{:.2f}&times;<", 190.0 / 76.0)), std::string::npos);
  EXPECT_NE(html.find(fmt::format(">{:.4f}<", 0.2949 - 0.3047)), std::string::npos);  // delta vs FP32
  // FP32, full INT8, partial INT8 rows in that order.
  const size_t fp32 = html.find("<b>FP32</b>"), int8 = html.find("<b>full INT8</b>"),
               partial = html.find("<b>partial INT8</b>");
  ASSERT_NE(partial, std::string::npos);
  EXPECT_LT(fp32, int8);
  EXPECT_LT(int8, partial);
}

TEST(ReportRender, SummaryWithoutFp32HasNoSpeedUpColumn) {
  ReportInputs in;
  in.benches.push_back(parse_bench(test::synthetic_bench(1, 12.0), "int8", "int8.json"));
  const std::string html = render_report(in);
  EXPECT_EQ(html.find("speed-up"), std::string::npos);
  EXPECT_EQ(html.find("mAP50-95"), std::string::npos);
  EXPECT_NE(html.find(fmt::format(">{:.2f}<", 12.0)), std::string::npos);
  EXPECT_EQ(count(html, "<svg"), 0u);
}

TEST(ReportRender, NoInputIsAnError) {
  try {
    render_report(ReportInputs{});
    FAIL() << "expected partq::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("--sensitivity"), std::string::npos) << e.what();
  }
}

TEST(ReportRender, TwoBenchFilesForOneLabelAndBatchAreAnError) {
  ReportInputs in;
  in.benches.push_back(parse_bench(test::synthetic_bench(1, 12.0), "int8", "a.json"));
  in.benches.push_back(parse_bench(test::synthetic_bench(1, 13.0), "int8", "b.json"));
  try {
    render_report(in);
    FAIL() << "expected partq::Error";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("a.json"), std::string::npos) << message;
    EXPECT_NE(message.find("b.json"), std::string::npos) << message;
  }
}

TEST(ReportRender, IsDeterministic) {
  EXPECT_EQ(render_report(full_inputs()), render_report(full_inputs()));
}

}  // namespace
}  // namespace partq
