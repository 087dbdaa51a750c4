// The thresholds eval and detect decode with: a preset's own, with the user's --conf / --iou.
#pragma once

#include <partq/detect.hpp>

#include <optional>

namespace partq {

// `base` (the preset's eval or demo thresholds) with `conf` / `iou` where given. --iou means nothing to an
// end2end head (it has no NMS): a warning on stderr says so, unless `quiet`.
NmsOptions nms_thresholds(const Preset& preset, NmsOptions base, std::optional<float> conf,
                          std::optional<float> iou, bool quiet);

}  // namespace partq
