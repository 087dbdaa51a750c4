// Post-training quantization jobs, as a library: calibrate a model on sample images (`partq calibrate`),
// write its Q/DQ ONNX (`partq quantize`), and load any model -- FP32 or Q/DQ -- ready for the engine
// (`prepare_model`, used by eval / bench / detect / run).
//
//   partq::CalibrationReport c = partq::calibrate_model({.model = "yolov5n.onnx", .images = "train2017/",
//                                                        .output = "yolov5n.calib.json"});
//   partq::quantize_model({.model = "yolov5n.onnx", .calib = "yolov5n.calib.json",
//                          .output = "yolov5n.qdq.onnx"});
//   partq::PreparedModel m = partq::prepare_model("yolov5n.qdq.onnx");   // m.int8: runs INT8
//   auto engine = partq::Engine::create(*m.graph, m.engine_options);
//
// This header deliberately exposes no quant.hpp type (QuantPlan stays an implementation detail of the jobs).
#pragma once

#include <partq/engine.hpp>
#include <partq/ir.hpp>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace partq {

// ---- partq calibrate
struct CalibrateOptions {
  std::string model{};
  std::string images{};  // a directory of images (not recursive)
  std::string output{};  // *.calib.json
  // The amax written as `amax` in the file: "max" | "entropy" | "percentile" | "mse". Every method's amax is
  // computed from the same pass and stored under settings.amax_by_method, so switching needs no
  // recalibration.
  std::string method = "entropy";
  double percentile = 99.99;
  size_t num_images = 512;  // sampled from the directory; fewer available -> all of them (with a note)
  int batch = 32;           // images per engine run (capped at the number of sampled images)
  uint64_t seed = 0;        // the sample: a seeded shuffle of the sorted directory listing
  std::optional<std::string> preset{};  // preprocessing; default: recognised from the model
  std::string trt_cache{};              // also write a TensorRT calibration cache here (if not empty)
  bool keep_first_conv_float = false;   // the plan the TensorRT cache is written for
  int threads = 0;
  bool quiet = false;
  bool measure_overhead = true;  // time a couple of batches with and without the observers
};

struct CalibrationReport {
  std::string model{};
  std::string output{};
  std::string method{};
  std::string preset{};
  int64_t images_available = 0;        // image files in the directory
  int64_t images_sampled = 0;          // min(num_images, available)
  int64_t images_used = 0;             // sampled minus unreadable
  std::vector<std::string> skipped{};  // unreadable images
  int64_t tensors = 0;                 // calibrated activation tensors
  int batch = 0;
  double seconds = 0;
  // Forward-pass time per batch with every observer attached vs none (negative: not measured).
  double ms_per_batch_with_observers = -1;
  double ms_per_batch_without_observers = -1;
  double observer_overhead_percent() const;  // 0 when not measured
  std::vector<std::string> notes{};          // informational (fewer images than asked, ...)
  std::vector<std::string> warnings{};  // a method fell back to max for a tensor, another fingerprint, ...
  std::map<std::string, float> amax{};  // the written per-tensor amax (chosen method)
};

// Errors: not a directory, no image in it, none readable, a tensor that saw only zeros (naming the tensors),
// NaN / Inf in a tensor (naming it), a bad method / percentile / batch.
CalibrationReport calibrate_model(const CalibrateOptions& options);
nlohmann::json to_json(const CalibrationReport& report);

// ---- partq quantize
struct QuantizeOptions {
  std::string model{};
  std::string calib{};   // *.calib.json written by calibrate_model
  std::string output{};  // *.qdq.onnx
  std::string trt_cache{};
  bool keep_first_conv_float = false;
  // Opt-in asymmetric activations for ONNX Runtime / OpenVINO (TensorRT takes only zero point 0): tensors
  // the graph bounds from below (SiLU, Relu outputs ...) are uint8 over [bound, amax]
  // (activation_lower_bounds in partq/quant.hpp).
  bool asymmetric_activations = false;
  // Reduced-range (7-bit) weights, ONNX Runtime's reduce_range: max|w| of each output channel at code 63, so
  // INT8 convolutions run in s8 kernels on CPUs without VNNI too (partq's engine, ONNX Runtime); costs
  // accuracy (docs/quantization.md).
  bool reduce_range = false;
  // Bias correction (partq/bias_correction.hpp) on a sample of `images` before the export: the INT8 convs'
  // float biases absorb their quantization's mean error.
  bool bias_correction = false;
  std::string images{};                 // a directory of sample images (required with bias_correction)
  size_t bias_images = 128;             // sampled from it (seed 0)
  std::string bias_mode = "weights";    // "weights" | "local"
  std::optional<std::string> preset{};  // preprocessing of the images; default: recognised from the model
  int threads = 0;
  bool quiet = false;
};

struct QuantizeReport {
  std::string model{};
  std::string output{};
  std::string method{};           // of the calibration file
  std::string weights = "8-bit";  // or "7-bit" (reduce_range)
  int int8_nodes = 0;
  int float_nodes = 0;  // quantizable nodes left float
  int quantized_tensors = 0;
  int scale_groups = 0;
  nlohmann::json bias_correction{};  // to_json(BiasCorrectionReport); null without bias correction
  std::vector<std::string> warnings{};
};

// Errors: a calibration file of another model (naming the tensors it lacks), an amax missing for a planned
// tensor (naming it), anything load_model / save_onnx refuses.
// With bias_correction: no images, an unknown bias_mode, anything correct_biases refuses.
QuantizeReport quantize_model(const QuantizeOptions& options);
nlohmann::json to_json(const QuantizeReport& report);

// ---- partq inspect --quant
struct QuantizationSummary {
  bool from_qdq = false;  // the plan was read from the model's Q/DQ nodes, not made by the placement rules
  std::string text{};     // describe_plan: per node precision / scale group / reason, groups, decode nodes
  nlohmann::json plan{};  // the plan as JSON (format partq.quant_plan)
};
QuantizationSummary inspect_quantization(const std::string& path, bool keep_first_conv_float = false);

// ---- any model, ready for the engine
struct PreparedModel {
  std::unique_ptr<Graph> graph;  // the float graph (Q/DQ removed, weights dequantized)
  EngineOptions engine_options;  // plan + activation_scales filled for a Q/DQ model; set threads / batch
  bool int8 = false;             // the file had Q/DQ nodes
  int int8_nodes = 0;
  int quantized_tensors = 0;
};

// load_model(path), then for a Q/DQ model (has_qdq) read_qdq: INT8 options from the Q/DQ it describes.
// An unsupported Q/DQ pattern is read_qdq's Error, prefixed with the file name.
PreparedModel prepare_model(const std::string& path);

}  // namespace partq
