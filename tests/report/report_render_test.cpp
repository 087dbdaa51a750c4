// render_report from inputs built in code: sections, charts, escaping, the summary's numbers.
#include <gtest/gtest.h>
#include <partq/error.hpp>
#include <partq/report.hpp>

#include <fmt/format.h>

#include <string>
#include <vector>

#include "svg.hpp"

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
  EXPECT_NE(html.find(fmt::format("float mAP {:.4f}", *in.tradeoff->float_map)), std::string::npos);
  EXPECT_EQ(count(html, "<tr class=\"chosen\">"), 1u);
  // The steps table: one row per step.
  const size_t table = html.find("class=\"steps\"");
  ASSERT_NE(table, std::string::npos);
  EXPECT_EQ(count(html.substr(table), "<tr"), in.tradeoff->steps.size() + 1);
}

// The HTML of the first element `<tag ...>` at or after `from` whose text contains `needle`, up to its end.
std::string element_with(const std::string& html, const std::string& tag, const std::string& needle,
                         size_t from = 0) {
  for (size_t at = html.find("<" + tag, from); at != std::string::npos; at = html.find("<" + tag, at + 1)) {
    const size_t end = html.find("</" + tag + ">", at);
    if (end == std::string::npos) break;
    const std::string element = html.substr(at, end + tag.size() + 3 - at);
    if (element.find(needle) != std::string::npos) return element;
  }
  return "";
}

TEST(ReportRender, SearchWithPruningDrawsTheSearchPathAsALineAndThePruningCandidatesAsRings) {
  ReportInputs in;
  in.tradeoff = parse_tradeoff(test::synthetic_search_tradeoff(), "t.json");
  const TradeoffInput& t = *in.tradeoff;
  ASSERT_EQ(t.greedy_steps, 4u);
  const std::string html = render_report(in);
  EXPECT_EQ(count(html, "<svg"), 2u);  // mAP and latency

  // Per chart: a polyline through the search path's points; a ring per pruning candidate (+ its legend
  // swatch), in the series' colour when kept (within budget: "remove B") or grey when rejected ("remove A");
  // a dashed polyline from the end of the search through the kept ones, ending at the chosen point.
  const size_t kept = 1, rejected = 1;
  const size_t first_svg = html.find("<svg"), second_svg = html.find("<svg", first_svg + 1);
  for (const std::string& svg : {html.substr(first_svg, second_svg - first_svg), html.substr(second_svg)}) {
    const auto polyline_points = [&](size_t from) {
      const size_t at = svg.find("<polyline points=\"", from);
      if (at == std::string::npos) return std::string();
      return svg.substr(at + 18, svg.find('"', at + 18) - at - 18);
    };
    const std::string search = polyline_points(0);
    EXPECT_EQ(count(search, ","), t.greedy_steps);
    const std::string pruned = polyline_points(svg.rfind("<polyline", svg.find("class=\"pruned")));
    EXPECT_EQ(count(pruned, ","), kept + 1) << pruned;
    EXPECT_NE(svg.find("points=\"" + pruned + "\" class=\"pruned"), std::string::npos);
    EXPECT_EQ(count(svg, "class=\"p-map\"") + count(svg, "class=\"p-latency\""), kept + 1);
    EXPECT_EQ(count(svg, "class=\"p-rejected\""), rejected + 1);
    // The dashed line ends where the chosen point is drawn.
    const std::string last = pruned.substr(pruned.rfind(' ') + 1);
    const size_t highlight = svg.find("class=\"highlight\"><title>");
    ASSERT_NE(highlight, std::string::npos);
    const std::string circle =
        svg.substr(svg.rfind("<circle", highlight), highlight - svg.rfind("<circle", highlight));
    EXPECT_NE(circle.find("cx=\"" + last.substr(0, last.find(',')) + "\" cy=\"" +
                          last.substr(last.find(',') + 1) + "\""),
              std::string::npos)
        << circle << " vs " << last;
  }
  ASSERT_EQ(t.steps.size() - t.greedy_steps, kept + rejected);
  EXPECT_NE(html.find("pruning"), std::string::npos);

  // The chosen configuration is the "remove B" step (2 float layers, like "add B"): its row is marked, and
  // the highlighted dot of each chart is that step.
  const std::string chosen_row = element_with(html, "tr", "<tr class=\"chosen\">");
  EXPECT_EQ(count(html, "<tr class=\"chosen\">"), 1u);
  EXPECT_NE(chosen_row.find("remove " + test::kSearchOrder[1]), std::string::npos) << chosen_row;
  EXPECT_NE(chosen_row.find(fmt::format(">{:.4f}<", *t.steps[4].map)), std::string::npos) << chosen_row;
  EXPECT_EQ(count(html, "class=\"highlight\"><title>step 5: remove " + escape(test::kSearchOrder[1])), 2u);

  // Rows in evaluation order, with "within" / "over" against the budget.
  size_t previous = 0;
  for (size_t i = 0; i < t.steps.size(); ++i) {
    const size_t at = html.find(">" + t.steps[i].note + "<", previous);
    ASSERT_NE(at, std::string::npos) << t.steps[i].note;
    previous = at;
  }
  EXPECT_EQ(count(html, "<td class=\"good\">within</td>"), 2u);  // add C, remove B
  EXPECT_EQ(count(html, "<td class=\"bad\">over</td>"), 4u);
  // The float model's latency from the same file is the latency chart's reference.
  EXPECT_NE(html.find(fmt::format("float {:.2f} ms", *t.float_latency_ms)), std::string::npos);
}

