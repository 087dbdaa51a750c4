// From a detector's raw output tensor to COCO detections, per head family, reproducing the upstream
// post-processing (Ultralytics non_max_suppression + scale_boxes, YOLOX decode + postprocess), plus the
// per-family presets (input size, preprocessing, thresholds) and drawing.
//
//   Preset preset = preset_by_name(recognise_preset(signature).value_or("yolov5"));
//   Decoder decoder(preset.decoder, preset.input_w, preset.input_h, preset.eval);
//   auto per_image = decoder.decode(outputs, batch.letterboxes, batch.image_ids);  // every model output
//
// docs/detectors.md lists the layouts and how each is recognised.
#pragma once

#include <partq/coco.hpp>
#include <partq/data.hpp>
#include <partq/ir.hpp>

#include <opencv2/core.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace partq {

// The output layouts partq decodes (A = number of predictions, C = number of classes).
enum class DecoderKind {
  kYolov5,  // [N, A, 5+C]: cx cy w h (input pixels, decoded), obj, C class probabilities; score = obj*cls
  kYolox,   // [N, A, 5+C], A = the stride 8/16/32 grid: raw tx ty tw th, obj, C class probs; score = obj*cls
  kYolov8,  // [N, 4+C, A]: cx cy w h (input pixels, decoded), C class probabilities; score = cls
  // [N, A, 5+C], A = the grid, boxes decoded by the graph (YOLOv6, YOLOX exported with decode_in_inference):
  // the kYolov5 maths (score = obj*cls) with one prediction per grid cell.
  kYolov6,
  // Two outputs: boxes [N, A, 4] (x1 y1 x2 y2, input pixels) and class probabilities [N, A, C] (DAMO-YOLO)
  // or [N, C, A] (PP-YOLOE); score = cls.
  kBoxesScores,
  // [N, K, 6]: an NMS-free head that already picked its K best (box, class) pairs (YOLOv10, YOLO26 exported
  // end to end): x1 y1 x2 y2 (input pixels), score, class index. No NMS; the conf threshold and max_det
  // apply.
  kEnd2end,
  // [N, Q, 4+C]: a DETR head's Q queries (Ultralytics RT-DETR): cx cy w h as fractions of the input, C class
  // probabilities. One class per query (the best), no NMS; the conf threshold and max_det apply.
  kDetr,
  // Three outputs of a DETR exported with its post-processor (RT-DETR / D-FINE / DEIM export_onnx.py):
  // labels [N,K] (class indices), boxes [N,K,4] (x1 y1 x2 y2 in target-size pixels; partq feeds the input
  // size as the target size, see Graph::size_inputs) and scores [N,K], the graph's K best (query,
  // class) pairs. No NMS; the conf threshold and max_det apply.
  kLabelsBoxesScores,
};

const char* decoder_name(DecoderKind kind);

struct NmsOptions {
  float conf_threshold = 0.25f;
  float iou_threshold = 0.45f;  // a box whose IoU with a kept box is > this is suppressed (torchvision)
  int max_det = 300;            // per image after NMS; 0 = no cap (YOLOX has none)
  bool multi_label = false;     // Ultralytics only: every (box, class) with score > conf is a candidate
  bool class_agnostic = false;  // NMS across classes
};

// Everything needed to run one detector family end to end.
struct Preset {
  std::string name;  // preset_names(), or "name:profile" when preset_by_name swapped the preprocessing
  int input_w = 640;
  int input_h = 640;
  PreprocessProfile profile = PreprocessProfile::kYolov5Letterbox;
  DecoderKind decoder = DecoderKind::kYolov5;
  NmsOptions eval;  // mAP evaluation, as the upstream val / eval scripts
  NmsOptions demo;  // drawing: conf 0.25, IoU 0.45
  // Classes of the model when its output does not say (an end-to-end head writes class indices): from
  // Ultralytics' "names" metadata (resolve_preset), 0 = the 80 COCO classes.
  int num_classes = 0;
};

std::vector<std::string> preset_names();
// Throws Error listing the known presets for an unknown name. "NAME:PROFILE" (e.g.
// "yolov8:ultralytics-stretch") is preset NAME with the preprocessing profile_by_name(PROFILE).
Preset preset_by_name(const std::string& name);

