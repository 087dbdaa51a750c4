// The calibration result files: `*.calib.json` (partq's own, read back by `partq quantize`) and the TensorRT
// calibration cache (`*.cache`).
//
// *.calib.json (format "partq.calib", version 1):
//   {"format": "partq.calib", "version": 1, "partq_version": "0.1.0", "method": "entropy", "num_images": 512,
//    "model": "yolov5n.onnx", "model_fingerprint": "fnv1a64:...", "settings": {"percentile": 99.99, ...},
//    "amax": {"images": 1.0, "/model.0/act/Mul_output_0": 7.53, ...}}
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "partq/ir.hpp"

namespace partq {

struct CalibrationTable {
  std::string method;  // "max", "entropy", "percentile", "mse"
  int64_t num_images = 0;
  std::string partq_version{};                         // empty: filled with this build's version when written
  std::string model{};                                 // the model file it was made from (informational)
  std::string model_fingerprint;                       // model_fingerprint() of the calibrated graph
  nlohmann::json settings = nlohmann::json::object();  // method options (percentile, seed, batch ...)
  std::map<std::string, float> amax;                   // per-tensor amax (> 0, finite)
};

const char* partq_version();

nlohmann::json to_json(const CalibrationTable& table);
// Error naming `label` (and the key) for a malformed file: wrong format / version, a missing field, an amax
// that is not a finite positive number.
CalibrationTable calibration_from_json(const nlohmann::json& json, const std::string& label);
void write_calibration(const std::string& path, const CalibrationTable& table);  // atomic
CalibrationTable read_calibration(const std::string& path);

// Checks a table against the graph it is about to be used with. Tensors the graph does not have: Error naming
// `label`, both fingerprints and (up to 5 of) the tensors. Same tensors but another fingerprint (e.g. the
// same architecture with other weights): returns a warning line; "" when everything matches.
std::string check_calibration_matches(const CalibrationTable& table, const Graph& graph,
                                      const std::string& label);

// TensorRT calibration cache.
enum class TrtCalibrator { kEntropy2, kMinMax };
struct TrtCacheOptions {
  std::string trt_version = "8601";  // the number in the header (TensorRT 8.6.1)
  TrtCalibrator calibrator = TrtCalibrator::kEntropy2;
};
// "TRT-8601-EntropyCalibration2\n" then one "<tensor>: <hex>\n" line per tensor (sorted by name), <hex> being
// the big-endian IEEE-754 bits of scale = amax / 127 as 8 lowercase hex digits (scale 1.0 -> 3f800000).
std::string trt_calibration_cache(const std::map<std::string, float>& amax,
                                  const TrtCacheOptions& options = {});
void write_trt_calibration_cache(const std::string& path, const std::map<std::string, float>& amax,
                                 const TrtCacheOptions& options = {});  // atomic
// One line's value: the 8 hex digits for `scale`.
std::string trt_scale_hex(float scale);

}  // namespace partq
