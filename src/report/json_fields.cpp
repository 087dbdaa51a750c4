#include "json_fields.hpp"

#include "partq/error.hpp"

#include <cmath>

namespace partq::report {

namespace {

std::string short_dump(const nlohmann::json& value) {
  std::string text = value.dump();
  if (text.size() > 40) text = text.substr(0, 37) + "...";
  return text;
}

}  // namespace

JsonFields::JsonFields(const nlohmann::json& json, std::string source, std::string kind, std::string path)
    : json_(json), source_(std::move(source)), kind_(std::move(kind)), path_(std::move(path)) {
  if (!json_.is_object()) {
    if (path_.empty())
      fail("{}: not a {} (expected a JSON object, got {})", source_, kind_, short_dump(json_));
    fail("{}: {}: '{}' must be an object, got {}", source_, kind_, path_, short_dump(json_));
  }
}

void JsonFields::fail_key(const std::string& key, const std::string& problem) const {
  fail("{}: {}: '{}' {}", source_, kind_, full(key), problem);
}

const nlohmann::json& JsonFields::at(const std::string& key) const {
  auto it = json_.find(key);
  if (it == json_.end()) fail("{}: {} has no '{}'", source_, kind_, full(key));
  return *it;
}

bool JsonFields::has(const std::string& key) const {
  auto it = json_.find(key);
  return it != json_.end() && !it->is_null();
}

std::string JsonFields::string(const std::string& key) const {
  const nlohmann::json& value = at(key);
  if (!value.is_string()) fail_key(key, "must be a string, got " + short_dump(value));
  return value.get<std::string>();
}

std::optional<std::string> JsonFields::optional_string(const std::string& key) const {
  if (!has(key)) return std::nullopt;
  return string(key);
}

double JsonFields::number(const std::string& key) const {
  const nlohmann::json& value = at(key);
  if (!value.is_number()) fail_key(key, "must be a number, got " + short_dump(value));
  const double x = value.get<double>();
  if (!std::isfinite(x)) fail_key(key, "must be a finite number");
  return x;
}

std::optional<double> JsonFields::optional_number(const std::string& key) const {
  if (!has(key)) return std::nullopt;
  return number(key);
}

int64_t JsonFields::integer(const std::string& key) const {
  const nlohmann::json& value = at(key);
  if (value.is_number_integer()) return value.get<int64_t>();
  if (value.is_number_float()) {
    const double x = value.get<double>();
    if (std::isfinite(x) && x == std::floor(x) && std::fabs(x) < 9e15) return static_cast<int64_t>(x);
  }
  fail_key(key, "must be an integer, got " + short_dump(value));
}

std::optional<int64_t> JsonFields::optional_integer(const std::string& key) const {
  if (!has(key)) return std::nullopt;
  return integer(key);
}

std::optional<bool> JsonFields::optional_boolean(const std::string& key) const {
  if (!has(key)) return std::nullopt;
  const nlohmann::json& value = at(key);
  if (!value.is_boolean()) fail_key(key, "must be true or false, got " + short_dump(value));
  return value.get<bool>();
}

std::vector<std::string> JsonFields::strings(const std::string& key) const {
  const nlohmann::json& value = at(key);
  if (!value.is_array()) fail_key(key, "must be an array of strings, got " + short_dump(value));
  std::vector<std::string> out;
  out.reserve(value.size());
  for (size_t i = 0; i < value.size(); ++i) {
    if (!value[i].is_string())
      fail_key(key + "[" + std::to_string(i) + "]", "must be a string, got " + short_dump(value[i]));
    out.push_back(value[i].get<std::string>());
  }
  return out;
}

JsonFields JsonFields::object(const std::string& key) const {
  return JsonFields(at(key), source_, kind_, full(key));
}

std::vector<JsonFields> JsonFields::objects(const std::string& key) const {
  const nlohmann::json& value = at(key);
  if (!value.is_array()) fail_key(key, "must be an array, got " + short_dump(value));
  std::vector<JsonFields> out;
  out.reserve(value.size());
  for (size_t i = 0; i < value.size(); ++i)
    out.emplace_back(value[i], source_, kind_, full(key) + "[" + std::to_string(i) + "]");
  return out;
}

}  // namespace partq::report
