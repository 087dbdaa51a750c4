#include "cli_common.hpp"

#include <partq/util/json_file.hpp>

namespace partq::cli {

void write_json_result(const GlobalOptions& global, const nlohmann::json& value) {
  if (!global.json.empty()) write_json_file(global.json, value);
}

void add_common_flags(CLI::App& command, GlobalOptions& global) {
  command.add_option("--json", global.json, "Also write the results as JSON to this file");
  command.add_flag("-q,--quiet", global.quiet, "No progress bar or informational output");
}

}  // namespace partq::cli
