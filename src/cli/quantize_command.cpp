#include <partq/ptq.hpp>

#include <fmt/core.h>

#include "cli_common.hpp"

namespace partq::cli {

void register_quantize(CLI::App& app, GlobalOptions& global) {
  auto options = std::make_shared<QuantizeOptions>();
  CLI::App* cmd = app.add_subcommand(
      "quantize",
      "Write the Q/DQ ONNX of a model from its calibration file (opset >= 13, per-channel int8 weights), "
      "runnable by ONNX Runtime, TensorRT and partq");
  cmd->add_option("model", options->model, "ONNX model (FP32)")->required();
  cmd->add_option("--calib", options->calib, "Calibration file from `partq calibrate`")->required();
  cmd->add_option("-o,--output", options->output, "Q/DQ ONNX to write (MODEL.qdq.onnx)")->required();
  cmd->add_option("--trt-cache", options->trt_cache, "Also write a TensorRT calibration cache");
  cmd->add_flag("--keep-first-conv-float", options->keep_first_conv_float,
                "Leave the first conv (its input is the raw image) in float");
  add_common_flags(*cmd, global);
  cmd->callback([options, &global] {
    const QuantizeReport r = quantize_model(*options);
    for (const std::string& warning : r.warnings)
      fmt::print(stderr, "warning: {}\n", warning);
    fmt::print(
        "wrote {}: {} int8 nodes, {} float, {} quantized tensors in {} scale groups ({} calibration)\n",
        r.output, r.int8_nodes, r.float_nodes, r.quantized_tensors, r.scale_groups, r.method);
    write_json_result(global, to_json(r));
  });
}

}  // namespace partq::cli
