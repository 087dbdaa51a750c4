#include <partq/coco_eval.hpp>
#include <partq/coco_io.hpp>

#include <fmt/core.h>

#include "cli_common.hpp"

namespace partq::cli {

void register_coco_eval(CLI::App& app, GlobalOptions& global) {
  struct Options {
    std::string annotations, detections;
  };
  auto options = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand("coco-eval",
                                     "Evaluate a COCO results file against COCO annotations "
                                     "(same 12 statistics as pycocotools)");
  cmd->add_option("--annotations", options->annotations, "COCO instances JSON (ground truth)")->required();
  cmd->add_option("--detections", options->detections, "COCO results JSON (detections)")->required();
  add_common_flags(*cmd, global);
  cmd->callback([options, &global] {
    check_outputs(global, {});
    const CocoDataset gt = load_coco_annotations(options->annotations);
    const std::vector<Detection> dets = load_coco_detections(options->detections);
    const CocoEvalResult result = evaluate_coco(gt, dets);
    fmt::print("{}", format_coco_summary(result));
    nlohmann::json per_category = nlohmann::json::array();
    for (const auto& c : result.per_category)
      per_category.push_back(
          {{"category_id", c.category_id}, {"name", c.name}, {"AP", c.ap}, {"AP50", c.ap50}});
    write_json_result(global, {{"annotations", options->annotations},
                               {"detections", options->detections},
                               {"mAP50_95", result.stats[0]},
                               {"mAP50", result.stats[1]},
                               {"stats", result.stats},
                               {"images", result.num_images},
                               {"num_detections", result.num_detections},
                               {"per_category", per_category}});
  });
}

}  // namespace partq::cli
