#include <partq/pipeline.hpp>

#include <fmt/core.h>

#include "cli_common.hpp"

namespace partq::cli {

void register_convert(CLI::App& app, GlobalOptions& global) {
  auto options = std::make_shared<ConvertOptions>();
  CLI::App* cmd = app.add_subcommand("convert",
                                     "Rewrite a model: re-specialise a fixed-batch export to another "
                                     "batch (e.g. for runtimes that need a static batch)");
  cmd->add_option("model", options->model, "ONNX model")->required();
  cmd->add_option("-o,--output", options->output, "Output ONNX file")->required();
  cmd->add_option("--batch", options->batch, "New batch size (0 = keep)");
  add_common_flags(*cmd, global);
  cmd->callback([options, &global] {
    convert_model(*options);
    if (!global.quiet) fmt::print("wrote {}\n", options->output);
    write_json_result(global,
                      {{"model", options->model}, {"output", options->output}, {"batch", options->batch}});
  });
}

}  // namespace partq::cli
