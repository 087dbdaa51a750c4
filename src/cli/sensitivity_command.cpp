#include <partq/report.hpp>
#include <partq/sensitivity.hpp>
#include <partq/util/atomic_file.hpp>

#include <fmt/core.h>

#include "cli_common.hpp"

namespace partq::cli {

void register_sensitivity(CLI::App& app, GlobalOptions& global) {
  auto options = std::make_shared<SensitivityOptions>();
  auto preset = std::make_shared<std::string>();
  auto output = std::make_shared<std::string>();
  auto csv = std::make_shared<std::string>();
  auto svg = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand(
      "sensitivity",
      "Measure how much each quantizable layer (or group of layers sharing one scale) costs in INT8, "
      "re-running only the part of the model each flip changes");
  cmd->add_option("model", options->model, "ONNX model (FP32)")->required();
  cmd->add_option("--calib", options->calib, "Calibration file (partq calibrate)")->required();
  cmd->add_option("--images", options->images, "Directory of images to measure on")->required();
  cmd->add_option("--annotations", options->annotations,
                  "COCO instances JSON or YOLO-txt label directory (needed by --metric map)");
  cmd->add_option("--mode", options->mode,
                  "enable-one: only the layer INT8; leave-one-out: every layer INT8 but this one")
      ->capture_default_str();
  cmd->add_option("--metric", options->metric,
                  "map (labels), pseudo-map (the float model's detections as labels), sqnr or cosine of the "
                  "outputs against float (default: map with --annotations, else pseudo-map)");
  cmd->add_option("--limit", options->limit, "Images sampled (0 = all)")->capture_default_str();
  cmd->add_option("--seed", options->seed, "Seed of the image sample")->capture_default_str();
  cmd->add_option("--batch", options->batch, "Images per engine run")->capture_default_str();
  add_preset_option(*cmd, "Preprocessing", *preset);
  cmd->add_option("--threads", options->threads, "Engine threads (0 = all cores)");
  cmd->add_flag("--keep-first-conv-float", options->keep_first_conv_float,
                "The first conv stays float in every configuration (and is not swept)");
  add_asymmetric_flag(*cmd, options->asymmetric_activations);
  add_reduce_range_flag(*cmd, options->reduce_range);
  cmd->add_flag("--compare-naive", options->compare_naive,
                "Also run the naive sweep (one full forward pass per layer) and time it");
  cmd->add_option("-o,--output", *output, "Sensitivity file to write (MODEL.sensitivity.json)")->required();
  cmd->add_option("--csv", *csv, "Also write the per-layer table as CSV");
  cmd->add_option("--svg", *svg, "Also write the per-layer bar chart as a standalone SVG file");
  add_common_flags(*cmd, global);
  cmd->callback([options, preset, output, csv, svg, &global] {
    check_outputs(global, {*output, *csv, *svg});
    options->quiet = global.quiet;
    if (!preset->empty()) options->preset = *preset;
    // Every layer compiles an engine with its own multi-hundred-MB activation arena; keeping freed memory in
    // the heap (instead of glibc unmapping it) lets the next engine reuse pages that are already mapped.
    keep_freed_memory_mapped();
    const SensitivityReport r = analyse_sensitivity(*options);
    for (const std::string& note : r.notes)
      fmt::print(stderr, "warning: {}\n", note);
    write_sensitivity(*output, r);
    if (!csv->empty()) write_sensitivity_csv(*csv, r);
    if (!svg->empty())
      write_file_atomic(*svg, render_sensitivity_svg(report::parse_sensitivity(to_json(r), *output)));
    if (!global.quiet) fmt::print("{}", format_sensitivity(r));
    fmt::print("wrote {}{}\n", *output, csv->empty() ? "" : " and " + *csv);
    if (!svg->empty()) fmt::print("wrote {}\n", *svg);
    write_json_result(global, to_json(r));
  });
}

}  // namespace partq::cli
