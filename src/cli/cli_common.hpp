// What every partq command shares: the global flags and how results leave the program.
#pragma once

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <functional>
#include <string>

namespace partq::cli {

struct GlobalOptions {
  bool quiet = false;  // no progress bars, no informational lines (results and errors still print)
  std::string json;    // write the command's results as JSON here
};

// Each command registers its subcommand, flags and the action to run when it is chosen.
using RegisterFn = void (*)(CLI::App& app, GlobalOptions& global);

// Writes `value` to global.json if it was given (atomically).
void write_json_result(const GlobalOptions& global, const nlohmann::json& value);

// Adds the flags every command takes (--json, --quiet) to a subcommand.
void add_common_flags(CLI::App& command, GlobalOptions& global);

}  // namespace partq::cli
