#include <partq/error.hpp>
#include <partq/pipeline.hpp>
#include <partq/ptq.hpp>
#include <partq/util/progress.hpp>

#include <random>

namespace partq {

BenchReport benchmark_model(const BenchOptions& options) {
  if (options.batch < 1) fail("--batch must be at least 1, got {}", options.batch);
  if (options.runs < 1) fail("--runs must be at least 1, got {}", options.runs);
  if (options.warmup < 0) fail("--warmup must not be negative, got {}", options.warmup);
  PreparedModel model = prepare_model(options.model);  // FP32, or a Q/DQ model run in INT8
  EngineOptions engine_options = model.engine_options;
  engine_options.threads = options.threads;
  engine_options.batch = options.batch;
  engine_options.int8_silu_table = options.fast_silu;
  auto engine = Engine::create(*model.graph, engine_options);
  model.graph.reset();

  // Random inputs in the range real images use (0..1); the timing of these convolutions does not depend on
  // the values, only NaN/denormal inputs would, and those are avoided.
  std::vector<Tensor> inputs;
  std::mt19937 rng(0);
  std::uniform_real_distribution<float> dist(0.f, 1.f);
  for (const TensorInfo& info : engine->inputs()) {
    Tensor t(info.dtype, info.shape);
    if (info.dtype == DType::kFloat32)
      for (float& x : t.as<float>())
        x = dist(rng);
    inputs.push_back(std::move(t));
  }
  // Outputs are reused across runs as a serving loop would; a fresh 68 MB output per batch-8 run would
  // measure the page-fault cost of the allocation, not the engine.
  std::vector<Tensor> outputs;
  for (int i = 0; i < options.warmup; ++i)
    engine->run(inputs, outputs);

  std::vector<double> latencies;
  Progress progress("bench", options.runs, {.quiet = options.quiet});
  for (int i = 0; i < options.runs; ++i) {
    Stopwatch watch;
    engine->run(inputs, outputs);
    latencies.push_back(watch.elapsed_ms());
    progress.advance();
  }
  progress.finish();

  BenchReport report{.model = options.model,
                     .batch = options.batch,
                     .threads = options.threads > 0 ? options.threads : hardware_threads(),
                     .fast_silu = options.fast_silu};
  report.latency = summarize_latencies(latencies);
  report.images_per_s = 1000.0 * options.batch / report.latency.median_ms;
  report.engine_description = engine->describe();
  // The engine says per step why an INT8 conv ran as its f32 simulation; reduced-range weights run in s8.
  if (model.int8 && report.engine_description.find("[int8 simulated in f32: no VNNI") != std::string::npos)
    report.warnings.push_back(
        "this CPU has no VNNI: the INT8 convolutions of 8-bit weights ran in f32 (docs/quantization.md; "
        "reduced-range weights, --reduce-range, run in s8), so this latency is not INT8 speed");
  return report;
}

nlohmann::json to_json(const BenchReport& r) {
  return {{"model", r.model},
          {"batch", r.batch},
          {"threads", r.threads},
          {"fast_silu", r.fast_silu},
          {"runs", r.latency.count},
          {"min_ms", r.latency.min_ms},
          {"mean_ms", r.latency.mean_ms},
          {"median_ms", r.latency.median_ms},
          {"p90_ms", r.latency.p90_ms},
          {"p99_ms", r.latency.p99_ms},
          {"max_ms", r.latency.max_ms},
          {"images_per_s", r.images_per_s},
          {"ms_per_image", r.latency.median_ms / r.batch},
          {"warnings", r.warnings}};
}

}  // namespace partq
