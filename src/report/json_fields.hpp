// Typed access to the fields of one JSON input file, with errors that name the file and the full key
// ("run.sensitivity.json: sensitivity file: 'layers[3].value' must be a number, got \"x\"").
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace partq::report {

class JsonFields {
 public:
  // `kind` says what the file should be ("sensitivity file"); `path` is the key prefix of `json` in it.
  JsonFields(const nlohmann::json& json, std::string source, std::string kind, std::string path = "");

  bool has(const std::string& key) const;  // present and not null
  std::string string(const std::string& key) const;
  std::optional<std::string> optional_string(const std::string& key) const;  // absent or null -> nullopt
  double number(const std::string& key) const;
  std::optional<double> optional_number(const std::string& key) const;
  int64_t integer(const std::string& key) const;
  std::optional<int64_t> optional_integer(const std::string& key) const;
  std::optional<bool> optional_boolean(const std::string& key) const;
  std::vector<std::string> strings(const std::string& key) const;  // an array of strings
  JsonFields object(const std::string& key) const;
  std::vector<JsonFields> objects(const std::string& key) const;  // an array of objects

  [[noreturn]] void fail_key(const std::string& key, const std::string& problem) const;
  const std::string& source() const { return source_; }

 private:
  const nlohmann::json& at(const std::string& key) const;  // present (possibly null), or fail
  std::string full(const std::string& key) const { return path_.empty() ? key : path_ + "." + key; }

  const nlohmann::json& json_;
  std::string source_;
  std::string kind_;
  std::string path_;
};

}  // namespace partq::report
