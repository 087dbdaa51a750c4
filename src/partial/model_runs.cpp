#include "model_runs.hpp"

#include <partq/util/timing.hpp>

namespace partq::partial {

namespace {

ConfigurationScore score(const QuantModel& m, const SampleSet& set, const Scorer& scorer,
                         const EngineOptions& options, Scorer* reference) {
  ConfigurationScore result;
  Stopwatch create;
  auto engine = Engine::create(*m.graph, options);
  result.create_ms = create.elapsed_ms();
  Scorer::Run run = scorer.start();
  std::vector<double> ms;
  std::vector<Tensor> inputs(1), outputs;
  for (size_t b = 0; b < set.batches.size(); ++b) {
    inputs[0] = set.batches[b].input;
    Stopwatch watch;
    engine->run(inputs, outputs);
    ms.push_back(watch.elapsed_ms());
    if (reference) reference->add_reference(b, outputs);
    run.add(b, outputs);
  }
  result.value = run.finish();
  result.detections = run.take_detections();
  result.median_batch_ms = summarize_latencies(ms).median_ms;
  return result;
}

}  // namespace

ConfigurationScore score_configuration(const QuantModel& m, const SampleSet& set, const Scorer& scorer,
                                       const EngineOptions& options) {
  return score(m, set, scorer, options, nullptr);
}

ConfigurationScore score_reference(const QuantModel& m, const SampleSet& set, Scorer& scorer,
                                   const EngineOptions& options) {
  return score(m, set, scorer, options, &scorer);
}

double measure_latency_ms(const QuantModel& m, const EngineOptions& options, int batch, int runs,
                          int warmup) {
  EngineOptions o = options;
  o.batch = batch;
  auto engine = Engine::create(*m.graph, o);
  std::vector<Tensor> inputs, outputs;
  for (const TensorInfo& in : engine->inputs())
    inputs.emplace_back(in.dtype, in.shape);
  for (int i = 0; i < warmup; ++i)
    engine->run(inputs, outputs);
  std::vector<double> ms;
  for (int i = 0; i < runs; ++i) {
    Stopwatch watch;
    engine->run(inputs, outputs);
    ms.push_back(watch.elapsed_ms());
  }
  return summarize_latencies(ms).median_ms;
}

}  // namespace partq::partial
