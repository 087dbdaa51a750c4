// JSON result files (benchmarks, calibration, sensitivity): pretty-printed, written atomically.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

namespace partq {

// Writes `value` indented by 2 spaces plus a final newline, via write_file_atomic.
void write_json_file(const std::string& path, const nlohmann::json& value);

// Parses a JSON file; partq::Error naming the file (and the parser's position) on failure.
nlohmann::json read_json_file(const std::string& path);

}  // namespace partq
