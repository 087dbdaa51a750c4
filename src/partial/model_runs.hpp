// One configuration of a QuantModel run end to end on a sample set.
#pragma once

#include <partq/engine.hpp>

#include "quant_model.hpp"
#include "sample_set.hpp"
#include "scorer.hpp"

namespace partq::partial {

struct ConfigurationScore {
  double value = 0;            // the scorer's metric
  double median_batch_ms = 0;  // engine time per batch (the set's batch size)
  double create_ms = 0;
  std::vector<Detection> detections{};  // map / pseudo-map scorers: what was scored
};

// Compiles the whole model with `options` and scores it on every batch of the set.
ConfigurationScore score_configuration(const QuantModel& model, const SampleSet& set, const Scorer& scorer,
                                       const EngineOptions& options);

// The same for the reference configuration (normally all float): every batch's outputs also become the
// scorer's reference (add_reference), so this must run before any other configuration is scored.
ConfigurationScore score_reference(const QuantModel& model, const SampleSet& set, Scorer& scorer,
                                   const EngineOptions& options);

// Median latency of `runs` timed runs (after `warmup`) of the whole model with `options` at `batch`.
double measure_latency_ms(const QuantModel& model, const EngineOptions& options, int batch, int runs,
                          int warmup = 2);

}  // namespace partq::partial
