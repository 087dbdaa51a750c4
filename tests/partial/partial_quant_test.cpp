// partq quantize --sensitivity as a library user calls it, on yolox_nano with a handful of images.
#include <partq/engine.hpp>
#include <partq/error.hpp>
#include <partq/partial_quant.hpp>
#include <partq/ptq.hpp>
#include <partq/sensitivity.hpp>

#include <fmt/core.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <set>

#include "../../src/partial/selection.hpp"

namespace partq {
namespace {

namespace fs = std::filesystem;

const std::string kModel = PARTQ_SHARED_DIR "/models/yolox_nano.onnx";
const std::string kOther = PARTQ_SHARED_DIR "/models/yolov5n.onnx";
const std::string kTrain = PARTQ_SHARED_DIR "/data/coco/images/train2017";
const std::string kVal = PARTQ_SHARED_DIR "/data/coco/images/val2017";

class PartialQuantTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = fs::temp_directory_path() / fmt::format("partq_partial_{}", ::getpid());
    fs::create_directories(dir_);
    calibrate_model({.model = kModel,
                     .images = kTrain,
                     .output = path("m.calib.json"),
                     .method = "max",  // yolox_nano loses most under max: layers clearly matter
                     .num_images = 4,
                     .batch = 2,
                     .quiet = true,
                     .measure_overhead = false});
    write_sensitivity(path("m.sens.json"), analyse_sensitivity({.model = kModel,
                                                                .calib = path("m.calib.json"),
                                                                .images = kVal,
                                                                .metric = "sqnr",
                                                                .limit = 2,
                                                                .batch = 2,
                                                                .quiet = true}));
  }
  static void TearDownTestSuite() { fs::remove_all(dir_); }
  static std::string path(const std::string& name) { return (dir_ / name).string(); }
  static PartialQuantOptions options(const std::string& output) {
    return {.model = kModel,
            .calib = path("m.calib.json"),
            .sensitivity = path("m.sens.json"),
            .output = path(output),
            .limit = 4,
            .batch = 2,
            .quiet = true};
  }
  static inline fs::path dir_;
};

// The node names the Q/DQ model runs in float among the quantizable ones.
std::set<std::string> float_nodes_of(const std::string& qdq) {
  const QuantizationSummary s = inspect_quantization(qdq);
  std::set<std::string> out;
  for (const auto& n : s.plan.at("nodes"))
    if (n.at("precision") == "float") out.insert(n.at("name").get<std::string>());
  return out;
}

TEST_F(PartialQuantTest, FloatLayersKeepsTheMostSensitiveLayersFloat) {
  PartialQuantOptions o = options("k2.qdq.onnx");
  o.float_layers = 2;
  o.trt_cache = path("k2.cache");
  const PartialQuantReport r = partial_quantize(o);
  EXPECT_TRUE(r.warnings.empty());  // nothing was timed
  const SensitivityReport s = read_sensitivity(path("m.sens.json"));
  ASSERT_EQ(r.chosen.layers.size(), 2u);
  EXPECT_EQ(r.chosen.layers[0], s.layers[0].name);
  EXPECT_EQ(r.chosen.layers[1], s.layers[1].name);
  std::set<std::string> expected;
  for (int i = 0; i < 2; ++i)
    expected.insert(s.layers[i].nodes.begin(), s.layers[i].nodes.end());
  EXPECT_EQ(float_nodes_of(path("k2.qdq.onnx")), expected);
  EXPECT_TRUE(fs::exists(path("k2.cache")));
  const PreparedModel m = prepare_model(path("k2.qdq.onnx"));
  EXPECT_TRUE(m.int8);
}

// --reduce-range with a sweep measured on 8-bit weights: the ranking is used, with a warning saying so, and
// the export's INT8 weights are 7-bit.
TEST_F(PartialQuantTest, ReducedRangeWithAnEightBitSweepWarnsAndExportsSevenBitWeights) {
  PartialQuantOptions o = options("k1-reduced.qdq.onnx");
  o.float_layers = 1;
  o.reduce_range = true;
  const PartialQuantReport r = partial_quantize(o);
  EXPECT_EQ(r.weights, "7-bit");
  EXPECT_EQ(to_json(r).at("weights"), "7-bit");
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_NE(
      r.warnings[0].find("measured with 8-bit weights and symmetric activations; this quantization uses "
                         "7-bit weights"),
      std::string::npos)
      << r.warnings[0];
  const PreparedModel m = prepare_model(path("k1-reduced.qdq.onnx"));
  ASSERT_FALSE(m.engine_options.weight_scales.empty());
  EXPECT_EQ(inspect_quantization(path("k1-reduced.qdq.onnx")).plan.at("weight_max_code"), 63);
}