TEST(ReportRender, TradeoffPickedByCountListsTheLayersWithoutCharts) {
  ReportInputs in;
  in.sensitivity = parse_sensitivity(test::synthetic_sensitivity(), "s.json");
  in.tradeoff = parse_tradeoff(test::synthetic_count_tradeoff(), "t.json");
  const std::string html = render_report(in);
  EXPECT_EQ(count(html, "<svg"), 1u);  // the sensitivity chart only
  const size_t begin = html.find("id=\"tradeoff\""), end = html.find("</section>", begin);
  ASSERT_NE(end, std::string::npos);
  const std::string section = html.substr(begin, end - begin);
  for (const std::string& layer : in.tradeoff->chosen.layers)
    EXPECT_NE(section.find(layer), std::string::npos) << layer;
  EXPECT_EQ(section.find("<table"), std::string::npos);
}

TEST(ReportRender, ABudgetNotMetIsSaidWithTheSearchCap) {
  ReportInputs in;
  nlohmann::json t = test::synthetic_search_tradeoff();
  in.tradeoff = parse_tradeoff(t, "t.json");
  EXPECT_EQ(render_report(in).find("met the budget"), std::string::npos);  // the synthetic search met it
  t["budget_met"] = false;
  t["max_float_layers"] = 3;
  in.tradeoff = parse_tradeoff(t, "t.json");
  EXPECT_NE(render_report(in).find("No configuration with at most 3 float layers met the budget"),
            std::string::npos);
  t.erase("max_float_layers");  // a file written before the cap existed
  in.tradeoff = parse_tradeoff(t, "t.json");
  const std::string html = render_report(in);
  EXPECT_NE(html.find("No configuration met the budget"), std::string::npos);
  EXPECT_EQ(html.find("at most"), std::string::npos);
  // --fallback within-noise kept 2 float layers where the best configuration had 3: the page says so
  // instead of calling the chosen one the best.
  t["fallback"] = "within-noise";
  t["best"] = t["steps"][3];
  in.tradeoff = parse_tradeoff(t, "t.json");
  const std::string noise = render_report(in);
  EXPECT_NE(noise.find("the fewest float layers within one standard error of the best the search found (3 "
                       "float layers, mAP 0.3251)"),
            std::string::npos);
  EXPECT_EQ(noise.find("the chosen one is the best"), std::string::npos);
  t["best"] = t["chosen"];  // the best configuration is the chosen one
  in.tradeoff = parse_tradeoff(t, "t.json");
  EXPECT_NE(render_report(in).find("the chosen one is the best the search found"), std::string::npos);
}

// With several calibration methods searched the steps are the chosen method's; the page says where each
// method's search ended.
TEST(ReportRender, TradeoffSaysWhereEachCalibrationMethodsSearchEnded) {
  ReportInputs in;
  nlohmann::json t = test::synthetic_search_tradeoff();
  t["calibration_method"] = "percentile";
  t["method_results"] = {
      {{"method", "mse"}, {"float_layers", 9}, {"map", 0.2651}, {"budget_met", false}},
      {{"method", "percentile"}, {"float_layers", 1}, {"map", 0.2658}, {"budget_met", true}}};
  in.tradeoff = parse_tradeoff(t, "t.json");
  const std::string html = render_report(in);
  EXPECT_NE(html.find("mse 0.2651 with 9 float layers; percentile 0.2658 with 1 float layer, within budget "
                      "(chosen). The steps below are percentile's."),
            std::string::npos);
  t["method_results"].erase(0);  // one method: nothing to compare
  in.tradeoff = parse_tradeoff(t, "t.json");
  EXPECT_EQ(render_report(in).find("Calibration methods searched"), std::string::npos);
}

