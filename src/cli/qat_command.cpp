#include <partq/qat.hpp>

#include <fmt/core.h>

#include "cli_common.hpp"

namespace partq::cli {

void register_qat(CLI::App& app, GlobalOptions& global) {
  auto o = std::make_shared<QatJobOptions>();
  auto preset = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand(
      "qat",
      "Quantization-aware training: fine-tune the weights of a quantized model so that its head outputs "
      "match the float model's (distillation, no labels), keeping its plan and activation scales; writes the "
      "trained Q/DQ ONNX");
  cmd->add_option("model", o->model, "ONNX model (FP32): the teacher and the starting weights")->required();
  cmd->add_option("--from", o->from,
                  "Q/DQ model of MODEL to start from (partq quantize, full or partial): its plan and scales "
                  "are kept");
  cmd->add_option("--calib", o->calib, "Or a calibration file: start from the full-INT8 plan");
  cmd->add_flag("--keep-first-conv-float", o->keep_first_conv_float,
                "With --calib: leave the first conv float");
  cmd->add_flag("--reduce-range", o->reduce_range,
                "With --calib: 7-bit weights (as partq quantize --reduce-range); a --from model keeps the "
                "weight range it has");
  cmd->add_option("--images", o->images, "Directory of training images (no labels needed)")->required();
  cmd->add_option("-o,--output", o->output, "Trained Q/DQ ONNX to write")->required();
  cmd->add_option("--trt-cache", o->trt_cache, "Also write a TensorRT calibration cache");
  cmd->add_option("--num-images", o->num_images, "Images sampled from --images")->capture_default_str();
  cmd->add_option("--batch", o->batch, "Images per training step")->capture_default_str();
  cmd->add_option("--epochs", o->training.epochs, "Passes over the sampled images")->capture_default_str();
  cmd->add_option("--loss", o->loss,
                  "features: normalized error of the tensors the float decode reads (any head); detections: "
                  "box and score error on the anchors that are detections ([N, A, 5+C] heads; lowered mAP on "
                  "yolox_nano, see docs/qat.md)")
      ->capture_default_str();
  cmd->add_option("--optimizer", o->training.optimizer, "adam or sgd (momentum 0.9)")->capture_default_str();
  cmd->add_option("--lr", o->training.learning_rate, "Learning rate (cosine decay to 0)")
      ->capture_default_str();
  cmd->add_flag(
      "--learn-scales", o->training.learn_scales,
      "Also learn the activation scales (LSQ, one per scale group); the export writes the learned ones");
  cmd->add_option("--scale-lr", o->training.scale_learning_rate,
                  "Learning rate of log(scale) with --learn-scales")
      ->capture_default_str();
  cmd->add_option("--seed", o->training.seed, "Seed of the image sample and the batch order")
      ->capture_default_str();
  add_preset_option(*cmd, "Preprocessing", *preset);
  cmd->add_option("--threads", o->training.threads, "Training threads (0 = all cores)");
  add_common_flags(*cmd, global);
  cmd->callback([o, preset, &global] {
    check_outputs(global, {o->output, o->trt_cache});
    o->training.quiet = global.quiet;
    if (!preset->empty()) o->preset = *preset;
    const QatJobReport r = qat_model(*o);
    for (const std::string& warning : r.warnings)
      fmt::print(stderr, "warning: {}\n", warning);
    const QatReport& t = r.training;
    if (!global.quiet) {
      fmt::print(
          "{}: {} int8 / {} float layers, {} layers trained ({} values, {} loss) on {} images x {} epochs in "
          "{:.0f} s\n",
          r.model, r.int8_nodes, r.float_nodes, t.trained.size(), t.parameters, r.loss, t.images, t.epochs,
          t.seconds);
      for (size_t e = 0; e < t.epoch_loss.size(); ++e)
        fmt::print("  epoch {}: training loss {:.5f}\n", e + 1, t.epoch_loss[e]);
    }
    fmt::print("distillation loss {:.5f} -> {:.5f} ({:+.1f}%); wrote {}{}\n", t.initial_loss, t.final_loss,
               t.initial_loss > 0 ? 100.0 * (t.final_loss - t.initial_loss) / t.initial_loss : 0.0, r.output,
               o->trt_cache.empty() ? "" : " and " + o->trt_cache);
    write_json_result(global, to_json(r));
  });
}

}  // namespace partq::cli
