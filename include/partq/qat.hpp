// Quantization-aware training (QAT) with distillation from the float model: the one module that links
// libtorch. The quantized model is run in libtorch as the float simulation of its Q/DQ graph (fake
// quantization with straight-through gradients, as NVIDIA pytorch-quantization and TensorRT's QAT flow do),
// and every Conv's weight and bias is fine-tuned so that the quantized model's head outputs match the float
// model's on unlabelled images. No labels, no loss of the detector family: the teacher is the model itself.
//
//   auto graph = partq::load_model("yolox_nano.onnx");           // prepared float graph (the teacher)
//   partq::QuantPlan plan = ...;  std::map<std::string, float> amax = ...;   // e.g. from read_qdq
//   auto batches = partq::load_input_batches({.images = "train2017/", .count = 256}, preset);
//   partq::QatReport r = partq::train_qat(*graph, plan, amax, batches, {.epochs = 2});
//   auto qdq = partq::insert_qdq(*graph, plan, amax);            // the trained weights, the same scales
//
// What is trained and what is kept:
//   - trained: the weight and bias of every (2D) Conv between the input and the loss tensors, INT8 and
//     float convs alike (the float ones can compensate too), and the constant 2-D weight of every Gemm /
//     MatMul (a transformer's linear layers);
//   - kept: the plan (which nodes are INT8) and every activation scale, so the exported Q/DQ model keeps the
//     placement and calibration it started from. Weight scales follow the weights (per output channel,
//     max |w| / 127, recomputed every step exactly as the Q/DQ export computes them). Each weight is trained
//     in units of its channel's starting INT8 step, so the learning rate is in INT8 levels for every layer.
// The loss (QatLoss::kFeatures, the default): for each tensor where the quantized region hands over to the
// float detection-head decode (the inputs of plan.decode_nodes; followed through Reshape / Transpose to a
// Sigmoid when the decode applies one, so scores are compared as probabilities), the mean squared difference
// to the float model's tensor divided by that tensor's variance, averaged over the tensors.
#pragma once

#include <partq/bias_correction.hpp>  // InputBatch
#include <partq/ir.hpp>
#include <partq/quant.hpp>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace partq {

// What the student is compared with the teacher on.
enum class QatLoss {
  // The decode's inputs (distillation_tensors): normalized MSE, any detector.
  kFeatures,
  // The detections (measured on yolox_nano: it lowered mAP where kFeatures raised it; docs/qat.md): graph
  // output 0 is [N, A, 5+C] (box, objectness, class probabilities: YOLOv5 / YOLOv6 /
  // YOLOX layouts). Per anchor, the squared error of the box (raw regression, or pixels divided by the box's
  // size) plus that of the class scores obj*cls, weighted by the larger of the teacher's and the student's
  // best score: the anchors that are (or wrongly become) detections, which is what mAP sees.
  kDetections,
};
const char* qat_loss_name(QatLoss loss);  // "features" / "detections"

struct QatOptions {
  QatLoss loss = QatLoss::kFeatures;
  bool boxes_in_pixels = true;  // kDetections: boxes are decoded cx cy w h (false: raw regression, YOLOX)
  int epochs = 3;
  std::string optimizer = "adam";  // "adam" or "sgd" (momentum 0.9)
  double learning_rate = 1e-2;     // in INT8 steps of each weight; decayed to 0 along a cosine
  // Also learn the activation scales (LSQ, Esser et al. 2020: the rounding's gradient reaches the scale; one
  // scale per scale group, trained as log(scale) with its own Adam rate). The export then writes the learned
  // scales instead of the calibrated ones.
  bool learn_scales = false;
  double scale_learning_rate = 1e-3;
  uint64_t seed = 0;   // order of the batches in each epoch
  int threads = 0;     // libtorch threads (0 = every core)
  bool quiet = false;  // no progress bar
};

struct QatReport {
  std::vector<std::string> loss_tensors{};  // the tensors the student is compared with the teacher on
  std::vector<std::string> trained{};       // the convs (weight and bias) and linear layers (weight) trained
  int64_t parameters = 0;                   // trained values
  int64_t images = 0;                       // per epoch
  int epochs = 0;
  int steps = 0;
  double initial_loss = 0;           // distillation loss of the starting model, over every image
  double final_loss = 0;             // of the trained model, over every image
  std::vector<double> epoch_loss{};  // mean loss while training, per epoch
  // With learn_scales: every plan activation's amax after training (group rule applied), and the mean over
  // the scale groups of |ln(learned / calibrated)|.
  std::map<std::string, float> learned_amax{};
  double mean_scale_change = 0;
  double seconds = 0;
};

// Fine-tunes `graph`'s Conv weights and biases in place (see above). `graph` is the prepared float graph
// (load_model) that `plan` was made for; `amax` the calibrated per-tensor amax of the plan's activations
// (group rule applied here, as insert_qdq does). Every batch must have the same image shape. Errors: no
// batch, a node the training executor does not support (naming node and op type), a plan node or tensor the
// graph lacks, a loss that stops being finite (naming the epoch and step: lower the learning rate).
QatReport train_qat(Graph& graph, const QuantPlan& plan, const std::map<std::string, float>& amax,
                    const std::vector<InputBatch>& batches, const QatOptions& options = {});
// The checks train_qat makes of its options alone (epochs, learning rates, optimizer), for a caller that
// loads images and models first: Error as train_qat.
void check_qat_options(const QatOptions& options);

nlohmann::json to_json(const QatReport& report);

// The tensors train_qat compares (QatReport::loss_tensors), in graph order.
std::vector<std::string> distillation_tensors(const Graph& graph, const QuantPlan& plan);

// ---- partq qat: the job behind the command
struct QatJobOptions {
  std::string model{};  // FP32 ONNX: the teacher and the starting weights
  std::string from{};   // a Q/DQ ONNX of that model (partq quantize's): the plan and scales to keep
  std::string calib{};  // or a calibration file: the full-INT8 plan with its amax
  bool keep_first_conv_float = false;  // with calib
  // With calib: reduced-range (7-bit) weights (QuantizeOptions::reduce_range). A --from model keeps its own
  // weight range (QdqModel::plan.weight_max_code).
  bool reduce_range = false;
  std::string images{};     // training images (unlabelled)
  size_t num_images = 256;  // sampled from them (seed)
  int batch = 8;
  std::string output{};  // Q/DQ ONNX to write
  std::string trt_cache{};
  std::optional<std::string> preset{};
  // "features" (any head) or "detections" (the [N, A, 5+C] heads of the yolov5 / yolov6 / yolox presets);
  // overrides training.loss and sets training.boxes_in_pixels from the preset.
  std::string loss = "features";
  QatOptions training{};
};

struct QatJobReport {
  std::string model, start, output;
  int int8_nodes = 0;
  int float_nodes = 0;
  std::string weights = "8-bit";  // or "7-bit" (reduced range)
  std::string loss{};             // qat_loss_name of the loss used
  QatReport training{};
  std::vector<std::string> warnings{};
};

QatJobReport qat_model(const QatJobOptions& options);
nlohmann::json to_json(const QatJobReport& report);

}  // namespace partq
