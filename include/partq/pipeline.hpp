// The end-to-end jobs partq's commands run, as a library: prepare a model, evaluate it on a COCO dataset,
// benchmark it, run it on raw tensors, draw its detections, describe it. Each takes an options struct and
// returns a report struct the caller can print or serialise (to_json); the CLI is a thin layer over these.
#pragma once

#include <partq/coco_eval.hpp>
#include <partq/detect.hpp>
#include <partq/engine.hpp>
#include <partq/ir.hpp>
#include <partq/util/timing.hpp>

#include <nlohmann/json.hpp>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace partq {

// Loads an ONNX file and applies the passes every job wants (prepare_graph). Throws Error naming the file for
// anything it cannot read.
std::unique_ptr<Graph> load_model(const std::string& path);
// The passes load_model applies, for a graph loaded some other way: an export with a dynamic image height and
// width that records the size it was exported at in its metadata (Ultralytics' "imgsz") is given that size
// first; then float16 -> float32, canonicalize, constant folding, Conv+BN and RepVGG folding, Pad folding,
// dead-node removal.
void prepare_graph(Graph& graph);

// The preset for a model: `name` if given (Error for an unknown one), else recognised from the graph (Error
// saying so, and naming --preset, when nothing fits). The input size is taken from the model.
Preset resolve_preset(const Graph& graph, const std::optional<std::string>& name);
ModelSignature model_signature(const Graph& graph);

// ---- partq inspect
struct LayerSummary {
  std::string node{};
  std::string op_type{};
  std::string detail{};  // e.g. "3x3 s2 16->32 g1"
  int64_t params = 0;
  int64_t flops = 0;  // per image, multiply-add counted as 2
};

struct ModelSummary {
  std::string path{};
  int64_t opset = 0;          // the file's default-domain opset
  int64_t read_as_opset = 0;  // the opset-17 forms partq read a newer file through (17), else 0
  std::string producer{};
  std::vector<TensorInfo> inputs{}, outputs{};
  // Inputs partq feeds itself (Graph::size_inputs): input name -> what it feeds, in words
  // (size_input_meaning).
  std::map<std::string, std::string> size_inputs{};
  std::map<std::string, int64_t> op_counts{};
  int64_t nodes = 0;
  int64_t params = 0;                       // elements of all float initializers
  int64_t flops = 0;                        // per image, Conv/ConvTranspose/Gemm/MatMul
  std::vector<LayerSummary> quantizable{};  // the layers a quantizer would touch
  std::optional<std::string> preset{};      // recognised preset, if any
  std::map<std::string, std::string> metadata{};
  std::map<std::string, std::vector<std::string>> unsupported_ops{};  // what the engine cannot run (nodes)
  // A Q/DQ model (an export of partq or another tool): how many layers its Q/DQ nodes make INT8 and how many
  // activation tensors they quantize. Params, FLOPs, the layer list and unsupported_ops then describe the
  // network the engine runs (Q/DQ read as its INT8 plan, weights behind DequantizeLinear counted once);
  // op_counts and nodes stay the file's own.
  struct Qdq {
    int64_t int8_layers = 0;
    int64_t quantized_tensors = 0;
  };
  std::optional<Qdq> qdq{};
};
ModelSummary inspect_model(const std::string& path);
// One quantizable node's summary (detail, params, FLOPs per image from the inferred shapes); op types other
// than Conv / ConvTranspose / Gemm / MatMul get only node and op_type.
LayerSummary describe_layer(const Node& node);
nlohmann::json to_json(const ModelSummary& summary);
std::string format_summary(const ModelSummary& summary);

// ---- partq eval
struct EvalOptions {
  std::string model{};
  std::string images{};       // directory of images
  std::string annotations{};  // COCO instances JSON, or a directory of YOLO-txt labels
  std::optional<std::string> preset{};
  std::optional<float> conf{};  // default: the preset's evaluation threshold
  std::optional<float> iou{};   // default: the preset's NMS IoU
  size_t limit = 0;             // 0 = every image
  int batch = 1;
  int threads = 0;
  bool fast_silu = false;  // INT8: EngineOptions::int8_silu_table
  bool quiet = false;
  std::string save_detections{};  // COCO results JSON, if not empty
};

struct EvalReport {
  std::string model{};
  std::string preset{};
  CocoEvalResult coco{};
  int64_t images = 0;   // evaluated
  int64_t skipped = 0;  // unreadable images
  int64_t missing = 0;  // listed in the annotations but not in the image directory (not evaluated)
  int64_t detections = 0;
  float conf = 0;  // the score threshold and NMS IoU used
  float iou = 0;
  int batch = 1;
  int threads = 0;
  bool fast_silu = false;
  double seconds = 0;                 // wall time of the whole evaluation loop
  double inference_ms_per_image = 0;  // engine time only
};
EvalReport evaluate_model(const EvalOptions& options);
// Reads an evaluation set as evaluate_model does (the directory, the labels, the listed images present) and
// runs nothing, so that a long job checks the images it evaluates at the end before it starts. Returns how
// many of the listed images are in the directory; Error as evaluate_model for a missing directory,
// unreadable labels or none of the listed images there.
size_t check_labelled_images(const std::string& images, const std::string& annotations);
nlohmann::json to_json(const EvalReport& report);

// ---- partq bench
struct BenchOptions {
  std::string model{};
  int batch = 1;
  int threads = 0;
  int warmup = 5;
  int runs = 30;
  bool fast_silu = false;  // INT8: EngineOptions::int8_silu_table
  bool quiet = false;
};

struct BenchReport {
  std::string model{};
  int batch = 1;
  int threads = 0;
  bool fast_silu = false;
  LatencyStats latency{};  // per batch
  double images_per_s = 0;
  std::string engine_description{};
  std::vector<std::string> warnings{};  // e.g. an INT8 model whose convs run in f32 on this CPU
};
BenchReport benchmark_model(const BenchOptions& options);
nlohmann::json to_json(const BenchReport& report);

// ---- partq detect
struct DetectOptions {
  std::string model{};
  // Image files, or directories whose image files are all drawn (sorted by name). Every one is checked to
  // exist before the model is loaded, so a typo writes nothing.
  std::vector<std::string> images{};
  std::string output_dir{};
  std::optional<std::string> preset{};
  std::optional<float> conf{};  // default: the preset's demo threshold
  std::optional<float> iou{};
  int threads = 0;
};
struct DetectedImage {
  std::string input{};
  std::string output{};  // annotated copy
  std::vector<Detection> detections{};
};
std::vector<DetectedImage> detect_images(const DetectOptions& options);

// ---- partq run
struct RunOptions {
  std::string model{};
  std::vector<std::string> inputs{};     // .npy files, one per model input, in order
  std::string output_prefix = "output";  // outputs go to PREFIX.<index>.npy
  int threads = 0;
};
struct RunReport {
  std::vector<TensorInfo> outputs{};
  std::vector<std::string> files{};
  double milliseconds = 0;
};
// The batch is taken from the first input's dim 0. Error when the number, dtype or shape of the inputs does
// not fit the model (naming the input).
RunReport run_tensors(const RunOptions& options);

// ---- partq convert
struct ConvertOptions {
  std::string model{};
  std::string output{};
  int64_t batch = 0;              // 0 = keep
  int64_t height = 0, width = 0;  // image size for an export with dynamic image dims; 0 = keep
};
void convert_model(const ConvertOptions& options);

}  // namespace partq