// The activation mode of the partial file: asymmetric models are not for TensorRT, and the page says so.
TEST(ReportRender, TradeoffSaysWhichActivationsTheModelQuantizes) {
  ReportInputs in;
  nlohmann::json t = test::synthetic_search_tradeoff();
  in.tradeoff = parse_tradeoff(t, "t.json");
  EXPECT_EQ(render_report(in).find("activations"), std::string::npos);  // a file without the field
  t["activations"] = "symmetric";
  in.tradeoff = parse_tradeoff(t, "t.json");
  EXPECT_NE(render_report(in).find("symmetric int8"), std::string::npos);
  t["activations"] = "asymmetric";
  in.tradeoff = parse_tradeoff(t, "t.json");
  EXPECT_NE(render_report(in).find("not TensorRT"), std::string::npos);
}

// The weight range of the partial file: reduced-range (7-bit) weights are named with why they exist.
TEST(ReportRender, TradeoffSaysWhenTheWeightsAreReducedRange) {
  ReportInputs in;
  nlohmann::json t = test::synthetic_search_tradeoff();
  in.tradeoff = parse_tradeoff(t, "t.json");
  EXPECT_EQ(render_report(in).find("7-bit"), std::string::npos);  // a file without the field
  t["weights"] = "7-bit";
  in.tradeoff = parse_tradeoff(t, "t.json");
  EXPECT_NE(render_report(in).find("7-bit, reduced range"), std::string::npos);
}

TEST(ReportRender, SensitivityTimingComparesTheSweepWithTheNaiveSweep) {
  nlohmann::json s = test::synthetic_sensitivity(4);
  s["timing"] = {
      {"seconds", 28.8}, {"sweep_seconds", 20.1}, {"naive_seconds", 133.0}, {"naive_measured", false}};
  ReportInputs in;
  in.sensitivity = parse_sensitivity(s, "s.json");
  std::string html = render_report(in);
  const std::string speedup = significant(133.0 / 20.1, 3);
  EXPECT_NE(html.find("sweep <b>20.1 s vs naive 133 s (estimated, " + speedup + "\u00d7 faster)</b>"),
            std::string::npos);
  EXPECT_NE(html.find("whole analysis <b>28.8 s</b>"), std::string::npos);

  s["timing"]["naive_measured"] = true;
  in.sensitivity = parse_sensitivity(s, "s.json");
  EXPECT_NE(render_report(in).find("(measured, "), std::string::npos);

  // An older file without sweep_seconds: the whole analysis against the naive sweep.
  s["timing"].erase("sweep_seconds");
  s["timing"].erase("naive_measured");
  in.sensitivity = parse_sensitivity(s, "s.json");
  html = render_report(in);
  EXPECT_NE(html.find("analysis <b>28.8 s vs naive 133 s (" + significant(133.0 / 28.8, 3)),
            std::string::npos);
  EXPECT_EQ(html.find("whole analysis"), std::string::npos);
  EXPECT_EQ(html.find("estimated"), std::string::npos);
}

TEST(ReportRender, SensitivitySvgIsAStandaloneDocument) {
  const SensitivityInput s = parse_sensitivity(test::synthetic_sensitivity(), "s.json");
  const std::vector<std::string> floats = {s.layers[0].name, s.layers[2].name};
  const std::string svg = render_sensitivity_svg(s, floats);
  EXPECT_EQ(svg.rfind("<?xml", 0), 0u);
  EXPECT_EQ(count(svg, "<svg"), 1u);
  EXPECT_EQ(count(svg, "</svg>"), 1u);
  const std::string root = svg.substr(svg.find("<svg"), svg.find('>', svg.find("<svg")) - svg.find("<svg"));
  for (const char* attribute :
       {"xmlns=\"http://www.w3.org/2000/svg\"", " width=\"", " height=\"", "viewBox=\""})
    EXPECT_NE(root.find(attribute), std::string::npos) << attribute << " in " << root;
  // Its own style sheet with the chart classes, and a white background drawn first.
  const size_t style = svg.find("<style>"), style_end = svg.find("</style>");
  ASSERT_NE(style, std::string::npos);
  ASSERT_NE(style_end, std::string::npos);
  for (const char* rule : {".bar-int8 {", ".bar-float {", ".bar-negative {", ".tick {", "font-family"})
    EXPECT_NE(svg.substr(style, style_end - style).find(rule), std::string::npos) << rule;
  const size_t background = svg.find("<rect", style_end);
  ASSERT_NE(background, std::string::npos);
  EXPECT_NE(svg.substr(background, svg.find('>', background) - background).find("fill=\"#ffffff\""),
            std::string::npos);
  // No HTML: nothing outside the SVG vocabulary that a viewer would reject.
  EXPECT_EQ(svg.find("&nbsp;"), std::string::npos);
  EXPECT_EQ(svg.find("&minus;"), std::string::npos);
  EXPECT_EQ(svg.find("<Conv&1>"), std::string::npos);
  EXPECT_NE(svg.find("&lt;Conv&amp;1&gt;"), std::string::npos);
  // The bars: the given float layers in orange, the negative one grey (each + its legend swatch).
  EXPECT_EQ(count(svg, "class=\"bar-float\""), floats.size() + 1);
  EXPECT_EQ(count(svg, "class=\"bar-negative\""), 1u + 1u);
  EXPECT_NE(svg.find("yolov5n.onnx"), std::string::npos);  // the title names the model
}

