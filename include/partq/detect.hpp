// From a detector's raw output tensor to COCO detections, per head family, reproducing the upstream
// post-processing (Ultralytics non_max_suppression + scale_boxes, YOLOX decode + postprocess), plus the
// per-family presets (input size, preprocessing, thresholds) and drawing.
//
//   Preset preset = preset_by_name(recognise_preset(signature).value_or("yolov5"));
//   Decoder decoder(preset.decoder, preset.input_w, preset.input_h, preset.eval);
//   auto per_image = decoder.decode(output.as<float>(), output.shape, batch.letterboxes, batch.image_ids);
#pragma once

#include <partq/coco.hpp>
#include <partq/data.hpp>

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
  std::string name;  // "yolov5", "yolox", "yolov8"
  int input_w = 640;
  int input_h = 640;
  PreprocessProfile profile = PreprocessProfile::kYolov5Letterbox;
  DecoderKind decoder = DecoderKind::kYolov5;
  NmsOptions eval;  // mAP evaluation, as the upstream val / eval scripts
  NmsOptions demo;  // drawing: conf 0.25, IoU 0.45
};

std::vector<std::string> preset_names();
// Throws Error listing the known presets for an unknown name.
Preset preset_by_name(const std::string& name);

// What can be read from an ONNX file without building the IR.
struct ModelSignature {
  std::vector<int64_t> input_shape;             // the image input, NCHW (-1 or 0 = dynamic)
  std::vector<int64_t> output_shape;            // the (first) output
  std::map<std::string, std::string> metadata;  // metadata_props (Ultralytics: "stride", "names", ...)
};

// The preset a model most likely needs, or nullopt when nothing fits. Ultralytics exports carry "stride" and
// "names" metadata: [N,4+C,A] is yolov8, [N,A,5+C] yolov5. Without metadata, [N,G,5+C] with G the stride
// 8/16/32 grid size of the input is yolox, [N,3G,5+C] yolov5. The caller should take the input size from
// the model rather than from the preset's default.
std::optional<std::string> recognise_preset(const ModelSignature& signature);

// Picks the decoder for an output shape (rank 3, batch first) and an input size. With a hint, checks that
// the shape fits that decoder. Throws Error naming the shape and what each decoder expects.
DecoderKind detect_decoder(const std::vector<int64_t>& output_shape, int input_w, int input_h,
                           std::optional<DecoderKind> hint = std::nullopt);

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
  // Error for a non-positive input size.
  Decoder(DecoderKind kind, int input_w, int input_h, NmsOptions options);

  // `output` is the dense row-major output of one batch with shape `output_shape` (checked with
  // detect_decoder against this decoder: Error if it does not fit). Decodes the first letterboxes.size()
  // images (a padded batch has more rows than real images; Error if fewer); image_ids.size() must equal
  // letterboxes.size(). Returns one vector per image, highest score first.
  std::vector<std::vector<Detection>> decode(std::span<const float> output,
                                             const std::vector<int64_t>& output_shape,
                                             std::span<const Letterbox> letterboxes,
                                             std::span<const int64_t> image_ids) const;

  DecoderKind kind() const { return kind_; }
  const NmsOptions& options() const { return options_; }

 private:
  DecoderKind kind_;
  int input_w_, input_h_;
  NmsOptions options_;
};

// COCO category id -> name for the 80 COCO classes (for draw_detections).
std::map<int64_t, std::string> coco80_names_by_category_id();

// Draws each detection's box and a "name 0.87" label onto a BGR image, one colour per category (the
// Ultralytics palette). A category missing from `names` is labelled with its id.
void draw_detections(cv::Mat& image, const std::vector<Detection>& detections,
                     const std::map<int64_t, std::string>& names);

}  // namespace partq
