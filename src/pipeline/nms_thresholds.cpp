#include "nms_thresholds.hpp"

#include <fmt/format.h>

#include <cstdio>

namespace partq {

NmsOptions nms_thresholds(const Preset& preset, NmsOptions base, std::optional<float> conf,
                          std::optional<float> iou, bool quiet) {
  if (conf) base.conf_threshold = *conf;
  if (iou) base.iou_threshold = *iou;
  const bool nms_free = preset.decoder == DecoderKind::kEnd2end || preset.decoder == DecoderKind::kDetr ||
                        preset.decoder == DecoderKind::kLabelsBoxesScores;
  if (iou && nms_free && !quiet)
    fmt::print(stderr, "warning: --iou has no effect: the {} head is decoded without NMS ({})\n", preset.name,
               preset.decoder == DecoderKind::kDetr ? "one box per query" : "its graph selects the rows");
  return base;
}

}  // namespace partq
