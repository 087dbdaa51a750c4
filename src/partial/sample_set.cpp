#include "sample_set.hpp"

#include <partq/coco_io.hpp>
#include <partq/error.hpp>
#include <partq/util/progress.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <filesystem>

namespace partq::partial {

SampleSet load_sample_set(const SampleOptions& o, const Preset& preset) {
  if (o.batch < 1) fail("--batch must be at least 1, got {}", o.batch);
  if (!std::filesystem::is_directory(o.images)) fail("{}: not a directory of images", o.images);
  SampleSet set;
  set.batch = o.batch;
  ImageList all;
  if (!o.annotations.empty()) {
    set.labels = std::filesystem::is_directory(o.annotations) ? load_yolo_labels(o.images, o.annotations)
                                                              : load_coco_annotations(o.annotations);
    all = ImageList::from_coco(*set.labels, o.images).existing();
    const size_t listed = set.labels->images.size();
    if (all.size() < listed && !o.quiet)
      fmt::print(stderr,
                 "warning: {} of the {} images {} lists are not in {}: sampling from the {} that are\n",
                 listed - all.size(), listed, o.annotations, o.images, all.size());
  } else {
    all = ImageList::from_directory(o.images);
  }
  if (all.size() == 0)
    fail("{}: no images{}", o.annotations.empty() ? o.images : o.annotations,
         o.annotations.empty() ? "" : fmt::format(" of them in {}", o.images));
  ImageList list = all.sample(o.limit == 0 ? all.size() : o.limit, o.seed);
  // Run order follows the file name, so a sample reads the disk in order and reports read naturally.
  std::sort(list.entries.begin(), list.entries.end(),
            [](const ImageEntry& a, const ImageEntry& b) { return a.path < b.path; });

  BatchLoaderOptions loading;
  loading.batch_size = o.batch;
  loading.input_w = preset.input_w;
  loading.input_h = preset.input_h;
  loading.profile = preset.profile;
  BatchLoader loader(list, loading);
  Progress progress("load images", static_cast<int64_t>(list.size()), {.quiet = o.quiet});
  Batch batch;
  while (loader.next(batch)) {
    SampleBatch b;
    b.input = Tensor(DType::kFloat32, batch.shape);
    std::memcpy(b.input.bytes.data(), batch.data.data(), batch.data.size() * sizeof(float));
    b.letterboxes = batch.letterboxes;
    b.image_ids = batch.image_ids;
    for (const std::string& p : batch.paths)
      set.files.push_back(std::filesystem::path(p).filename().string());
    set.image_ids.insert(set.image_ids.end(), batch.image_ids.begin(), batch.image_ids.end());
    progress.advance(static_cast<int64_t>(batch.size()));
    set.batches.push_back(std::move(b));
  }
  progress.finish();
  if (set.images() == 0) fail("{}: none of the {} sampled images could be read", o.images, list.size());
  return set;
}

}  // namespace partq::partial
