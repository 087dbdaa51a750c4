#include "cli_common.hpp"

#include <malloc.h>

#include <partq/detect.hpp>
#include <partq/util/atomic_file.hpp>
#include <partq/util/json_file.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace partq::cli {

void check_outputs(const GlobalOptions& global, std::initializer_list<std::string> files,
                   std::initializer_list<std::string> directories) {
  for (const std::string& file : files)
    if (!file.empty()) check_writable_file(file);
  for (const std::string& dir : directories)
    if (!dir.empty()) check_writable_directory(dir);
  if (!global.json.empty()) check_writable_file(global.json);
}

void write_json_result(const GlobalOptions& global, const nlohmann::json& value) {
  if (!global.json.empty()) write_json_file(global.json, value);
}

void add_common_flags(CLI::App& command, GlobalOptions& global) {
  command.add_option("--json", global.json, "Also write the results as JSON to this file");
  command.add_flag("-q,--quiet", global.quiet, "No progress bar or informational output");
}

void add_asymmetric_flag(CLI::App& command, bool& asymmetric) {
  command.add_flag("--asymmetric-activations", asymmetric,
                   "Quantize the activations the graph bounds from below (SiLU, Relu, Sigmoid outputs, "
                   "what MaxPool / Resize / Concat / Add make of them, and the image, whose pixels partq's "
                   "preprocessing makes non-negative) to uint8 with a zero point over [bound, amax] instead "
                   "of symmetric int8: one more bit for them. ONNX Runtime and OpenVINO run it; TensorRT "
                   "takes only symmetric int8 (its calibration cache stays symmetric)");
}

void add_reduce_range_flag(CLI::App& command, bool& reduce_range) {
  command.add_flag("--reduce-range", reduce_range,
                   "7-bit weights (max|w| of each output channel at code 63; ONNX Runtime's reduce_range): "
                   "on CPUs without VNNI (AVX2, AVX-512 before Cascade Lake) partq's engine then runs the "
                   "INT8 convolutions in s8 kernels instead of their f32 simulation. Costs accuracy "
                   "(docs/quantization.md); VNNI CPUs and GPUs gain nothing from it");
}

void add_float_cap_options(CLI::App& command, std::optional<int>& max_layers, double& max_fraction,
                           std::string& fallback) {
  command.add_option_function<int>(
      "--max-float-layers", [&max_layers](int n) { max_layers = n; },
      "With --max-drop: keep at most N layers float; if the budget needs more, the best configuration "
      "within N is kept and reported (default: --max-float-fraction of the layers)");
  command
      .add_option("--max-float-fraction", max_fraction,
                  "With --max-drop: the cap as a fraction of the model's layers, when --max-float-layers "
                  "is not given (1 = no cap)")
      ->capture_default_str();
  command
      .add_option(
          "--fallback", fallback,
          "With --max-drop, when no configuration within the cap meets the budget: within-noise keeps "
          "the fewest float layers whose selection mAP is within one standard error (half-samples of "
          "the selection set) of the best one's; best keeps the best")
      ->check(CLI::IsMember({"within-noise", "best"}))
      ->capture_default_str();
}

void keep_freed_memory_mapped() {
  mallopt(M_MMAP_MAX, 0);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
}

void add_preset_option(CLI::App& command, const std::string& what, std::string& preset) {
  command.add_option(
      "--preset", preset,
      fmt::format(
          "{}: {} (default: recognised from the model); NAME:PREPROCESS swaps the preprocessing for one "
          "of {}",
          what, fmt::join(preset_names(), ", "), fmt::join(profile_names(), ", ")));
}

}  // namespace partq::cli
