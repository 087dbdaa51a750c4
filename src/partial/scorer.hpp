// The quality of a model configuration on a sample set, as one number where higher is better:
//   map        COCO mAP@[.5:.95] against the labels;
//   pseudo-map COCO mAP@[.5:.95] against the float model's own detections (demo thresholds: conf 0.25,
//              IoU 0.45) -- no labels needed;
//   sqnr       signal-to-quantization-noise ratio of the raw model outputs against float, in dB, over every
//              output element of every real image;
//   cosine     mean over images of the cosine similarity of the raw outputs with float.
#pragma once

#include <partq/detect.hpp>
#include <partq/ir.hpp>

#include <optional>
#include <string>
#include <vector>

#include "sample_set.hpp"

namespace partq::partial {

enum class Metric { kMap, kPseudoMap, kSqnr, kCosine };
Metric parse_metric(const std::string& name);  // Error listing the choices
const char* metric_name(Metric metric);
bool metric_needs_labels(Metric metric);

class Scorer {
 public:
  // Error for kMap when the set has no labels.
  Scorer(Metric metric, const SampleSet& set, const Preset& preset);

  // The float model's outputs for batch `index`, given for every batch before any configuration is scored.
  void add_reference(size_t index, const std::vector<Tensor>& outputs);

  // One configuration: its outputs batch by batch (any order, each batch once), then the score.
  class Run {
   public:
    void add(size_t index, const std::vector<Tensor>& outputs);
    double finish();
    // map / pseudo-map: the detections finish() scored (moved out; empty for sqnr / cosine).
    std::vector<Detection> take_detections() { return std::move(detections_); }

   private:
    friend class Scorer;
    explicit Run(const Scorer& scorer) : scorer_(scorer) {}
    const Scorer& scorer_;
    std::vector<Detection> detections_;
    double signal_ = 0, noise_ = 0, cosine_sum_ = 0;
    size_t images_ = 0;
  };
  Run start() const { return Run(*this); }

  Metric metric() const { return metric_; }
  bool scores_detections() const { return metric_ == Metric::kMap || metric_ == Metric::kPseudoMap; }
  // map / pseudo-map of a configuration's detections on a subset of the set's images (the noise estimate of
  // a partial-quantization search re-scores its configurations on halves of the set).
  double map_on(const std::vector<Detection>& detections, const std::vector<int64_t>& image_ids) const;

 private:
  std::vector<Detection> decode(size_t index, const std::vector<Tensor>& outputs, const Decoder& d) const;

  Metric metric_;
  const SampleSet& set_;
  Decoder eval_decoder_, pseudo_label_decoder_;
  std::vector<std::vector<Tensor>> reference_;  // sqnr / cosine
  std::optional<CocoDataset> truth_;            // map: the labels; pseudo-map: the float detections
};

}  // namespace partq::partial
