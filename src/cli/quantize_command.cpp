#include <partq/partial_quant.hpp>
#include <partq/ptq.hpp>

#include <fmt/core.h>

#include "cli_common.hpp"

namespace partq::cli {

void register_quantize(CLI::App& app, GlobalOptions& global) {
  auto options = std::make_shared<QuantizeOptions>();
  auto partial = std::make_shared<PartialQuantOptions>();
  auto float_layers = std::make_shared<int>(-1);
  auto max_drop = std::make_shared<double>(-1);
  auto preset = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand(
      "quantize",
      "Write the Q/DQ ONNX of a model from its calibration file (opset >= 13, per-channel int8 weights), "
      "runnable by ONNX Runtime, TensorRT and partq; with --sensitivity, keep the most sensitive layers "
      "float");
  cmd->add_option("model", options->model, "ONNX model (FP32)")->required();
  cmd->add_option("--calib", options->calib, "Calibration file from `partq calibrate`")->required();
  cmd->add_option("-o,--output", options->output, "Q/DQ ONNX to write (MODEL.qdq.onnx)")->required();
  cmd->add_option("--trt-cache", options->trt_cache, "Also write a TensorRT calibration cache");
  cmd->add_flag("--keep-first-conv-float", options->keep_first_conv_float,
                "Leave the first conv (its input is the raw image) in float");
  add_asymmetric_flag(*cmd, options->asymmetric_activations);
  add_reduce_range_flag(*cmd, options->reduce_range);
  cmd->add_flag("--bias-correction", options->bias_correction,
                "Correct the INT8 convs' float biases for their quantization's mean error, measured on "
                "--images (docs/quantization.md); with --sensitivity, the corrected model is scored on the "
                "selection set and kept only if it scores higher");
  cmd->add_option("--bias-images", options->bias_images,
                  "Images sampled from --images for the bias correction")
      ->capture_default_str();
  cmd->add_option("--bias-mode", options->bias_mode,
                  "weights: the INT8 weights' error (one float pass); local: each whole INT8 conv's error on "
                  "the quantized model's input (3 quantized passes)")
      ->capture_default_str();
  auto* group = cmd->add_option_group("partial quantization");
  group->add_option("--sensitivity", partial->sensitivity, "Sensitivity file from `partq sensitivity`");
  group->add_option("--float-layers", *float_layers, "Keep the K most sensitive layers float");
  group->add_option(
      "--max-drop", *max_drop,
      "Keep as few layers float as keep the selection-set mAP50-95 within D mAP points of float "
      "(0.3 = 0.003 on the 0-1 scale partq prints)");
  add_float_cap_options(*group, partial->max_float_layers, partial->max_float_fraction, partial->fallback);
  group->add_option("--images", partial->images, "Selection images the choice is confirmed on (--max-drop)");
  group->add_option("--annotations", partial->annotations,
                    "Their labels (COCO JSON or YOLO-txt dir); without them the float model's detections "
                    "are the labels");
  group->add_option("--limit", partial->limit, "Selection images sampled")->capture_default_str();
  group->add_option("--seed", partial->seed, "Seed of the selection sample")->capture_default_str();
  group->add_option("--batch", partial->batch, "Images per engine run (and the latency's batch)")
      ->capture_default_str();
  group
      ->add_option("--objective", partial->objective,
                   "accuracy: most sensitive first; balanced: sensitivity per millisecond lost in float")
      ->capture_default_str();
  group->add_flag(
      "--try-methods", partial->try_methods,
      "With --max-drop: also search with every other calibration method of the file and keep the one "
      "needing the fewest float layers");
  add_preset_option(*group, "Preprocessing", *preset);
  group->add_option("--threads", partial->threads, "Engine threads (0 = all cores)");
  add_common_flags(*cmd, global);
  cmd->callback([options, partial, float_layers, max_drop, preset, &global] {
    check_outputs(global, {options->output, options->trt_cache});
    if (partial->sensitivity.empty()) {
      if (*float_layers >= 0 || *max_drop >= 0 || (!partial->images.empty() && !options->bias_correction))
        throw CLI::ValidationError(
            "--float-layers / --max-drop need --sensitivity FILE; --images needs --sensitivity or "
            "--bias-correction");
      options->images = partial->images;
      options->threads = partial->threads;
      options->quiet = global.quiet;
      if (!preset->empty()) options->preset = *preset;
      if (options->bias_correction) keep_freed_memory_mapped();
      const QuantizeReport r = quantize_model(*options);
      for (const std::string& warning : r.warnings)
        fmt::print(stderr, "warning: {}\n", warning);
      fmt::print(
          "wrote {}: {} int8 nodes, {} float, {} quantized tensors in {} scale groups ({} calibration, {} "
          "weights)\n",
          r.output, r.int8_nodes, r.float_nodes, r.quantized_tensors, r.scale_groups, r.method, r.weights);
      if (!r.bias_correction.is_null())
        fmt::print("bias correction ({}): {} convs corrected on {} images in {:.1f}s\n",
                   r.bias_correction["mode"].get<std::string>(), r.bias_correction["convs"].get<size_t>(),
                   r.bias_correction["images"].get<int64_t>(), r.bias_correction["seconds"].get<double>());
      write_json_result(global, to_json(r));
      return;
    }
    partial->bias_correction = options->bias_correction;
    partial->bias_images = options->bias_images;
    partial->bias_mode = options->bias_mode;
    partial->model = options->model;
    partial->calib = options->calib;
    partial->output = options->output;
    partial->trt_cache = options->trt_cache;
    partial->keep_first_conv_float = options->keep_first_conv_float;
    partial->asymmetric_activations = options->asymmetric_activations;
    partial->reduce_range = options->reduce_range;
    partial->quiet = global.quiet;
    if (*float_layers >= 0) partial->float_layers = *float_layers;
    if (*max_drop >= 0) partial->max_drop_points = *max_drop;
    if (!preset->empty()) partial->preset = *preset;
    keep_freed_memory_mapped();
    const PartialQuantReport r = partial_quantize(*partial);
    for (const std::string& warning : r.warnings)
      fmt::print(stderr, "warning: {}\n", warning);
    if (!global.quiet || !r.budget_met) fmt::print("{}", format_tradeoff(r));
    fmt::print("wrote {}{}\n", r.output, options->trt_cache.empty() ? "" : " and " + options->trt_cache);
    write_json_result(global, to_json(r));
  });
}

}  // namespace partq::cli