TEST_F(PartialQuantTest, BudgetSearchStopsAtTheFirstConfigurationWithinBudget) {
  PartialQuantOptions o = options("budget.qdq.onnx");
  o.images = kVal;
  o.max_drop_points = 100;  // anything goes: full INT8 is accepted
  PartialQuantReport r = partial_quantize(o);
  EXPECT_TRUE(r.budget_met);
  EXPECT_TRUE(r.chosen.layers.empty());
  ASSERT_EQ(r.steps.size(), 1u);
  EXPECT_EQ(r.selection_metric, "pseudo-map");
  EXPECT_DOUBLE_EQ(r.float_map, 1.0);
  // The steps' latencies are the engine's: a CPU without VNNI times the f32 simulation, and says so.
  const auto says_not_int8_speed = [](const PartialQuantReport& report) {
    return std::any_of(report.warnings.begin(), report.warnings.end(), [](const std::string& w) {
      return w.find("latencies of the configurations are not INT8 speed") != std::string::npos;
    });
  };
  EXPECT_EQ(says_not_int8_speed(r), !int8_convolutions_run_in_s8());
  EXPECT_EQ(to_json(r).at("warnings").dump().find("not INT8 speed") != std::string::npos,
            !int8_convolutions_run_in_s8());

  o.max_drop_points = 0;  // nothing may be lost: the search adds layers until the detections are float's
  r = partial_quantize(o);
  ASSERT_GE(r.steps.size(), 2u);
  if (r.budget_met) {
    EXPECT_LE(r.chosen.drop, 0.0);
    EXPECT_GE(r.chosen.map, r.float_map);
  }
  std::set<std::string> chosen_nodes;
  const SensitivityReport s = read_sensitivity(path("m.sens.json"));
  for (const auto& l : s.layers)
    for (const std::string& name : r.chosen.layers)
      if (l.name == name) chosen_nodes.insert(l.nodes.begin(), l.nodes.end());
  EXPECT_EQ(float_nodes_of(path("budget.qdq.onnx")), chosen_nodes);
  // Every pruning step evaluated a configuration with one layer fewer than the greedy prefix.
  for (const PartialStep& step : r.steps)
    EXPECT_GE(step.map, 0.0);
}

TEST_F(PartialQuantTest, BudgetSearchKeepsNoMoreLayersFloatThanTheCap) {
  PartialQuantOptions o = options("cap.qdq.onnx");
  o.images = kVal;
  o.max_drop_points = 0;
  o.max_float_layers = 1;
  const PartialQuantReport r = partial_quantize(o);
  EXPECT_EQ(r.max_float_layers, 1);
  EXPECT_LE(r.steps.size(), 2u);  // full INT8, then one layer float
  EXPECT_LE(r.chosen.layers.size(), 1u);
  for (const PartialStep& step : r.steps)
    EXPECT_LE(step.layers.size(), 1u) << step.note;
  if (!r.budget_met) {
    EXPECT_EQ(r.fallback, "within-noise");
    for (const PartialStep& step : r.steps)
      EXPECT_LE(step.map, r.best.map) << step.note;
    // Fewer float layers than the best configuration only within one standard error of it.
    EXPECT_LE(r.chosen.layers.size(), r.best.layers.size());
    if (r.chosen.layers.size() < r.best.layers.size()) {
      EXPECT_GE(r.chosen.se_vs_best, 0.0);
      EXPECT_GE(r.chosen.map, r.best.map - r.chosen.se_vs_best);
    }
    EXPECT_NE(format_tradeoff(r).find("at most 1 float layers"), std::string::npos);
    const nlohmann::json j = to_json(r);
    EXPECT_EQ(j.at("fallback"), "within-noise");
    EXPECT_EQ(j.at("best").at("float_layers"), r.best.layers.size());
  }
  EXPECT_EQ(float_nodes_of(path("cap.qdq.onnx")).size() > 0, !r.chosen.layers.empty());

  o.fallback = "best";  // the configuration with the best selection mAP is the one kept
  const PartialQuantReport best = partial_quantize(o);
  if (!best.budget_met) {
    for (const PartialStep& step : best.steps)
      EXPECT_LE(step.map, best.chosen.map) << step.note;
    EXPECT_EQ(best.chosen.layers, best.best.layers);
  }
  o.fallback = "lucky";
  EXPECT_THROW(partial_quantize(o), Error);
  o.fallback = "within-noise";

  o.max_float_layers = -1;
  EXPECT_THROW(partial_quantize(o), Error);
  o.max_float_layers.reset();
  o.max_float_fraction = 1.5;
  EXPECT_THROW(partial_quantize(o), Error);
}

TEST_F(PartialQuantTest, BiasCorrectionIsScoredOnTheSelectionSetAndKeptOnlyIfBetter) {
  PartialQuantOptions o = options("bias.qdq.onnx");
  o.float_layers = 1;
  o.bias_correction = true;
  o.bias_images = 4;
  EXPECT_THROW(partial_quantize(o), Error);  // nothing to measure and score on without images
  o.images = kVal;
  const PartialQuantReport r = partial_quantize(o);
  ASSERT_FALSE(r.bias_correction.is_null());
  ASSERT_GE(r.steps.size(), 2u);
  const PartialStep& corrected = r.steps.back();
  EXPECT_TRUE(corrected.note.ends_with("bias correction")) << corrected.note;
  EXPECT_EQ(corrected.layers, r.steps.front().layers);  // the same float layers, corrected
  const bool kept = r.bias_correction.at("kept").get<bool>();
  EXPECT_EQ(kept, corrected.map > r.steps.front().map);
  EXPECT_TRUE(r.chosen.note.ends_with(kept ? "bias correction" : "requested")) << r.chosen.note;
  EXPECT_GT(r.bias_correction.at("convs").get<int>(), 0);
  EXPECT_TRUE(fs::exists(path("bias.qdq.onnx")));
}

