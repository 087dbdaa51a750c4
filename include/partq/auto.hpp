// `partq auto`: the whole partial-quantization loop as one job. Calibrate on sample images, pick the
// calibration method that keeps the most accuracy, measure per-layer sensitivity, choose the fewest float
// layers that keep the selection-set mAP within the budget, export the Q/DQ model and TensorRT cache, then
// evaluate FP32 / full INT8 / partial INT8 on the evaluation images, benchmark them and write the report.
//
// OUTDIR receives: <stem>.calib.json, <stem>.sensitivity.json (+ .csv), <stem>.int8.qdq.onnx,
// <stem>.partial.qdq.onnx, <stem>.partial.cache (TensorRT), <stem>.partial.json (trade-off),
// eval-{fp32,int8,partial}.json, bench-{fp32,int8,partial}-b{1,8}.json, report.html and auto.json. When
// both activation modes were searched (AutoOptions::activations "auto"), the one not chosen keeps its
// sensitivity and partial files in OUTDIR/<mode>/.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace partq {

struct AutoOptions {
  std::string model{};
  std::string images{};             // evaluation images (the final figures)
  std::string annotations{};        // their labels
  std::string calib_images{};       // calibration and selection images (e.g. train2017)
  std::string calib_annotations{};  // labels of the selection images; none: YOLO-txt labels found in the
                                    // Ultralytics layout (images/<split> -> labels/<split>), else the float
                                    // model's detections (pseudo-labels)
  std::string output_dir{};
  double max_drop_points = 0.3;           // mAP50-95 budget on the selection set, in mAP points
  std::optional<int> max_float_layers{};  // cap of the budget search (PartialQuantOptions)
  double max_float_fraction = 0.10;
  std::string fallback = "within-noise";  // budget not met within the cap (PartialQuantOptions::fallback)
  bool bias_correction = true;  // also score the chosen configuration bias-corrected; keep the better one
  std::string method{};         // calibration method; empty: the best full-INT8 one on the selection set
  // "symmetric": int8 activations, what TensorRT takes. "asymmetric": the tensors the graph bounds from below
  // (SiLU, Relu outputs ..., the image) are uint8 over [bound, amax] (lower_bounds_for in partq/quant.hpp),
  // for ONNX Runtime / OpenVINO. "auto": symmetric when its search meets the budget on the selection set;
  // else the asymmetric search runs too, and the mode whose chosen model scores higher on the selection set
  // is kept.
  std::string activations = "auto";
  // Reduced-range (7-bit) weights for every model calibrated, searched and exported (QuantizeOptions::
  // reduce_range): INT8 convolutions then run in s8 on CPUs without VNNI.
  bool reduce_range = false;

  size_t calib_images_count = 512;   // images calibrated on
  size_t selection_images = 0;       // images the choice is made on (0 = all)
  size_t sensitivity_images = 64;    // images the sensitivity sweep runs on
  size_t eval_limit = 0;             // evaluation images used (0 = all)
  std::string sensitivity_metric{};  // default: map with calib_annotations, else pseudo-map
  std::string sensitivity_mode = "enable-one";
  std::string objective = "accuracy";
  std::vector<int> bench_batches{1, 8};
  int bench_runs = 10;
  // The three models are benchmarked in turn, this many times over (fp32, int8, partial, fp32, ...): a
  // drift of the machine's speed then reaches all of them instead of skewing one speed-up.
  int bench_rounds = 3;
  int batch = 8;
  uint64_t seed = 0;
  std::optional<std::string> preset{};
  int threads = 0;
  bool quiet = false;
};

struct AutoVariant {
  std::string label{};  // "fp32", "int8", "partial"
  std::string model{};  // file
  double map50_95 = 0, map50 = 0;
  std::vector<std::pair<int, double>> latency_ms{};  // batch -> median ms per batch
};

// One activation mode's search (calibration method, sensitivity, float layers) on the selection set.
struct AutoModeSearch {
  std::string activations{};  // "symmetric" / "asymmetric"
  std::string method{};       // calibration method of its partial model
  std::vector<std::string> float_layers{};
  double selection_map = -1, float_selection_map = -1;
  bool budget_met = false;
  double seconds = 0;
};

struct AutoReport {
  std::string model{}, output_dir{}, report{};
  std::string method{};                    // calibration method of the partial model
  std::string activations = "symmetric";   // of the exported models: "symmetric" or "asymmetric"
  std::string weights = "8-bit";           // of the exported models: "8-bit" or "7-bit" (reduce_range)
  std::vector<AutoModeSearch> searches{};  // the modes searched, in order (two when "auto" needed both)
  std::string full_int8_method{};  // of the full-INT8 model (the best for full INT8 on the selection set)
  std::vector<std::pair<std::string, double>> method_scores{};  // full-INT8 selection score per method
  std::vector<std::string> float_layers{};
  int total_layers = 0;
  bool budget_met = true;
  std::vector<AutoVariant> variants{};
  double seconds = 0;
  std::vector<std::pair<std::string, double>> stage_seconds{};
  std::vector<std::string> notes{};  // e.g. where the selection labels came from
  std::vector<std::string> warnings{};
};

AutoReport run_auto(const AutoOptions& options);
nlohmann::json to_json(const AutoReport& report);
std::string format_auto(const AutoReport& report);

}  // namespace partq
