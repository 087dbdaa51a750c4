// Per-layer quantization sensitivity (`partq sensitivity`): how much each quantizable layer costs when it
// runs INT8 (enable-one: only that layer INT8) or how much keeping it float recovers (leave-one-out: every
// other layer INT8), measured with a detection metric or an output-error proxy.
//
//   partq::SensitivityReport r = partq::analyse_sensitivity({.model = "yolov5n.onnx",
//                                                           .calib = "yolov5n.calib.json",
//                                                           .images = "val2017/", .metric = "sqnr"});
//   partq::write_sensitivity("yolov5n.sensitivity.json", r);
//
// A *layer* is one unit of quant_layers(): a quantizable node, or the nodes whose data inputs share one scale
// group (they flip together). The sweep shares work across layers: one baseline pass records every tensor a
// layer's changed region reads, and each layer then re-runs only the nodes its flip can change (the forward
// cone of its nodes and of the tensors whose quantization it changes) on those recorded tensors.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace partq {

struct SensitivityOptions {
  std::string model{};
  std::string calib{};              // *.calib.json of this model
  std::string images{};             // directory of images
  std::string annotations{};        // COCO instances JSON or YOLO-txt label directory; needed by metric "map"
  std::string mode = "enable-one";  // "enable-one" | "leave-one-out"
  std::string metric{};             // "map" | "pseudo-map" | "sqnr" | "cosine"; empty: map with
                                    // annotations, else pseudo-map
  size_t limit = 64;                // images (a seeded sample of the directory / annotation file)
  uint64_t seed = 0;
  int batch = 8;
  int threads = 0;
  std::optional<std::string> preset{};
  bool keep_first_conv_float = false;  // the first conv stays float in every configuration
  // Opt-in asymmetric activations for ONNX Runtime / OpenVINO (TensorRT takes only zero point 0): tensors
  // the graph bounds from below (SiLU, Relu outputs ...) are uint8 over [bound, amax]
  // (activation_lower_bounds in partq/quant.hpp).
  bool asymmetric_activations = false;
  // Reduced-range (7-bit) weights, ONNX Runtime's reduce_range: max|w| of each output channel at code 63, so
  // INT8 convolutions run in s8 kernels on CPUs without VNNI too (partq's engine, ONNX Runtime); costs
  // accuracy (docs/quantization.md).
  bool reduce_range = false;

  bool compare_naive = false;  // also run the naive sweep (one full forward per layer) and time it
  bool quiet = false;
};

struct LayerSensitivity {
  std::string name{};
  std::vector<std::string> nodes{};
  std::string op_type{};
  std::string detail{};      // e.g. "3x3 s2 16->32 g1"
  double value = 0;          // the metric with this layer flipped
  double sensitivity = 0;    // > 0: the layer is sensitive (see the file format in docs/sensitivity.md)
  double naive_value = 0;    // the naive sweep's value (compare_naive only)
  double cone_fraction = 0;  // share of the model's FLOPs the layer's re-run covers
  int rank = 0;              // 1 = most sensitive
};

struct SensitivityReport {
  std::string model{}, model_fingerprint{}, calib{}, calibration_method{};
  std::string mode{}, metric{};
  std::string activations = "symmetric";  // or "asymmetric" (SensitivityOptions::asymmetric_activations)
  std::string weights = "8-bit";          // or "7-bit" (SensitivityOptions::reduce_range)
  std::string images{}, annotations{};
  std::vector<std::string> files{};  // the images used, in order
  uint64_t seed = 0;
  int batch = 0;
  double baseline_float = 0;  // the metric of the all-float and of the full-INT8 model
  double baseline_int8 = 0;
  std::vector<LayerSensitivity> layers{};  // most sensitive first
  double seconds = 0;                      // the whole analysis
  double sweep_seconds = 0;                // the per-layer part (after the baselines), of which:
  double sweep_create_seconds = 0;         //   compiling the per-layer engines
  double sweep_run_seconds = 0;            //   running them
  double sweep_score_seconds = 0;          //   decoding / scoring their outputs
  double naive_seconds = 0;  // the naive sweep: measured (compare_naive) or estimated from full passes
  bool naive_measured = false;
  double forward_fraction = 0;  // mean cone_fraction
  int64_t cached_bytes = 0;     // memory held by the recorded tensors
  std::vector<std::string> notes{};
};

// Errors: a bad mode / metric, metric "map" without annotations, a calibration file of another model, an
// image directory with no readable image, anything load_model refuses.
SensitivityReport analyse_sensitivity(const SensitivityOptions& options);
// The checks analyse_sensitivity makes of the options alone (mode, metric and its labels, images given),
// for a caller that runs it after other long work: Error as analyse_sensitivity.
void check_sensitivity_options(const SensitivityOptions& options);

// File format "partq.sensitivity", version 1 (docs/sensitivity.md).
nlohmann::json to_json(const SensitivityReport& report);
SensitivityReport sensitivity_from_json(const nlohmann::json& json, const std::string& label);
void write_sensitivity(const std::string& path, const SensitivityReport& report);  // atomic
SensitivityReport read_sensitivity(const std::string& path);
void write_sensitivity_csv(const std::string& path, const SensitivityReport& report);  // atomic
std::string format_sensitivity(const SensitivityReport& report, size_t max_rows = 20);

}  // namespace partq
