// The post-processing of an NMS-free head exported end to end (YOLOv10, YOLO26): the graph has already chosen
// its K best (box, class) pairs, so what is left is Ultralytics' confidence filter and max_det cap.
#include <partq/error.hpp>

#include <algorithm>
#include <cmath>

#include "postprocess.hpp"

namespace partq::detail {

std::vector<Candidate> end2end_select(const float* image, int64_t num_preds, int num_classes,
                                      const NmsOptions& options) {
  std::vector<Candidate> kept;
  for (int64_t k = 0; k < num_preds; ++k) {
    const float* row = image + k * 6;
    if (!(row[4] > options.conf_threshold)) continue;
    const float cls = row[5];
    if (!(cls >= 0 && cls < static_cast<float>(num_classes)) || cls != std::floor(cls))
      fail("end2end output row {}: class column {} is not a class index of the model's {} classes", k, cls,
           num_classes);
    kept.push_back({.box = {row[0], row[1], row[2], row[3]}, .score = row[4], .cls = static_cast<int>(cls)});
  }
  // The graph's TopK already sorts by score; sort anyway, for a model that does not.
  std::stable_sort(kept.begin(), kept.end(),
                   [](const Candidate& a, const Candidate& b) { return a.score > b.score; });
  if (options.max_det > 0 && kept.size() > static_cast<size_t>(options.max_det)) kept.resize(options.max_det);
  return kept;
}

}  // namespace partq::detail