TEST(ReportRender, ThePageAndTheSvgDrawTheSameBars) {
  ReportInputs in;
  in.sensitivity = parse_sensitivity(test::synthetic_sensitivity(), "s.json");
  in.tradeoff = parse_tradeoff(test::synthetic_tradeoff(), "t.json");
  const std::string html = render_report(in);
  const std::string page_chart = html.substr(html.find("<svg", html.find("id=\"sensitivity\"")));
  const std::string svg = render_sensitivity_svg(*in.sensitivity, in.tradeoff->chosen.layers);
  // Every bar (class and tooltip) in the same order in both.
  const auto bars = [](const std::string& text) {
    std::vector<std::string> out;
    for (size_t at = text.find("<rect"); at != std::string::npos; at = text.find("<rect", at + 1)) {
      const std::string element = text.substr(at, text.find("</rect>", at) - at);
      const size_t cls = element.find("class=\"bar-");
      if (cls != std::string::npos && element.find("<title>") != std::string::npos)
        out.push_back(element.substr(cls));
    }
    return out;
  };
  const std::vector<std::string> page_bars = bars(page_chart.substr(0, page_chart.find("</svg>")));
  EXPECT_EQ(page_bars.size(), in.sensitivity->layers.size());
  EXPECT_EQ(page_bars, bars(svg));
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

// A bench file's warning (partq bench on a CPU without VNNI: the INT8 latency is not INT8 speed) is said
// once, in the summary, naming every result it concerns; a latency without one gets no such note.
TEST(ReportRender, SummarySaysWhichLatenciesTheBenchFilesWarnOf) {
  const std::string warning = "this CPU has no VNNI: the INT8 convolutions ran in f32 <x>";
  ReportInputs in;
  in.benches.push_back(parse_bench(test::synthetic_bench(1, 24.0), "fp32", "fp32.b1.json"));
  for (const auto& [label, batch] : {std::pair{"int8", 1}, {"partial", 1}, {"partial", 8}}) {
    nlohmann::json b = test::synthetic_bench(batch, 12.0);
    b["warnings"] = {warning};
    in.benches.push_back(parse_bench(b, label, std::string(label) + ".json"));
  }
  const std::string html = render_report(in);
  const size_t begin = html.find("id=\"summary\""), end = html.find("</section>", begin);
  ASSERT_NE(end, std::string::npos);
  const std::string summary = html.substr(begin, end - begin);
  EXPECT_EQ(count(summary, "no VNNI"), 1u) << summary;
  EXPECT_NE(summary.find("<p class=\"note bad\">Latency of int8 batch 1, partial batch 1, partial batch 8: "
                         "this CPU has no VNNI: the INT8 convolutions ran in f32 &lt;x&gt;.</p>"),
            std::string::npos)
      << summary;
  in.benches.resize(1);
  EXPECT_EQ(render_report(in).find("note bad"), std::string::npos);
}

// The partial-quantization file's warnings are shown with the trade-off.
TEST(ReportRender, TradeoffShowsTheFilesWarnings) {
  ReportInputs in;
  nlohmann::json t = test::synthetic_search_tradeoff();
  in.tradeoff = parse_tradeoff(t, "t.json");
  EXPECT_EQ(render_report(in).find("latencies of the configurations"), std::string::npos);
  t["warnings"] = {"the latencies of the configurations are not INT8 speed"};
  in.tradeoff = parse_tradeoff(t, "t.json");
  const std::string html = render_report(in);
  const size_t begin = html.find("id=\"tradeoff\""), end = html.find("</section>", begin);
  ASSERT_NE(end, std::string::npos);
  EXPECT_NE(html.substr(begin, end - begin)
                .find("<p class=\"note bad\">the latencies of the configurations are not INT8 speed.</p>"),
            std::string::npos);
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
