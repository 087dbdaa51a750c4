// Bias correction for post-training quantization: INT8 weights (and INT8, clipped inputs) shift the mean of a
// conv's output per output channel; adding the measured shift back to the conv's float bias removes it. The
// corrected biases stay float, so the Q/DQ export of the corrected graph (insert_qdq) is as valid for
// TensorRT / ONNX Runtime as the uncorrected one; only bias values change.
//
//   partq::EngineOptions int8 = partq::int8_options_from_plan(plan, amax);    // partq/engine_quant.hpp
//   std::vector<partq::InputBatch> images =
//       partq::load_input_batches({.images = "train2017/", .count = 128}, preset);
//   partq::BiasCorrectionReport bc = partq::correct_biases(graph, int8, images);
//   partq::apply_biases(graph, bc.biases);                 // then insert_qdq(graph, plan, amax) as before
//
// Modes (measured on yolox_nano / yolov5n: docs/quantization.md):
//   - kWeights (default): only the INT8 weights' error, E[(W - Wq) * x] per output channel, with the float
//     model's mean input patches: one float pass, no quantized run (the empirical bias correction of Nagel et
//     al., Data-Free Quantization, 2019). yolox_nano: +0.1 to +1.2 mAP points in 7 of 8 configurations
//     (-0.16 in one); yolov5n: within +-0.1;
//   - kLocal: the whole INT8 conv's error (weights and the quantized, clipped input): the float conv against
//     the quantized conv on the quantized model's own input, every conv at once, `iterations` passes of the
//     quantized model. Recovers much of a full-INT8 model a single clipped layer ruins, but loses up to 0.7
//     points on a model already close to float.
// (Matching each conv's output mean to the float model's instead -- NNCF's BiasCorrection target -- made
// yolox_nano far worse, corrected all at once and layer by layer alike, and is not offered.)
#pragma once

#include <partq/detect.hpp>
#include <partq/engine.hpp>
#include <partq/ir.hpp>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace partq {

// One engine batch of preprocessed images: `input` is [N, 3, H, W]; its first `images` rows are real images,
// the rest padding (ignored).
struct InputBatch {
  Tensor input;
  size_t images = 0;
};

struct InputBatchOptions {
  std::string images{};  // a directory of images (not recursive)
  size_t count = 128;    // a seeded sample of that many (all when the directory has fewer)
  uint64_t seed = 0;
  int batch = 8;  // images per engine run (capped at the number sampled)
  bool quiet = false;
};

// Decodes and preprocesses (the preset's letterbox) a sample of a directory's images. Errors: not a
// directory, no image in it, none readable.
std::vector<InputBatch> load_input_batches(const InputBatchOptions& options, const Preset& preset);

enum class BiasCorrectionMode { kWeights, kLocal };
const char* bias_correction_mode_name(BiasCorrectionMode mode);          // "weights" / "local"
BiasCorrectionMode parse_bias_correction_mode(const std::string& name);  // Error for an unknown name

struct BiasCorrectionOptions {
  BiasCorrectionMode mode = BiasCorrectionMode::kWeights;
  int iterations = 3;          // kLocal: quantized passes, each followed by a correction of every bias
  bool measure_final = false;  // one more quantized pass after the correction, for relative_error
  int threads = 0;             // engine threads (0 = all cores)
  bool quiet = false;          // no progress bar
};

struct BiasCorrectionReport {
  BiasCorrectionMode mode = BiasCorrectionMode::kWeights;
  std::map<std::string, std::vector<float>> biases{};  // conv node -> its corrected bias (one per channel)
  std::vector<std::string> convs{};                    // the corrected convs, in graph order
  std::vector<std::string> skipped{};  // INT8 convs left alone: "<node>: <why>" (not 2D, auto_pad SAME)
  // Mean over the corrected channels of |bias change| / RMS of the float model's channel output.
  double relative_shift = 0;
  // Per quantized pass, the mean over the corrected channels of |float model's mean - quantized model's mean|
  // / RMS of the float channel output, measured before that pass's correction; with measure_final the last
  // entry is what is left after the correction. Empty for kWeights without measure_final.
  std::vector<double> relative_error{};
  int64_t images = 0;
  int iterations = 0;  // quantized correction passes run (0 for kWeights)
  double seconds = 0;
};

// The corrected biases of every Conv that `int8` runs in INT8 (plan.per_node == kInt8; a conv without bias
// gets one). `graph` is the prepared float graph (load_model; any batch: the engines are specialised to the
// batches' size); `int8` the engine options of the quantized model (int8_options_from_plan) -- its plan says
// which convs are INT8, and kLocal runs it (unfused, as the float simulation of its Q/DQ graph). Every batch
// must have the same shape. `graph` itself is not changed. Errors: no batch or no image, batches of different
// shapes, a model with more than one input, iterations < 0, a Conv whose weight or bias is not a constant, a
// conv output that is not finite.
BiasCorrectionReport correct_biases(const Graph& graph, const EngineOptions& int8,
                                    const std::vector<InputBatch>& batches,
                                    const BiasCorrectionOptions& options = {});

// Sets each named Conv's bias (adding a bias input where the conv had none; a bias initializer shared with
// another node is copied, not changed in place). Error naming a node the graph lacks, that is not a Conv, or
// a bias whose size is not the conv's output channel count.
void apply_biases(Graph& graph, const std::map<std::string, std::vector<float>>& biases);

// Everything but the biases themselves.
nlohmann::json to_json(const BiasCorrectionReport& report);

}  // namespace partq
