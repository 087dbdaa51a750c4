#include "cli_common.hpp"

#include <malloc.h>

#include <partq/util/json_file.hpp>

namespace partq::cli {

void write_json_result(const GlobalOptions& global, const nlohmann::json& value) {
  if (!global.json.empty()) write_json_file(global.json, value);
}

void add_common_flags(CLI::App& command, GlobalOptions& global) {
  command.add_option("--json", global.json, "Also write the results as JSON to this file");
  command.add_flag("-q,--quiet", global.quiet, "No progress bar or informational output");
}

void keep_freed_memory_mapped() {
  mallopt(M_MMAP_MAX, 0);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
}

}  // namespace partq::cli
