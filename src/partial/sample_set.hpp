// The images a sensitivity sweep or a partial-quantization search runs on, decoded and preprocessed once and
// kept in memory as engine-ready batches (every configuration sees exactly the same inputs).
#pragma once

#include <partq/coco.hpp>
#include <partq/data.hpp>
#include <partq/detect.hpp>
#include <partq/ir.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace partq::partial {

struct SampleBatch {
  Tensor input;  // [batch, 3, H, W]; a short last batch is padded (only `images` rows are real)
  std::vector<Letterbox> letterboxes;
  std::vector<int64_t> image_ids;
  size_t images() const { return image_ids.size(); }
};

struct SampleSet {
  std::vector<SampleBatch> batches;
  std::vector<std::string> files;       // file names, in run order
  std::optional<CocoDataset> labels{};  // ground truth when annotations were given
  std::vector<int64_t> image_ids;       // every image run, in order
  int batch = 1;
  size_t images() const { return image_ids.size(); }
};

struct SampleOptions {
  std::string images;
  std::string annotations;  // empty: no labels
  size_t limit = 64;        // 0 = all
  uint64_t seed = 0;
  int batch = 8;
  bool quiet = false;
};

// A seeded sample of the labelled images (annotations given) or of the directory. Error for a directory
// that is missing, has no image, or none readable; unreadable images are skipped with a warning.
SampleSet load_sample_set(const SampleOptions& options, const Preset& preset);

}  // namespace partq::partial
