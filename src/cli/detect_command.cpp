#include <partq/coco.hpp>
#include <partq/pipeline.hpp>

#include <fmt/core.h>

#include "cli_common.hpp"

namespace partq::cli {

void register_detect(CLI::App& app, GlobalOptions& global) {
  auto options = std::make_shared<DetectOptions>();
  auto preset = std::make_shared<std::string>();
  auto conf = std::make_shared<float>(-1.f);
  auto iou = std::make_shared<float>(-1.f);
  CLI::App* cmd = app.add_subcommand("detect",
                                     "Draw a model's detections (boxes, class names, scores) onto "
                                     "copies of images");
  cmd->add_option("model", options->model, "ONNX model")->required();
  cmd->add_option("images", options->images, "Image files, or directories of them")->required();
  cmd->add_option("-o,--output", options->output_dir, "Directory for the annotated copies")->required();
  add_preset_option(*cmd, "Detector family", *preset);
  cmd->add_option("--conf", *conf, "Score threshold (default: the preset's, 0.25)")
      ->check(CLI::Range(0.f, 1.f));
  cmd->add_option("--iou", *iou, "NMS IoU threshold (default: the preset's, 0.45)")
      ->check(CLI::Range(0.f, 1.f));
  cmd->add_option("--threads", options->threads, "Engine threads (0 = all cores)");
  add_common_flags(*cmd, global);
  cmd->callback([options, preset, conf, iou, &global] {
    check_outputs(global, {}, {options->output_dir});
    if (!preset->empty()) options->preset = *preset;
    if (*conf >= 0) options->conf = *conf;
    if (*iou >= 0) options->iou = *iou;
    const auto results = detect_images(*options);
    const auto& names = coco80_names_by_category_id();
    nlohmann::json out = nlohmann::json::array();
    for (const auto& image : results) {
      fmt::print("{} -> {}: {} detections\n", image.input, image.output, image.detections.size());
      nlohmann::json dets = nlohmann::json::array();
      for (const auto& d : image.detections) {
        auto name = names.count(d.category_id) ? names.at(d.category_id) : std::to_string(d.category_id);
        if (!global.quiet)
          fmt::print("  {:<14} {:.3f}  [{:.0f}, {:.0f}, {:.0f}, {:.0f}]\n", name, d.score, d.bbox[0],
                     d.bbox[1], d.bbox[0] + d.bbox[2], d.bbox[1] + d.bbox[3]);
        dets.push_back(
            {{"category_id", d.category_id}, {"name", name}, {"score", d.score}, {"bbox_xywh", d.bbox}});
      }
      out.push_back({{"input", image.input}, {"output", image.output}, {"detections", dets}});
    }
    write_json_result(global, {{"model", options->model}, {"images", out}});
  });
}

}  // namespace partq::cli
