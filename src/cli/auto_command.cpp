#include <partq/auto.hpp>

#include <fmt/core.h>

#include "cli_common.hpp"

namespace partq::cli {

void register_auto(CLI::App& app, GlobalOptions& global) {
  auto o = std::make_shared<AutoOptions>();
  auto preset = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand(
      "auto",
      "Calibrate, analyse sensitivity, keep the fewest layers float that hold the mAP budget, export the "
      "Q/DQ "
      "model and TensorRT cache, evaluate and benchmark FP32 / INT8 / partial INT8 and write the report");
  cmd->add_option("model", o->model, "ONNX model (FP32)")->required();
  cmd->add_option("--images", o->images, "Evaluation images (the final figures)")->required();
  cmd->add_option("--annotations", o->annotations, "Their labels (COCO JSON or YOLO-txt dir)")->required();
  cmd->add_option("--calib-images", o->calib_images, "Calibration and selection images (e.g. train2017)")
      ->required();
  cmd->add_option("--calib-annotations", o->calib_annotations,
                  "Labels of the calibration images (default: the float model's detections are the labels)");
  cmd->add_option("-o,--output", o->output_dir, "Output directory")->required();
  cmd->add_option("--max-drop", o->max_drop_points,
                  "Allowed mAP50-95 drop in mAP points on the selection set")
      ->capture_default_str();
  add_float_cap_options(*cmd, o->max_float_layers, o->max_float_fraction, o->fallback);
  cmd->add_option(
         "--activations", o->activations,
         "symmetric: int8 activations (what TensorRT takes); asymmetric: uint8 with a zero point where "
         "the graph bounds a tensor from below (SiLU, Relu outputs, the image), for ONNX Runtime / "
         "OpenVINO; auto: symmetric, unless it misses the budget on the selection set and the "
         "asymmetric search then scores higher")
      ->check(CLI::IsMember({"symmetric", "asymmetric", "auto"}))
      ->capture_default_str();
  cmd->add_flag_callback(
      "--asymmetric-activations", [o] { o->activations = "asymmetric"; },
      "The same as --activations asymmetric");
  add_reduce_range_flag(*cmd, o->reduce_range);
  cmd->add_flag("!--no-bias-correction", o->bias_correction,
                "Do not try bias correction on the chosen configuration (by default it is scored on the "
                "selection set and kept only if it scores higher)");
  cmd->add_option(
      "--method", o->method,
      "Calibration method: max, entropy, percentile, mse (default: the best on the selection set)");
  cmd->add_option("--num-calib-images", o->calib_images_count, "Images calibrated on")->capture_default_str();
  cmd->add_option("--selection-images", o->selection_images,
                  "Images the float layers are chosen on (0 = all)")
      ->capture_default_str();
  cmd->add_option("--sensitivity-images", o->sensitivity_images, "Images of the sensitivity sweep")
      ->capture_default_str();
  cmd->add_option("--eval-limit", o->eval_limit, "Evaluation images used (0 = all)")->capture_default_str();
  cmd->add_option("--metric", o->sensitivity_metric, "Sensitivity metric: map, pseudo-map, sqnr, cosine");
  cmd->add_option("--mode", o->sensitivity_mode, "Sensitivity mode: enable-one, leave-one-out")
      ->capture_default_str();
  cmd->add_option("--objective", o->objective, "accuracy or balanced (sensitivity per ms)")
      ->capture_default_str();
  cmd->add_option("--bench-runs", o->bench_runs, "Timed runs per benchmark")->capture_default_str();
  cmd->add_option("--bench-rounds", o->bench_rounds,
                  "Rounds of benchmarks, the three models in turn in each; a model's latency is its median "
                  "round's")
      ->capture_default_str();
  cmd->add_option("--batch", o->batch, "Images per engine run")->capture_default_str();
  cmd->add_option("--seed", o->seed, "Seed of every image sample")->capture_default_str();
  add_preset_option(*cmd, "Preprocessing", *preset);
  cmd->add_option("--threads", o->threads, "Engine threads (0 = all cores)");
  add_common_flags(*cmd, global);
  cmd->callback([o, preset, &global] {
    check_outputs(global, {}, {o->output_dir});
    o->quiet = global.quiet;
    if (!preset->empty()) o->preset = *preset;
    keep_freed_memory_mapped();
    const AutoReport r = run_auto(*o);
    for (const std::string& w : r.warnings)
      fmt::print(stderr, "warning: {}\n", w);
    fmt::print("{}", format_auto(r));
    write_json_result(global, to_json(r));
  });
}

}  // namespace partq::cli
