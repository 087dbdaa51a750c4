#include <array>
#include <utility>

#include "partq/calibration.hpp"
#include "partq/error.hpp"

namespace partq {

namespace {

// The one table of method names (parse and print both read it).
constexpr std::array<std::pair<CalibrationMethod, std::string_view>, 4> kMethodNames{{
    {CalibrationMethod::kMax, "max"},
    {CalibrationMethod::kEntropy, "entropy"},
    {CalibrationMethod::kPercentile, "percentile"},
    {CalibrationMethod::kMse, "mse"},
}};

}  // namespace

CalibrationMethod parse_calibration_method(std::string_view name) {
  for (const auto& [method, method_name] : kMethodNames) {
    if (name == method_name) return method;
  }
  fail("unknown calibration method '{}' (expected one of: max, entropy, percentile, mse)", name);
}

std::string_view calibration_method_name(CalibrationMethod method) {
  for (const auto& [m, method_name] : kMethodNames) {
    if (m == method) return method_name;
  }
  return "unknown";
}

std::string_view calibration_issue_name(CalibrationIssue issue) {
  switch (issue) {
    case CalibrationIssue::kNone:
      return "none";
    case CalibrationIssue::kNoData:
      return "no data";
    case CalibrationIssue::kAllZeros:
      return "all zeros";
    case CalibrationIssue::kZeroAmax:
      return "zero amax";
    case CalibrationIssue::kTooFewBins:
      return "too few bins";
  }
  return "unknown";
}

}  // namespace partq
