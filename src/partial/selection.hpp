// The selection set of a search, loaded once and scored with the float model once. `partq auto` runs several
// stages on the same images with the same float model (the calibration method's choice, then the float-layer
// search, in each activation mode it tries); they share one Selection instead of each decoding the images and
// running the float model again.
#pragma once

#include <partq/partial_quant.hpp>

#include <memory>

#include "model_runs.hpp"

namespace partq::partial {

class Selection {
 public:
  // Loads the set and runs `m`'s float model over it: with annotations they are the labels (metric map),
  // without them the float detections are (pseudo-map).
  Selection(const QuantModel& m, const SampleOptions& options);
  Selection(const Selection&) = delete;
  Selection& operator=(const Selection&) = delete;

  const SampleSet& set() const { return set_; }
  const Scorer& scorer() const { return scorer_; }
  const ConfigurationScore& reference() const { return reference_; }  // the float model's

 private:
  SampleSet set_;
  Scorer scorer_;  // reads set_
  ConfigurationScore reference_;
};

// Made by the first stage that asks, then handed to the others. Every stage must ask for the same images:
// asking for another set is an internal error, not a silent reuse.
class SharedSelection {
 public:
  const Selection& get(const QuantModel& m, const SampleOptions& options);

 private:
  std::unique_ptr<Selection> selection_;
  SampleOptions options_{};
};

// partial_quantize (partq/partial_quant.hpp) with its selection set from `selection`.
PartialQuantReport partial_quantize_shared(const PartialQuantOptions& options, SharedSelection& selection);

}  // namespace partq::partial
