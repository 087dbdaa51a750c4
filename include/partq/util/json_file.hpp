// JSON result files (benchmarks, calibration, sensitivity): pretty-printed, written atomically.
#pragma once

#include <partq/error.hpp>

#include <nlohmann/json.hpp>

#include <string>

namespace partq {

// Writes `value` indented by 2 spaces plus a final newline, via write_file_atomic.
void write_json_file(const std::string& path, const nlohmann::json& value);

// Parses a JSON file; partq::Error naming the file (and the parser's position) on failure.
nlohmann::json read_json_file(const std::string& path);

// j[key] as a T; partq::Error naming `where` and the key when it is missing or of the wrong type.
template <typename T>
T json_field(const nlohmann::json& j, const char* key, const std::string& where) {
  if (!j.is_object() || !j.contains(key)) fail("{}: missing '{}'", where, key);
  try {
    return j.at(key).get<T>();
  } catch (const nlohmann::json::exception& e) {
    fail("{}: '{}' has the wrong type ({})", where, key, e.what());
  }
}

}  // namespace partq
