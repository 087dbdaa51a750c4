#include <partq/pipeline.hpp>

#include <fmt/core.h>

#include "cli_common.hpp"

namespace partq::cli {

void register_bench(CLI::App& app, GlobalOptions& global) {
  auto options = std::make_shared<BenchOptions>();
  auto verbose = std::make_shared<bool>(false);
  CLI::App* cmd = app.add_subcommand("bench", "Measure inference latency and throughput (like trtexec)");
  cmd->add_option("model", options->model, "ONNX model")->required();
  cmd->add_option("--batch", options->batch, "Batch size")->capture_default_str();
  cmd->add_option("--threads", options->threads, "Engine threads (0 = all cores)")->capture_default_str();
  cmd->add_option("--warmup", options->warmup, "Untimed runs first")->capture_default_str();
  cmd->add_option("--runs", options->runs, "Timed runs")->capture_default_str();
  cmd->add_flag("--fast-silu", options->fast_silu,
                "INT8 models: SiLU through a 256-entry table on s8 codes (faster, approximate: some levels "
                "move by one; see docs/quantization.md)");
  cmd->add_flag("-v,--verbose", *verbose, "Also print the compiled engine, one line per step");
  add_common_flags(*cmd, global);
  cmd->callback([options, verbose, &global] {
    check_outputs(global, {});
    options->quiet = global.quiet;
    const BenchReport r = benchmark_model(*options);
    if (*verbose) fmt::print("{}\n", r.engine_description);
    fmt::print("{}: batch {}, {} threads, {} runs\n", r.model, r.batch, r.threads, r.latency.count);
    fmt::print(
        "latency per batch (ms): min {:.2f}  median {:.2f}  mean {:.2f}  p90 {:.2f}  p99 {:.2f}  max "
        "{:.2f}\n",
        r.latency.min_ms, r.latency.median_ms, r.latency.mean_ms, r.latency.p90_ms, r.latency.p99_ms,
        r.latency.max_ms);
    fmt::print("throughput: {:.1f} images/s ({:.2f} ms per image)\n", r.images_per_s,
               r.latency.median_ms / r.batch);
    for (const std::string& warning : r.warnings)
      fmt::print(stderr, "warning: {}\n", warning);
    write_json_result(global, to_json(r));
  });
}

}  // namespace partq::cli
