// What every partq command shares: the global flags and how results leave the program.
#pragma once

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <functional>
#include <initializer_list>
#include <optional>
#include <string>

namespace partq::cli {

struct GlobalOptions {
  bool quiet = false;  // no progress bars, no informational lines (results and errors still print)
  std::string json;    // write the command's results as JSON here
};

// Each command registers its subcommand, flags and the action to run when it is chosen.
using RegisterFn = void (*)(CLI::App& app, GlobalOptions& global);

// Checked first in every command: the output files it was given (empty ones skipped) and --json can be
// written, and its output directories made, so a mistyped destination fails before the work, not after it.
void check_outputs(const GlobalOptions& global, std::initializer_list<std::string> files,
                   std::initializer_list<std::string> directories = {});

// Writes `value` to global.json if it was given (atomically).
void write_json_result(const GlobalOptions& global, const nlohmann::json& value);

// For commands that allocate and free many large buffers in turn (engine arenas, tap copies): keep freed
// memory in the heap instead of letting glibc unmap it, so the next allocation reuses pages already mapped
// (measured: sensitivity sweeps and calibration spent most of their system time re-faulting pages).
void keep_freed_memory_mapped();

// --max-float-layers / --max-float-fraction: the cap of a partial-quantization budget search (quantize,
// auto).
void add_float_cap_options(CLI::App& command, std::optional<int>& max_layers, double& max_fraction,
                           std::string& fallback);

// --asymmetric-activations (quantize, sensitivity, auto).
void add_asymmetric_flag(CLI::App& command, bool& asymmetric);
void add_reduce_range_flag(CLI::App& command, bool& reduce_range);

// Adds the flags every command takes (--json, --quiet) to a subcommand.
void add_common_flags(CLI::App& command, GlobalOptions& global);

// `--preset NAME` with its help text listing every preset partq knows; `what` says what the preset chooses
// for the command ("Preprocessing", "Detector family").
void add_preset_option(CLI::App& command, const std::string& what, std::string& preset);

}  // namespace partq::cli
