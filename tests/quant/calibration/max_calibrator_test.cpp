#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "partq/calibration.hpp"
#include "partq/error.hpp"

namespace partq {
namespace {

TEST(MaxCalibrator, RunningMaxOfAbsoluteValuesAcrossBatches) {
  MaxCalibrator calib({.tensor_name = "act"});
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> uniform(-3.0f, 3.0f);
  float expected = 0.0f;
  for (int batch = 0; batch < 4; ++batch) {
    std::vector<float> values(1000);
    for (float& v : values)
      v = uniform(rng);
    if (batch == 2) values[17] = -5.25f;  // the largest |x| is negative
    for (float v : values)
      expected = std::max(expected, std::fabs(v));
    calib.collect(values);
  }
  const CalibrationResult result = calib.compute_amax();
  ASSERT_TRUE(result.ok()) << result.message;
  EXPECT_EQ(result.amax, 5.25f);
  EXPECT_EQ(result.amax, expected);
  EXPECT_EQ(calib.num_values(), 4000u);
}

TEST(MaxCalibrator, NoDataIsReportedNotZero) {
  MaxCalibrator calib({.tensor_name = "never_seen"});
  calib.collect(std::span<const float>{});
  const CalibrationResult result = calib.compute_amax();
  EXPECT_EQ(result.issue, CalibrationIssue::kNoData);
  EXPECT_FALSE(result.ok());
  EXPECT_NE(result.message.find("never_seen"), std::string::npos) << result.message;
}

TEST(MaxCalibrator, OnlyZerosIsReported) {
  MaxCalibrator calib({.tensor_name = "dead_relu"});
  std::vector<float> zeros(64, 0.0f);
  zeros[3] = -0.0f;
  calib.collect(zeros);
  const CalibrationResult result = calib.compute_amax();
  EXPECT_EQ(result.issue, CalibrationIssue::kAllZeros);
  EXPECT_NE(result.message.find("dead_relu"), std::string::npos) << result.message;
}

TEST(MaxCalibrator, NanOrInfThrowsNamingTheTensorAndKeepsState) {
  MaxCalibrator calib({.tensor_name = "/model.3/act"});
  calib.collect(std::vector<float>{1.0f, -2.0f});
  std::vector<float> bad{0.5f, std::numeric_limits<float>::quiet_NaN(), 100.0f};
  try {
    calib.collect(bad);
    FAIL() << "NaN accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/model.3/act"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("NaN"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("index 1"), std::string::npos) << e.what();
  }
  std::vector<float> inf{-std::numeric_limits<float>::infinity()};
  EXPECT_THROW(calib.collect(inf), Error);
  const CalibrationResult result = calib.compute_amax();
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result.amax, 2.0f);  // the rejected batches left nothing behind
  EXPECT_EQ(calib.num_values(), 2u);
}

TEST(MaxCalibrator, ResetForgetsEverything) {
  MaxCalibrator calib({.tensor_name = "t"});
  calib.collect(std::vector<float>{4.0f});
  calib.reset();
  EXPECT_EQ(calib.compute_amax().issue, CalibrationIssue::kNoData);
  calib.collect(std::vector<float>{0.25f});
  EXPECT_EQ(calib.compute_amax().amax, 0.25f);
}

}  // namespace
}  // namespace partq
