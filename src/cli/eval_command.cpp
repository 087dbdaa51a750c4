#include <partq/coco_eval.hpp>
#include <partq/pipeline.hpp>

#include <fmt/core.h>

#include "cli_common.hpp"

namespace partq::cli {

void register_eval(CLI::App& app, GlobalOptions& global) {
  auto options = std::make_shared<EvalOptions>();
  auto preset = std::make_shared<std::string>();
  auto conf = std::make_shared<float>(-1.f);
  auto iou = std::make_shared<float>(-1.f);
  CLI::App* cmd = app.add_subcommand("eval",
                                     "Run a model over a COCO dataset and print the COCO mAP table "
                                     "(pycocotools' numbers, computed in C++)");
  cmd->add_option("model", options->model, "ONNX model (FP32)")->required();
  cmd->add_option("--images", options->images, "Directory of images")->required();
  cmd->add_option("--annotations", options->annotations,
                  "COCO instances JSON, or a directory of YOLO-txt labels (<image stem>.txt)")
      ->required();
  add_preset_option(*cmd, "Detector family", *preset);
  cmd->add_option("--conf", *conf, "Score threshold (default: the preset's: yolov5 0.001, yolox 0.001)")
      ->check(CLI::Range(0.f, 1.f));
  cmd->add_option("--iou", *iou, "NMS IoU threshold (default: the preset's: yolov5 0.6, yolox 0.65)")
      ->check(CLI::Range(0.f, 1.f));
  cmd->add_option("--limit", options->limit, "Evaluate only the first N images (0 = all)");
  cmd->add_option("--batch", options->batch, "Images per engine run")->capture_default_str();
  cmd->add_option("--threads", options->threads, "Engine threads (0 = all cores)")->capture_default_str();
  cmd->add_flag("--fast-silu", options->fast_silu,
                "INT8 models: SiLU through a 256-entry table on s8 codes (faster, approximate: some levels "
                "move by one; see docs/quantization.md)");
  cmd->add_option("--save-detections", options->save_detections,
                  "Write the detections as a COCO results JSON");
  add_common_flags(*cmd, global);
  cmd->callback([options, preset, conf, iou, &global] {
    check_outputs(global, {options->save_detections});
    options->quiet = global.quiet;
    if (!preset->empty()) options->preset = *preset;
    if (*conf >= 0) options->conf = *conf;
    if (*iou >= 0) options->iou = *iou;
    const EvalReport report = evaluate_model(*options);
    if (!global.quiet)
      fmt::print(
          "{}: preset {}, {} images ({} skipped{}), {} detections, {:.1f} s ({:.1f} ms/image inference)\n",
          report.model, report.preset, report.images, report.skipped,
          report.missing ? fmt::format(", {} not in the directory", report.missing) : "", report.detections,
          report.seconds, report.inference_ms_per_image);
    fmt::print("{}", format_coco_summary(report.coco));
    fmt::print("mAP50-95 {:.4f}  mAP50 {:.4f}\n", report.coco.stats[0], report.coco.stats[1]);
    write_json_result(global, to_json(report));
  });
}

}  // namespace partq::cli
