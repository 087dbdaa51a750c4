// Reading the input files: what is kept, and the error for every kind of malformed file.
#include <gtest/gtest.h>
#include <partq/error.hpp>
#include <partq/report.hpp>
#include <partq/util/atomic_file.hpp>
#include <partq/util/json_file.hpp>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <string>

#include "../util/test_dir.hpp"
#include "synthetic.hpp"

namespace partq {
namespace {

using namespace report;

// Runs `f`, expects a partq::Error whose message contains every one of `parts`.
void expect_error(const std::function<void()>& f, std::initializer_list<std::string> parts) {
  try {
    f();
    ADD_FAILURE() << "expected partq::Error";
  } catch (const Error& e) {
    const std::string message = e.what();
    for (const std::string& part : parts)
      EXPECT_NE(message.find(part), std::string::npos) << message;
  }
}

TEST(ReportInputs, SensitivityKeepsTheFieldsThePageShows) {
  const SensitivityInput s = parse_sensitivity(test::synthetic_sensitivity(5), "s.json");
  EXPECT_EQ(s.mode, "enable-one");
  EXPECT_EQ(s.metric, "map");
  EXPECT_EQ(s.image_count, 32);
  EXPECT_DOUBLE_EQ(s.baseline_float, 0.3047);
  ASSERT_EQ(s.layers.size(), 5u);
  EXPECT_EQ(s.layers[1].name, "<Conv&1>");
  EXPECT_EQ(s.layers[0].op_type, "Conv");
  ASSERT_TRUE(s.naive_seconds.has_value());
  EXPECT_DOUBLE_EQ(*s.naive_seconds, 180.5);
}

TEST(ReportInputs, MissingSensitivityKeysNameTheFileAndTheKey) {
  nlohmann::json s = test::synthetic_sensitivity();
  s["baseline"].erase("float");
  expect_error([&] { parse_sensitivity(s, "run/s.json"); }, {"run/s.json", "baseline.float"});

  s = test::synthetic_sensitivity();
  s["layers"][3].erase("value");
  expect_error([&] { parse_sensitivity(s, "s.json"); }, {"s.json", "layers[3].value"});

  s = test::synthetic_sensitivity();
  s.erase("layers");
  expect_error([&] { parse_sensitivity(s, "s.json"); }, {"s.json", "'layers'"});

  s = test::synthetic_sensitivity();
  s["layers"][0]["sensitivity"] = "high";
  expect_error([&] { parse_sensitivity(s, "s.json"); }, {"s.json", "layers[0].sensitivity", "number"});

  s = test::synthetic_sensitivity();
  s["format"] = "partq.calib";
  expect_error([&] { parse_sensitivity(s, "s.json"); }, {"s.json", "format", "partq.sensitivity"});

  expect_error([&] { parse_sensitivity(nlohmann::json::array(), "s.json"); }, {"s.json", "object"});
}

TEST(ReportInputs, TradeoffErrorsNameTheFileAndTheKey) {
  nlohmann::json t = test::synthetic_tradeoff();
  t["steps"][2].erase("map");
  expect_error([&] { parse_tradeoff(t, "t.json"); }, {"t.json", "steps[2].map"});

  t = test::synthetic_tradeoff();
  t.erase("chosen");
  expect_error([&] { parse_tradeoff(t, "t.json"); }, {"t.json", "chosen"});

  t = test::synthetic_tradeoff();
  t["float_map"] = -1;  // "not measured", but the steps were evaluated
  expect_error([&] { parse_tradeoff(t, "t.json"); }, {"t.json", "float_map"});

  t = test::synthetic_search_tradeoff();
  t["budget_met"] = "yes";
  expect_error([&] { parse_tradeoff(t, "t.json"); }, {"t.json", "budget_met", "true or false"});

  t = test::synthetic_tradeoff();
  t["steps"][0]["layers"] = {1, 2};
  expect_error([&] { parse_tradeoff(t, "t.json"); }, {"t.json", "steps[0].layers[0]", "string"});

  t = test::synthetic_tradeoff();
  t["method_results"] = {{{"method", "mse"}, {"float_layers", 2}}};
  expect_error([&] { parse_tradeoff(t, "t.json"); }, {"t.json", "method_results[0].map"});
}

TEST(ReportInputs, TradeoffOptionalFieldsMayBeNull) {
  nlohmann::json t = test::synthetic_tradeoff();
  t["max_drop"] = nullptr;
  t["float_layers_requested"] = 3;
  t["steps"][1]["latency_ms"] = nullptr;
  t["steps"][1].erase("drop");
  const TradeoffInput r = parse_tradeoff(t, "t.json");
  EXPECT_FALSE(r.max_drop.has_value());
  EXPECT_EQ(r.float_layers_requested, 3);
  EXPECT_FALSE(r.steps[1].latency_ms.has_value());
  ASSERT_TRUE(r.steps[1].drop && r.float_map && r.steps[1].map);
  EXPECT_DOUBLE_EQ(*r.steps[1].drop, *r.float_map - *r.steps[1].map);
}

TEST(ReportInputs, TradeoffKeepsTheEvaluationOrderAndFindsTheChosenStepByItsLayers) {
  const nlohmann::json file = test::synthetic_search_tradeoff();
  const TradeoffInput t = parse_tradeoff(file, "t.json");
  ASSERT_EQ(t.steps.size(), file["steps"].size());
  for (size_t i = 0; i < t.steps.size(); ++i) {  // not re-sorted by the number of float layers
    EXPECT_EQ(t.steps[i].note, file["steps"][i]["note"].get<std::string>()) << i;
    EXPECT_EQ(t.steps[i].layers, file["steps"][i]["layers"].get<std::vector<std::string>>()) << i;
  }
  // full INT8 and three "add" steps form the search path, two "remove" steps follow it.
  EXPECT_EQ(t.greedy_steps, 4u);
  // The chosen set {A, C} has as many layers as the "add B" step {A, B}: the match is by the set.
  ASSERT_TRUE(t.chosen_step.has_value());
  EXPECT_EQ(*t.chosen_step, 4u);
  EXPECT_EQ(t.steps[4].note, "remove " + test::kSearchOrder[1]);
  EXPECT_EQ(t.steps[4].float_layers, t.steps[2].float_layers);
  EXPECT_EQ(t.float_latency_ms, file["float_latency_ms"].get<double>());
  EXPECT_EQ(t.budget_met, true);

  // The same layers in another order are the same configuration.
  nlohmann::json reordered = file;
  std::reverse(reordered["chosen"]["layers"].begin(), reordered["chosen"]["layers"].end());
  EXPECT_EQ(parse_tradeoff(reordered, "t.json").chosen_step, 4u);
  // A chosen set that no step has.
  reordered["chosen"]["layers"] = {test::kSearchOrder[3]};
  EXPECT_FALSE(parse_tradeoff(reordered, "t.json").chosen_step.has_value());
}

TEST(ReportInputs, TradeoffPickedByCountWithoutASelectionSet) {
  const TradeoffInput t = parse_tradeoff(test::synthetic_count_tradeoff(), "t.json");
  EXPECT_TRUE(t.steps.empty());
  EXPECT_FALSE(t.float_map.has_value());  // -1 in the file
  EXPECT_FALSE(t.float_latency_ms.has_value());
  EXPECT_FALSE(t.chosen.map.has_value());
  EXPECT_FALSE(t.chosen_step.has_value());
  EXPECT_EQ(t.chosen.float_layers, 2);
}

TEST(ReportInputs, SensitivityTiming) {
  nlohmann::json s = test::synthetic_sensitivity(3);
  s["timing"]["sweep_seconds"] = 20.1;
  s["timing"]["naive_measured"] = false;
  SensitivityInput r = parse_sensitivity(s, "s.json");
  EXPECT_EQ(r.seconds, 41.2);
  EXPECT_EQ(r.sweep_seconds, 20.1);
  EXPECT_EQ(r.naive_seconds, 180.5);
  EXPECT_EQ(r.naive_measured, false);
  EXPECT_EQ(r.speedup, 4.38);

  s["timing"]["naive_measured"] = 1;
  expect_error([&] { parse_sensitivity(s, "s.json"); }, {"s.json", "timing.naive_measured"});
  s.erase("timing");
  r = parse_sensitivity(s, "s.json");
  EXPECT_FALSE(r.seconds || r.sweep_seconds || r.naive_seconds || r.naive_measured || r.speedup);
}

TEST(ReportInputs, EvalAndBenchErrorsNameTheFileAndTheKey) {
  nlohmann::json e = test::synthetic_eval(0.3, 0.5);
  e.erase("mAP50");
  expect_error([&] { parse_eval(e, "fp32", "fp32.eval.json"); }, {"fp32.eval.json", "mAP50"});
  // An eval file given to --bench is refused as what it is, with the flag that takes it.
  expect_error([&] { parse_bench(test::synthetic_eval(0.3, 0.5), "fp32", "x.json"); },
               {"x.json", "this is a `partq eval --json` result", "not a `partq bench --json` result",
                "--eval LABEL=FILE"});
  nlohmann::json b = test::synthetic_bench(1, 10);
  b["batch"] = 0;
  expect_error([&] { parse_bench(b, "fp32", "b.json"); }, {"b.json", "batch"});
}

// Every file given to the wrong flag is named as what it is, with the flag that takes it -- not refused for
// the first key the expected kind lacks.
TEST(ReportInputs, AFileOfAnotherKindSaysWhatItIsAndWhereItGoes) {
  const nlohmann::json sensitivity = test::synthetic_sensitivity(3), tradeoff = test::synthetic_tradeoff(),
                       eval = test::synthetic_eval(0.3, 0.5), bench = test::synthetic_bench(1, 10);
  expect_error([&] { parse_sensitivity(tradeoff, "t.json"); },
               {"t.json: this is a partial-quantization file, not a sensitivity file", "--tradeoff"});
  expect_error([&] { parse_tradeoff(sensitivity, "s.json"); },
               {"s.json: this is a sensitivity file, not a partial-quantization file", "--sensitivity"});
  expect_error([&] { parse_eval(bench, "fp32", "b.json"); },
               {"b.json: this is a `partq bench --json` result", "--bench LABEL=FILE"});
  expect_error([&] { parse_sensitivity(eval, "e.json"); },
               {"e.json: this is a `partq eval --json` result", "--eval LABEL=FILE"});
  nlohmann::json summary = {{"format", "partq.auto"}, {"version", 1}};
  expect_error([&] { parse_tradeoff(summary, "auto.json"); }, {"auto.json: this is partq auto's summary"});
  // Files of the right kind still parse.
  EXPECT_NO_THROW(parse_sensitivity(sensitivity, "s.json"));
  EXPECT_NO_THROW(parse_tradeoff(tradeoff, "t.json"));
  EXPECT_NO_THROW(parse_eval(eval, "fp32", "e.json"));
  EXPECT_NO_THROW(parse_bench(bench, "fp32", "b.json"));
}

TEST(ReportInputs, LabeledFileArguments) {
  const LabeledFile f = parse_labeled_file("partial=out/a=b.json", "--eval");
  EXPECT_EQ(f.label, "partial");
  EXPECT_EQ(f.path, "out/a=b.json");
  expect_error([] { parse_labeled_file("fp32.json", "--bench"); }, {"--bench", "fp32.json", "LABEL=FILE"});
  expect_error([] { parse_labeled_file("=x.json", "--eval"); }, {"--eval"});
  expect_error([] { parse_labeled_file("fp32=", "--eval"); }, {"--eval"});
}

TEST(ReportInputs, WriteReportReadsTheFilesAndWritesThePage) {
  const auto dir = make_test_dir();
  const std::string s = (dir / "yolov5n.sensitivity.json").string();
  const std::string e = (dir / "fp32.eval.json").string();
  write_json_file(s, test::synthetic_sensitivity());
  write_json_file(e, test::synthetic_eval(0.3047, 0.4822));
  ReportOptions options{.output = (dir / "report.html").string(), .sensitivity = s, .evals = {{"fp32", e}}};
  const ReportSummary summary = write_report(options);
  EXPECT_EQ(summary.sections, (std::vector<std::string>{"summary", "sensitivity"}));
  EXPECT_EQ(summary.title, "partq report: yolov5n");  // from the model in the inputs
  const std::string html = read_file(options.output);
  EXPECT_EQ(static_cast<int64_t>(html.size()), summary.bytes);
  EXPECT_NE(html.find("partq report: yolov5n"), std::string::npos);
  // Nothing but the page is left in the directory (the write went through a renamed temporary file).
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    (void)entry;
    ++files;
  }
  EXPECT_EQ(files, 3);
}

TEST(ReportInputs, MissingOrBrokenFilesAreErrorsNamingThem) {
  const auto dir = make_test_dir();
  const std::string out = (dir / "report.html").string();
  const std::string missing = (dir / "nope.json").string();
  expect_error([&] { write_report({.output = out, .tradeoff = missing}); }, {missing});
  const std::string broken = (dir / "broken.json").string();
  write_file_atomic(broken, "{\"format\": \"partq.sensitivity\", ");
  expect_error([&] { write_report({.output = out, .sensitivity = broken}); }, {broken});
  const std::string bench = (dir / "b.json").string();
  write_json_file(bench, nlohmann::json{{"batch", 1}});
  expect_error([&] { write_report({.output = out, .benches = {{"int8", bench}}}); }, {bench, "median_ms"});
  expect_error([&] { write_report({.output = out}); }, {"at least one"});
  EXPECT_FALSE(std::filesystem::exists(out));
}

}  // namespace
}  // namespace partq
