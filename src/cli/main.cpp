// partq: turn FP32 ONNX detectors into fast, accurate INT8 models. This file only dispatches: every command
// lives in its own <name>_command.cpp and calls the public library API.
#include <partq/error.hpp>

#include <fmt/core.h>

#include <exception>

#include "cli_common.hpp"

namespace partq::cli {
void register_inspect(CLI::App&, GlobalOptions&);
void register_eval(CLI::App&, GlobalOptions&);
void register_coco_eval(CLI::App&, GlobalOptions&);
void register_detect(CLI::App&, GlobalOptions&);
void register_bench(CLI::App&, GlobalOptions&);
void register_run(CLI::App&, GlobalOptions&);
void register_convert(CLI::App&, GlobalOptions&);
void register_calibrate(CLI::App&, GlobalOptions&);
void register_quantize(CLI::App&, GlobalOptions&);
void register_sensitivity(CLI::App&, GlobalOptions&);
void register_auto(CLI::App&, GlobalOptions&);
void register_report(CLI::App&, GlobalOptions&);
void register_qat(CLI::App&, GlobalOptions&);

constexpr RegisterFn kCommands[] = {
    register_inspect, register_eval,    register_coco_eval, register_detect,   register_bench,
    register_run,     register_convert, register_calibrate, register_quantize, register_sensitivity,
    register_auto,    register_report,  register_qat};
}  // namespace partq::cli

int main(int argc, char** argv) {
  using namespace partq::cli;
  CLI::App app{"partq " PARTQ_VERSION
               " - quantize FP32 ONNX object detectors to accurate INT8, evaluate and benchmark them"};
  app.set_version_flag("--version", "partq " PARTQ_VERSION);
  app.require_subcommand(1);
  GlobalOptions global;
  for (RegisterFn add_command : kCommands)
    add_command(app, global);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const partq::Error& e) {
    fmt::print(stderr, "partq: error: {}\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    // Anything else is a bug or an environment failure (out of memory); still one line and a failure code.
    fmt::print(stderr, "partq: internal error: {}\n", e.what());
    return 2;
  }
  return 0;
}
