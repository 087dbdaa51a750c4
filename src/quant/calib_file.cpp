// *.calib.json read / write and the check that a table belongs to the model it is used with.
#include <cmath>
#include <set>

#include <fmt/ranges.h>

#include "partq/error.hpp"
#include "partq/quant.hpp"
#include "partq/quant_calib_file.hpp"
#include "partq/util/json_file.hpp"

namespace partq {
namespace {

constexpr const char* kFormat = "partq.calib";
constexpr int kVersion = 1;

}  // namespace

const char* partq_version() {
  return PARTQ_VERSION;
}

nlohmann::json to_json(const CalibrationTable& table) {
  nlohmann::json amax = nlohmann::json::object();
  for (const auto& [name, value] : table.amax)
    amax[name] = value;
  return {{"format", kFormat},
          {"version", kVersion},
          {"partq_version", table.partq_version.empty() ? partq_version() : table.partq_version},
          {"method", table.method},
          {"num_images", table.num_images},
          {"model", table.model},
          {"model_fingerprint", table.model_fingerprint},
          {"settings", table.settings},
          {"amax", amax}};
}

CalibrationTable calibration_from_json(const nlohmann::json& json, const std::string& label) {
  if (!json.is_object() || json.value("format", std::string()) != kFormat)
    fail("{}: not a partq calibration file (expected \"format\": \"{}\")", label, kFormat);
  auto field = [&](const char* key) -> const nlohmann::json& {
    if (!json.contains(key)) fail("{}: calibration file has no '{}'", label, key);
    return json.at(key);
  };
  if (!field("version").is_number_integer() || field("version").get<int>() != kVersion)
    fail("{}: calibration file version {} is not supported (this partq reads version {})", label,
         field("version").dump(), kVersion);
  CalibrationTable t;
  try {
    t.partq_version = field("partq_version").get<std::string>();
    t.method = field("method").get<std::string>();
    t.num_images = field("num_images").get<int64_t>();
    t.model = json.value("model", std::string());
    t.model_fingerprint = field("model_fingerprint").get<std::string>();
    t.settings = json.value("settings", nlohmann::json::object());
  } catch (const nlohmann::json::exception& e) {
    fail("{}: malformed calibration file ({})", label, e.what());
  }
  const auto& amax = field("amax");
  if (!amax.is_object()) fail("{}: 'amax' must be an object of tensor name -> amax", label);
  for (const auto& [name, value] : amax.items()) {
    // NaN / inf are written by nlohmann as null: reject them here rather than quantize with them.
    if (!value.is_number() || !std::isfinite(value.get<double>()) || value.get<double>() <= 0)
      fail("{}: tensor '{}' has amax {}, expected a finite positive number", label, name, value.dump());
    t.amax[name] = value.get<float>();
  }
  return t;
}

void write_calibration(const std::string& path, const CalibrationTable& table) {
  write_json_file(path, to_json(table));
}

CalibrationTable read_calibration(const std::string& path) {
  return calibration_from_json(read_json_file(path), path);
}

std::string check_calibration_matches(const CalibrationTable& table, const Graph& graph,
                                      const std::string& label) {
  const std::string fingerprint = model_fingerprint(graph);
  if (fingerprint == table.model_fingerprint) return "";
  std::vector<std::string> unknown;
  for (const auto& [name, value] : table.amax)
    if (!graph.find_value(name)) unknown.push_back(name);
  if (!unknown.empty()) {
    const size_t shown = std::min<size_t>(unknown.size(), 5);
    fail(
        "{}: calibration file was made for another model{} (fingerprint {}, this model {}): {} of its {} "
        "tensors do not exist in this model: {}{}",
        label, table.model.empty() ? "" : " ('" + table.model + "')", table.model_fingerprint, fingerprint,
        unknown.size(), table.amax.size(),
        fmt::join(unknown.begin(), unknown.begin() + static_cast<std::ptrdiff_t>(shown), ", "),
        unknown.size() > shown ? ", ..." : "");
  }
  return fmt::format(
      "{}: calibration file was made for a model with the same tensor names but another fingerprint ({}, "
      "this "
      "model {}): other weights or another graph version?",
      label, table.model_fingerprint, fingerprint);
}

}  // namespace partq
