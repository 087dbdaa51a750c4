// Partial quantization (`partq quantize --sensitivity`): keep the few layers that break under INT8 in float,
// chosen from a sensitivity file either by count or, for an accuracy budget, by confirming each candidate
// with a real evaluation on a selection set.
//
//   partq::PartialQuantReport r = partq::partial_quantize({.model = "yolov5n.onnx",
//       .calib = "yolov5n.calib.json", .sensitivity = "yolov5n.sensitivity.json",
//       .output = "yolov5n.partial.qdq.onnx", .max_drop_points = 0.3,
//       .images = "train2017/", .annotations = "instances_train2017.json"});
//
// With a budget, layers are added most-sensitive-first (or, with objective "balanced", by sensitivity per
// millisecond the engine loses when the layer stays float) until the selection-set mAP is within the budget
// of float; then each chosen layer whose removal keeps the model within budget is dropped again, least
// sensitive first, so the final set is as small as the search can show.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace partq {

struct PartialQuantOptions {
  std::string model{};
  std::string calib{};
  std::string sensitivity{};                // partq.sensitivity file of this model
  std::string output{};                     // *.qdq.onnx
  std::string trt_cache{};                  // also write a TensorRT calibration cache (if not empty)
  std::optional<int> float_layers{};        // keep exactly the K most sensitive layers float
  std::optional<double> max_drop_points{};  // or: the allowed mAP50-95 drop, in mAP points (0.3 = 0.003)
  std::string images{};       // selection set (required with max_drop_points, optional with float_layers)
  std::string annotations{};  // its labels; without them the float model's detections are the labels
  size_t limit = 128;         // selection images (a seeded sample)
  uint64_t seed = 0;
  int batch = 8;
  std::string objective = "accuracy";  // "accuracy" | "balanced"
  int latency_runs = 10;               // timed runs per layer for "balanced"
  // Also search with every other calibration method the file stores (--max-drop only) and keep the one that
  // needs the fewest float layers: the best method for full INT8 need not be the best once a few layers are
  // float. All methods are searched for 0, 1 and 2 float layers; then only the best one continues.
  bool try_methods = false;
  // With a budget: the most layers the search may keep float. A partial model with many float layers loses
  // the speed it is made for, and the search's time grows with every layer added; when the budget needs more
  // than this, the best configuration within the cap is exported and the report says the budget was not met.
  // Unset: max_float_fraction of the model's layers (at least 1).
  std::optional<int> max_float_layers{};
  double max_float_fraction = 0.10;
  // When no configuration within the cap meets the budget, which one is exported:
  //   "within-noise" (default): the fewest float layers whose selection mAP is within one standard error of
  //     the best configuration's (the one-standard-error rule; the error of the difference is estimated on
  //     `noise_halves` seeded half-samples of the selection set). Float layers that buy less than the
  //     selection set can resolve cost latency and buy nothing on other images.
  //   "best": the configuration with the highest selection mAP.
  std::string fallback = "within-noise";
  int noise_halves = 32;
  // With a selection set: once the float layers are chosen, also score that configuration with bias
  // correction (partq/bias_correction.hpp, on bias_images of the selection images) and export the corrected
  // model only if it scores higher. Its gain is small and not always positive (docs/quantization.md), so the
  // selection set decides.
  bool bias_correction = false;
  size_t bias_images = 128;
  std::string bias_mode = "weights";
  std::optional<std::string> preset{};
  bool keep_first_conv_float = false;
  // Opt-in asymmetric activations for ONNX Runtime / OpenVINO (TensorRT takes only zero point 0): tensors
  // the graph bounds from below (SiLU, Relu outputs ...) are uint8 over [bound, amax]
  // (activation_lower_bounds in partq/quant.hpp).
  bool asymmetric_activations = false;
  // Reduced-range (7-bit) weights, ONNX Runtime's reduce_range: max|w| of each output channel at code 63, so
  // INT8 convolutions run in s8 kernels on CPUs without VNNI too (partq's engine, ONNX Runtime); costs
  // accuracy (docs/quantization.md).
  bool reduce_range = false;
  int threads = 0;
  bool quiet = false;
};

struct PartialStep {
  std::vector<std::string> layers{};  // kept float
  double map = -1;                    // selection-set metric (-1: not evaluated)
  double drop = 0;                    // float_map - map
  double latency_ms = 0;              // engine time per batch of `batch` images
  std::string note{};                 // "add", "remove", ...
  // Standard error of (this configuration's map - the best configuration's), when the "within-noise"
  // fallback estimated it; -1 otherwise.
  double se_vs_best = -1;
};

struct MethodResult {
  std::string method{};
  int float_layers = 0;
  double map = -1;
  bool met = false;
};

struct PartialQuantReport {
  std::string model{}, output{}, sensitivity{}, objective{};
  std::string activations = "symmetric";       // or "asymmetric" (--asymmetric-activations)
  std::string weights = "8-bit";               // or "7-bit" (--reduce-range)
  std::string method{};                        // the calibration method of the exported model
  std::vector<MethodResult> method_results{};  // one per method searched (--try-methods)
  std::optional<double> max_drop{};            // in the 0..1 mAP scale
  std::optional<int> float_layers_requested{};
  std::string selection_images{}, selection_annotations{}, selection_metric{};
  size_t selection_count = 0;
  int batch = 0;
  int total_layers = 0;
  int max_float_layers = 0;  // the cap the budget search ran with (0 without a budget)
  double float_map = -1;
  double float_latency_ms = 0;
  std::vector<PartialStep> steps{};  // every configuration evaluated, in order
  PartialStep chosen{};
  bool budget_met = true;
  // Set when the budget was not met: the fallback rule and the best configuration it was measured against.
  std::string fallback{};
  PartialStep best{};
  nlohmann::json bias_correction{};  // to_json(BiasCorrectionReport) + "kept"; null when not tried
  double seconds = 0;
  std::vector<std::string> warnings{};
};

// Errors: neither or both of float_layers / max_drop_points, a budget without images, a sensitivity file of
// another model (fingerprint) or naming layers the model lacks, anything quantize_model refuses.
PartialQuantReport partial_quantize(const PartialQuantOptions& options);
// The checks partial_quantize makes of the options alone (exactly one of float_layers / max_drop_points, the
// budget's images, cap, objective, fallback, bias-correction mode), for a caller that runs it after other
// long work: Error as partial_quantize.
void check_partial_quant_options(const PartialQuantOptions& options);
// Format "partq.partial_quant", version 1 (docs/sensitivity.md).
nlohmann::json to_json(const PartialQuantReport& report);
std::string format_tradeoff(const PartialQuantReport& report);

}  // namespace partq
