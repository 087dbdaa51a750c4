// Small helpers shared by the IR tests.
#pragma once

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "partq/ir.hpp"

namespace partq::test {

inline std::string model_path(const std::string& file) {
  return std::string(PARTQ_SHARED_DIR) + "/models/" + file;
}

// A path in a per-process scratch folder under the build tree.
inline std::string temp_path(const std::string& file) {
  const auto dir = std::filesystem::path(PARTQ_BINARY_DIR) / "ir_test_tmp" / std::to_string(::getpid());
  std::filesystem::create_directories(dir);
  return (dir / file).string();
}

inline std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

inline void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

inline std::map<std::string, int> op_counts(const Graph& g) {
  std::map<std::string, int> counts;
  for (const auto& n : g.nodes())
    ++counts[n->op_type];
  return counts;
}

}  // namespace partq::test