// Whether a head's box columns are computed by the graph (decoded) or come straight from a convolution (raw
// regression, decoded by partq). See box_encoding().
enum class BoxEncoding { kUnknown, kRaw, kDecoded };
const char* box_encoding_name(BoxEncoding encoding);

// Traces the box columns (indices 0..3 of `box_axis`, negative = from the end) of graph output
// `output_index` back to the nodes that compute them, through layout-only nodes (Reshape, Transpose,
// Concat, Slice, Split, Flatten, Squeeze, Unsqueeze, Identity, Cast, Q/DQ), following only the Concat /
// Slice / Split operands that hold those columns when the shapes are known. kRaw when they come from
// Conv/Gemm/MatMul only (YOLOX's Concat(reg_conv, Sigmoid(obj), Sigmoid(cls))); kDecoded when they come from
// arithmetic only (Mul/Add/Sub/Div/Exp/Pow..., the grid and stride decode of YOLOv5, YOLOv6, decoded YOLOX);
// kUnknown for a mix, nothing, or an output index out of range. Reads node types and shapes only, never
// names or values.
BoxEncoding box_encoding(const Graph& graph, size_t output_index = 0, int box_axis = -1);

// What can be read from an ONNX file without building the IR.
struct ModelSignature {
  std::vector<int64_t> input_shape{};                 // the image input, NCHW (-1 or 0 = dynamic)
  std::vector<int64_t> output_shape{};                // the (first) output
  std::map<std::string, std::string> metadata{};      // metadata_props (Ultralytics: "stride", "names", ...)
  std::vector<std::vector<int64_t>> output_shapes{};  // every output, in order (empty: just output_shape)
  std::vector<bool> integer_outputs{};                // per output, whether its type is an integer one
  BoxEncoding boxes = BoxEncoding::kUnknown;          // box_encoding() of the first output
};

// The preset a model most likely needs, or nullopt when nothing fits. Ultralytics exports carry "stride" and
// "names" metadata: [N,4+C,A] is yolov8, [N,A,5+C] yolov5. [N,K,6] with K below the grid size is an NMS-free
// end2end head. Without metadata, [N,G,5+C] with G the stride
// 8/16/32 grid size of the input is yolox (raw boxes) or yolov6 (boxes kDecoded by the graph), [N,3G,5+C]
// yolov5. Two outputs [N,A,4] + [N,A,C] are damoyolo, [N,A,4] + [N,C,A] ppyoloe. The caller should take
// the input size from the model rather than from the preset's default.
std::optional<std::string> recognise_preset(const ModelSignature& signature);

// Picks the decoder for an output shape (rank 3, batch first) and an input size. With a hint, checks that
// the shape fits that decoder. Throws Error naming the shape and what each decoder expects. Shape alone
// cannot tell yolov6 from yolox: unhinted, [N,G,5+C] is yolox (recognise_preset looks at the graph).
DecoderKind detect_decoder(const std::vector<int64_t>& output_shape, int input_w, int input_h,
                           std::optional<DecoderKind> hint = std::nullopt);
// The same over every output of a model: two outputs that pair as boxes + scores are kBoxesScores, else the
// first output decides. Error naming every output shape when nothing fits.
DecoderKind detect_decoder(const std::vector<std::vector<int64_t>>& output_shapes, int input_w, int input_h,
                           std::optional<DecoderKind> hint = std::nullopt);

// Which of a model's outputs are the boxes [N,A,4] and the scores ([N,A,C] or [N,C,A]) of a boxes + scores
// head, or nullopt when no two outputs pair up (or the pairing is ambiguous).
struct BoxesScoresPair {
  size_t boxes = 0, scores = 0;
  bool scores_channels_last = true;  // [N,A,C]; false for [N,C,A]
};
std::optional<BoxesScoresPair> pair_boxes_scores(const std::vector<std::vector<int64_t>>& output_shapes);

