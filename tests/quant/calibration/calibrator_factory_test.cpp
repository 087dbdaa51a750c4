#include <gtest/gtest.h>

#include "partq/calibration.hpp"
#include "partq/error.hpp"

namespace partq {
namespace {

TEST(CalibratorFactory, MethodNamesSelectTheCalibrator) {
  EXPECT_NE(dynamic_cast<MaxCalibrator*>(make_calibrator("max", {.tensor_name = "a"}).get()), nullptr);
  for (const char* name : {"entropy", "percentile", "mse"}) {
    auto calib = make_calibrator(name, {.tensor_name = "a"});
    EXPECT_NE(dynamic_cast<HistogramCalibrator*>(calib.get()), nullptr) << name;
    EXPECT_EQ(calibration_method_name(calib->options().method), name);
    EXPECT_EQ(calib->options().tensor_name, "a");
  }
}

TEST(CalibratorFactory, UnknownMethodIsAClearError) {
  try {
    make_calibrator("kl", {.tensor_name = "a"});
    FAIL() << "accepted";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("'kl'"), std::string::npos) << message;
    EXPECT_NE(message.find("max, entropy, percentile, mse"), std::string::npos) << message;
  }
  EXPECT_THROW(parse_calibration_method("Max"), Error);
}

TEST(CalibratorFactory, InvalidHistogramOptionsAreErrors) {
  EXPECT_THROW(make_calibrator("entropy", {.tensor_name = "a", .num_bins = 0}), Error);
  EXPECT_THROW(make_calibrator("mse", {.tensor_name = "a", .stride = 0}), Error);
  EXPECT_THROW(make_calibrator("percentile", {.tensor_name = "a", .percentile = -0.5}), Error);
}

TEST(CalibratorFactory, OneHistogramServesEveryMethod) {
  auto calib = make_calibrator("entropy", {.tensor_name = "a"});
  std::vector<float> values(10000);
  for (size_t k = 0; k < values.size(); ++k)
    values[k] = static_cast<float>(k % 1000) / 100.0f;
  calib->collect(values);
  auto& histogram = dynamic_cast<HistogramCalibrator&>(*calib);
  for (auto method : {CalibrationMethod::kMax, CalibrationMethod::kEntropy, CalibrationMethod::kPercentile,
                      CalibrationMethod::kMse}) {
    const auto result = histogram.compute_amax(method);
    EXPECT_TRUE(result.ok()) << calibration_method_name(method) << ": " << result.message;
    EXPECT_GT(result.amax, 0.0f);
    EXPECT_LE(result.amax, 9.99f + 1e-5f);
  }
  EXPECT_EQ(histogram.compute_amax(CalibrationMethod::kMax).amax, 9.99f);
}

}  // namespace
}  // namespace partq
