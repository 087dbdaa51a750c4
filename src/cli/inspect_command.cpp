#include <partq/pipeline.hpp>

#include <fmt/core.h>

#include "cli_common.hpp"

namespace partq::cli {

void register_inspect(CLI::App& app, GlobalOptions& global) {
  struct Options {
    std::string model;
  };
  auto options = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand("inspect",
                                     "Describe a model: I/O, op counts, parameters, FLOPs, and the "
                                     "layers a quantizer would touch");
  cmd->add_option("model", options->model, "ONNX model")->required();
  add_common_flags(*cmd, global);
  cmd->callback([options, &global] {
    const ModelSummary summary = inspect_model(options->model);
    fmt::print("{}", format_summary(summary));
    write_json_result(global, to_json(summary));
  });
}

}  // namespace partq::cli