// Which outputs are the labels [N,K], boxes [N,K,4] and scores [N,K] of a post-processed DETR, or nullopt
// when there are not exactly three that fit. `integer` flags the outputs of an integer type: the labels are
// the integer one of the two [N,K]; without flags (or with both or neither flagged), the first, as
// export_onnx.py writes them.
struct LabelsBoxesScores {
  size_t labels = 0, boxes = 0, scores = 0;
};
std::optional<LabelsBoxesScores> find_labels_boxes_scores(
    const std::vector<std::vector<int64_t>>& output_shapes, const std::vector<bool>& integer = {});

// One model output as the decoder reads it: dense row-major float data and its shape.
struct DecoderInput {
  std::span<const float> data;
  std::vector<int64_t> shape;
  bool integer = false;  // an integer output (class indices) widened to float
};

// A box as corners, in whatever pixel space the caller uses.
struct BoxXyxy {
  float x1 = 0, y1 = 0, x2 = 0, y2 = 0;
};

// torchvision.ops.box_iou for one pair, in float: inter / (area_a + area_b - inter); 0/0 gives NaN.
float box_iou(const BoxXyxy& a, const BoxXyxy& b);
// torchvision.ops.nms: visits boxes by descending score (ties: lower index first) and drops every later box
// whose IoU with a kept box is > iou_threshold. Returns kept indices, highest score first.
std::vector<size_t> nms(std::span<const BoxXyxy> boxes, std::span<const float> scores, float iou_threshold);
// torchvision.ops.batched_nms: nms within each class independently; kept indices by descending score.
std::vector<size_t> batched_nms(std::span<const BoxXyxy> boxes, std::span<const float> scores,
                                std::span<const int> classes, float iou_threshold);

// Turns raw output tensors into detections in original-image coordinates. Class k becomes
// coco80_category_ids()[k] when the model has 80 classes, else category id k.
class Decoder {
 public:
  // Error for a non-positive input size. `num_classes`: Preset::num_classes (read by kEnd2end only, whose
  // output holds class indices; 0 = 80).
  Decoder(DecoderKind kind, int input_w, int input_h, NmsOptions options, int num_classes = 0);

  // `output` is the dense row-major output of one batch with shape `output_shape` (checked with
  // detect_decoder against this decoder: Error if it does not fit). Decodes the first letterboxes.size()
  // images (a padded batch has more rows than real images; Error if fewer); image_ids.size() must equal
  // letterboxes.size(). Returns one vector per image, highest score first. A kBoxesScores decoder needs
  // both of its outputs: Error from this overload.
  std::vector<std::vector<Detection>> decode(std::span<const float> output,
                                             const std::vector<int64_t>& output_shape,
                                             std::span<const Letterbox> letterboxes,
                                             std::span<const int64_t> image_ids) const;
  // Every output of the model: single-output decoders read the first, kBoxesScores finds its pair
  // (pair_boxes_scores). Error naming the output shapes when they do not fit.
  std::vector<std::vector<Detection>> decode(std::span<const DecoderInput> outputs,
                                             std::span<const Letterbox> letterboxes,
                                             std::span<const int64_t> image_ids) const;
  // The same for engine output tensors: float32, or int64 / int32 (class indices, widened to float; Error
  // for another type).
  std::vector<std::vector<Detection>> decode(const std::vector<Tensor>& outputs,
                                             std::span<const Letterbox> letterboxes,
                                             std::span<const int64_t> image_ids) const;

  DecoderKind kind() const { return kind_; }
  const NmsOptions& options() const { return options_; }

 private:
  DecoderKind kind_;
  int input_w_, input_h_;
  NmsOptions options_;
  int num_classes_;
};

// The number of classes in Ultralytics' "names" metadata ("{0: 'person', 1: 'bicycle', ...}"), 0 if absent or
// unreadable.
int metadata_class_count(const std::map<std::string, std::string>& metadata);

// COCO category id -> name for the 80 COCO classes (for draw_detections).
std::map<int64_t, std::string> coco80_names_by_category_id();

// Draws each detection's box and a "name 0.87" label onto a BGR image, one colour per category (the
// Ultralytics palette). A category missing from `names` is labelled with its id.
void draw_detections(cv::Mat& image, const std::vector<Detection>& detections,
                     const std::map<int64_t, std::string>& names);

}  // namespace partq