TEST_F(PartialQuantTest, TryMethodsSearchesEveryCalibrationMethodAndKeepsTheBest) {
  PartialQuantOptions o = options("methods.qdq.onnx");
  o.images = kVal;
  o.max_drop_points = 5;
  o.try_methods = true;
  const PartialQuantReport r = partial_quantize(o);
  ASSERT_EQ(r.method_results.size(), 4u);  // max (the file's) first, then the other three
  EXPECT_EQ(r.method_results[0].method, "max");
  const MethodResult* winner = nullptr;
  for (const MethodResult& m : r.method_results)
    if (m.method == r.method) winner = &m;
  ASSERT_NE(winner, nullptr);
  for (const MethodResult& m : r.method_results)
    if (m.met && winner->met) {
      EXPECT_LE(winner->float_layers, m.float_layers) << m.method;
    }
  for (const PartialStep& step : r.steps)
    EXPECT_EQ(step.note.rfind("[" + r.method + "]", 0), 0u) << step.note;
}

// `partq auto`'s stages share one selection set: a stage that asks after the first gets the same images and
// float score without reading the images again (here they are gone by then), and asking for other images is
// an error rather than a silent reuse.
TEST_F(PartialQuantTest, SharedSelectionIsLoadedOnceForEveryStage) {
  const fs::path images = dir_ / "shared_selection";
  fs::create_directories(images);
  size_t copied = 0;
  for (const auto& e : fs::directory_iterator(kVal))
    if (e.path().extension() == ".jpg" && copied < 2) {
      fs::copy_file(e.path(), images / e.path().filename());
      ++copied;
    }
  ASSERT_EQ(copied, 2u);
  const partial::QuantModel m = partial::load_quant_model(
      {.model = kModel, .calib = path("m.calib.json"), .preset = std::nullopt, .batch = 2});
  const partial::SampleOptions sample{
      .images = images.string(), .annotations = "", .limit = 2, .seed = 0, .batch = 2, .quiet = true};
  partial::SharedSelection shared;
  const partial::Selection& first = shared.get(m, sample);
  EXPECT_EQ(first.set().images(), 2u);
  EXPECT_EQ(first.scorer().metric(), partial::Metric::kPseudoMap);

  fs::remove_all(images);
  EXPECT_EQ(&shared.get(m, sample), &first);
  PartialQuantOptions o = options("shared.qdq.onnx");
  o.images = images.string();
  o.limit = 2;
  o.max_drop_points = 100.0;  // any configuration is within budget: the search stops at full INT8
  const PartialQuantReport r = partial::partial_quantize_shared(o, shared);
  EXPECT_EQ(r.selection_count, 2u);
  EXPECT_EQ(r.float_map, first.reference().value);
  EXPECT_TRUE(fs::exists(path("shared.qdq.onnx")));

  partial::SampleOptions other = sample;
  other.seed = 1;
  EXPECT_THROW(shared.get(m, other), Error);
}

TEST_F(PartialQuantTest, BadRequestsAreClearErrors) {
  auto message = [](const PartialQuantOptions& o) {
    try {
      partial_quantize(o);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  PartialQuantOptions o = options("bad.qdq.onnx");
  EXPECT_NE(message(o).find("exactly one"), std::string::npos);
  o.float_layers = 1;
  o.max_drop_points = 0.3;
  EXPECT_NE(message(o).find("exactly one"), std::string::npos);
  o.float_layers.reset();
  EXPECT_NE(message(o).find("--images"), std::string::npos);
  o = options("bad.qdq.onnx");
  o.float_layers = 1;
  o.objective = "fastest";
  EXPECT_NE(message(o).find("fastest"), std::string::npos);
  EXPECT_FALSE(fs::exists(path("bad.qdq.onnx")));
}

TEST_F(PartialQuantTest, SensitivityFileOfAnotherModelIsAnError) {
  // yolov5n's calibration and a sensitivity file made for yolox_nano.
  calibrate_model({.model = kOther,
                   .images = kTrain,
                   .output = path("other.calib.json"),
                   .num_images = 2,
                   .batch = 2,
                   .quiet = true,
                   .measure_overhead = false});
  PartialQuantOptions o = options("other.qdq.onnx");
  o.model = kOther;
  o.calib = path("other.calib.json");
  o.float_layers = 1;
  try {
    partial_quantize(o);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("m.sens.json"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("another model"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace partq
