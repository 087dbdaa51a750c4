// The sensitivity sweep as a library user calls it, on yolox_nano with a handful of COCO images: the shared
// (region-only) sweep must give what the naive sweep (one whole-model run per layer) gives.
#include <partq/error.hpp>
#include <partq/ptq.hpp>
#include <partq/sensitivity.hpp>

#include <fmt/core.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <set>

namespace partq {
namespace {

namespace fs = std::filesystem;

const std::string kModel = PARTQ_SHARED_DIR "/models/yolox_nano.onnx";
const std::string kTrain = PARTQ_SHARED_DIR "/data/coco/images/train2017";
const std::string kVal = PARTQ_SHARED_DIR "/data/coco/images/val2017";
const std::string kValLabels = PARTQ_SHARED_DIR "/data/coco/annotations/instances_val2017_subset.json";

class SensitivityTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = fs::temp_directory_path() / fmt::format("partq_sensitivity_{}", ::getpid());
    fs::create_directories(dir_);
    calibrate_model({.model = kModel,
                     .images = kTrain,
                     .output = path("m.calib.json"),
                     .method = "percentile",
                     .num_images = 4,
                     .batch = 2,
                     .quiet = true,
                     .measure_overhead = false});
  }
  static void TearDownTestSuite() { fs::remove_all(dir_); }
  static std::string path(const std::string& name) { return (dir_ / name).string(); }
  static SensitivityOptions options(const std::string& metric, const std::string& mode) {
    return {.model = kModel,
            .calib = path("m.calib.json"),
            .images = kVal,
            .mode = mode,
            .metric = metric,
            .limit = 3,
            .batch = 2,
            .quiet = true};
  }
  static inline fs::path dir_;
};

void expect_matches_naive(const SensitivityReport& r, double tolerance) {
  ASSERT_TRUE(r.naive_measured);
  ASSERT_FALSE(r.layers.empty());
  int shared = 0;
  for (const LayerSensitivity& l : r.layers) {
    EXPECT_NEAR(l.value, l.naive_value, tolerance) << l.name;
    if (l.cone_fraction < 1) ++shared;
  }
  EXPECT_GT(shared, 0) << "no layer re-ran less than the whole model";
}

TEST_F(SensitivityTest, EnableOneSharedSweepEqualsNaiveSweep) {
  SensitivityOptions o = options("sqnr", "enable-one");
  o.compare_naive = true;
  const SensitivityReport r = analyse_sensitivity(o);
  EXPECT_EQ(r.files.size(), 3u);
  EXPECT_GE(r.baseline_float, 199.0);  // float against itself: no noise
  EXPECT_LT(r.baseline_int8, r.baseline_float);
  expect_matches_naive(r, 0.02);  // dB
  for (const LayerSensitivity& l : r.layers) {
    EXPECT_GT(l.value, r.baseline_int8) << l.name << ": one INT8 layer is noisier than all of them";
    EXPECT_GE(l.rank, 1);
  }
  for (size_t i = 1; i < r.layers.size(); ++i)
    EXPECT_GE(r.layers[i - 1].sensitivity, r.layers[i].sensitivity);
}

TEST_F(SensitivityTest, LeaveOneOutSharedSweepEqualsNaiveSweep) {
  SensitivityOptions o = options("cosine", "leave-one-out");
  o.compare_naive = true;
  const SensitivityReport r = analyse_sensitivity(o);
  expect_matches_naive(r, 1e-4);
  EXPECT_LT(r.baseline_int8, 1.0);
  EXPECT_DOUBLE_EQ(r.baseline_float, 1.0);
}

TEST_F(SensitivityTest, FileRoundTripsAndSameSeedGivesSameRanking) {
  const SensitivityReport a = analyse_sensitivity(options("pseudo-map", "enable-one"));
  write_sensitivity(path("a.json"), a);
  const SensitivityReport back = read_sensitivity(path("a.json"));
  ASSERT_EQ(back.layers.size(), a.layers.size());
  for (size_t i = 0; i < a.layers.size(); ++i) {
    EXPECT_EQ(back.layers[i].name, a.layers[i].name);
    EXPECT_DOUBLE_EQ(back.layers[i].value, a.layers[i].value);
  }
  EXPECT_EQ(back.mode, "enable-one");
  EXPECT_EQ(back.metric, "pseudo-map");
  EXPECT_EQ(back.files, a.files);
  EXPECT_DOUBLE_EQ(a.baseline_float, 1.0);  // the float model's detections score perfectly on themselves
  const SensitivityReport again = analyse_sensitivity(options("pseudo-map", "enable-one"));
  for (size_t i = 0; i < a.layers.size(); ++i)
    EXPECT_EQ(again.layers[i].name, a.layers[i].name);
}

TEST_F(SensitivityTest, MapMetricUsesLabels) {
  SensitivityOptions o = options("map", "enable-one");
  EXPECT_THROW(analyse_sensitivity(o), Error);  // no annotations
  o.annotations = kValLabels;
  const SensitivityReport r = analyse_sensitivity(o);
  EXPECT_GT(r.baseline_float, 0.05);
  EXPECT_EQ(r.metric, "map");
}

TEST_F(SensitivityTest, BadInputsAreClearErrors) {
  auto message = [](SensitivityOptions o) {
    try {
      analyse_sensitivity(o);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  SensitivityOptions o = options("sqnr", "enable-one");
  o.mode = "one-by-one";
  EXPECT_NE(message(o).find("one-by-one"), std::string::npos);
  o = options("psnr", "enable-one");
  EXPECT_NE(message(o).find("psnr"), std::string::npos);
  o = options("sqnr", "enable-one");
  o.calib = path("missing.calib.json");
  EXPECT_NE(message(o).find("missing.calib.json"), std::string::npos);
  o = options("sqnr", "enable-one");
  o.model = PARTQ_SHARED_DIR "/models/yolov5n.onnx";  // another model's calibration
  EXPECT_NE(message(o).find("m.calib.json"), std::string::npos);
  fs::create_directories(path("empty"));
  o = options("sqnr", "enable-one");
  o.images = path("empty");
  EXPECT_NE(message(o).find("empty"), std::string::npos);
}

}  // namespace
}  // namespace partq
