#include <partq/pipeline.hpp>

#include <fmt/core.h>

#include "cli_common.hpp"

namespace partq::cli {

void register_run(CLI::App& app, GlobalOptions& global) {
  auto options = std::make_shared<RunOptions>();
  CLI::App* cmd = app.add_subcommand("run",
                                     "Run a model on raw tensors: float32 .npy in, one .npy per output "
                                     "(PREFIX.<index>.npy)");
  cmd->add_option("model", options->model, "ONNX model")->required();
  cmd->add_option("--input", options->inputs, "Input .npy, once per model input in order")->required();
  cmd->add_option("--output", options->output_prefix, "Output prefix")->capture_default_str();
  cmd->add_option("--threads", options->threads, "Engine threads (0 = all cores)");
  add_common_flags(*cmd, global);
  cmd->callback([options, &global] {
    check_outputs(global, {options->output_prefix + ".0.npy"});
    const RunReport report = run_tensors(*options);
    nlohmann::json outputs = nlohmann::json::array();
    for (size_t i = 0; i < report.files.size(); ++i) {
      const TensorInfo& info = report.outputs[i];
      fmt::print("{} {} {} -> {}\n", info.name, dtype_name(info.dtype), shape_str(info.shape),
                 report.files[i]);
      outputs.push_back({{"name", info.name}, {"shape", info.shape}, {"file", report.files[i]}});
    }
    if (!global.quiet) fmt::print("ran in {:.2f} ms\n", report.milliseconds);
    write_json_result(global, {{"model", options->model}, {"outputs", outputs}, {"ms", report.milliseconds}});
  });
}

}  // namespace partq::cli
