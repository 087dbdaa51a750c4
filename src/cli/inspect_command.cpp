#include <partq/pipeline.hpp>
#include <partq/ptq.hpp>

#include <fmt/core.h>

#include "cli_common.hpp"

namespace partq::cli {

void register_inspect(CLI::App& app, GlobalOptions& global) {
  struct Options {
    std::string model;
    bool quant = false;
    bool keep_first_conv_float = false;
  };
  auto options = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand("inspect",
                                     "Describe a model: I/O, op counts, parameters, FLOPs, and the "
                                     "layers a quantizer would touch");
  cmd->add_option("model", options->model, "ONNX model")->required();
  cmd->add_flag(
      "--quant", options->quant,
      "Also list the quantization plan: each quantizable layer's precision and scale group, the "
      "shared scale groups and the float detection-head decode (read from the Q/DQ of a Q/DQ model)");
  cmd->add_flag("--keep-first-conv-float", options->keep_first_conv_float,
                "With --quant: plan with the first conv left float");
  add_common_flags(*cmd, global);
  cmd->callback([options, &global] {
    check_outputs(global, {});
    const ModelSummary summary = inspect_model(options->model);
    fmt::print("{}", format_summary(summary));
    nlohmann::json json = to_json(summary);
    if (options->quant) {
      const QuantizationSummary quant = inspect_quantization(options->model, options->keep_first_conv_float);
      fmt::print("\nquantization plan ({}):\n{}",
                 quant.from_qdq ? "read from the model's Q/DQ nodes" : "partq's placement rules", quant.text);
      json["quantization"] = {{"from_qdq", quant.from_qdq}, {"plan", quant.plan}};
    }
    write_json_result(global, json);
  });
}

}  // namespace partq::cli
