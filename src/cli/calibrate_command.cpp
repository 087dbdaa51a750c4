#include <partq/ptq.hpp>

#include <fmt/core.h>

#include "cli_common.hpp"

namespace partq::cli {

void register_calibrate(CLI::App& app, GlobalOptions& global) {
  auto options = std::make_shared<CalibrateOptions>();
  auto preset = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand(
      "calibrate",
      "Run the FP32 model over sample images with observers on every tensor the quantizer will quantize, "
      "and write their amax (all four methods from one pass) to a calibration file");
  cmd->add_option("model", options->model, "ONNX model (FP32)")->required();
  cmd->add_option("--images", options->images, "Directory of sample images (e.g. COCO train2017)")
      ->required();
  cmd->add_option("-o,--output", options->output, "Calibration file to write (MODEL.calib.json)")->required();
  cmd->add_option("--method", options->method,
                  "amax written to the file: max, entropy (KL, TensorRT's), percentile, mse")
      ->capture_default_str();
  cmd->add_option("--percentile", options->percentile, "Percentile of |x| for --method percentile")
      ->capture_default_str();
  cmd->add_option("--num-images", options->num_images, "Images sampled from the directory")
      ->capture_default_str();
  cmd->add_option("--batch", options->batch, "Images per engine run")->capture_default_str();
  cmd->add_option("--seed", options->seed, "Seed of the image sample (a fixed seed gives the same file)")
      ->capture_default_str();
  add_preset_option(*cmd, "Preprocessing", *preset);
  cmd->add_option("--threads", options->threads, "Engine threads (0 = all cores)");
  cmd->add_option("--trt-cache", options->trt_cache, "Also write a TensorRT calibration cache");
  cmd->add_flag("--keep-first-conv-float", options->keep_first_conv_float,
                "The TensorRT cache leaves the first conv's input float");
  add_common_flags(*cmd, global);
  cmd->callback([options, preset, &global] {
    check_outputs(global, {options->output, options->trt_cache});
    options->quiet = global.quiet;
    if (!preset->empty()) options->preset = *preset;
    // Engine taps hand each observed tensor over as a freshly allocated dense copy (hundreds of MB at batch
    // 32); glibc serves such blocks with mmap and unmaps them on free, so every tap page-faults its copy
    // again. Keeping freed memory in the heap (this process runs only this command) cuts the observer
    // overhead on yolov5n at batch 32 from ~680% to ~250%.
    keep_freed_memory_mapped();
    const CalibrationReport r = calibrate_model(*options);
    for (const std::string& note : r.notes)
      if (!global.quiet) fmt::print(stderr, "note: {}\n", note);
    for (const std::string& warning : r.warnings)
      fmt::print(stderr, "warning: {}\n", warning);
    if (!global.quiet) {
      fmt::print("{}: preset {}, {} of {} images ({} unreadable), batch {}, {} tensors, {:.1f} s\n", r.model,
                 r.preset, r.images_used, r.images_available, r.skipped.size(), r.batch, r.tensors,
                 r.seconds);
      if (r.ms_per_batch_with_observers >= 0)
        fmt::print("observer overhead: {:.0f}% ({:.1f} ms per batch with observers, {:.1f} ms without)\n",
                   r.observer_overhead_percent(), r.ms_per_batch_with_observers,
                   r.ms_per_batch_without_observers);
    }
    fmt::print("wrote {} ({} amax){}\n", r.output, r.method,
               options->trt_cache.empty() ? "" : " and " + options->trt_cache);
    write_json_result(global, to_json(r));
  });
}

}  // namespace partq::cli
