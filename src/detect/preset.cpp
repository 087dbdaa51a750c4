// The detector families partq knows, with the thresholds of their own evaluation scripts:
//  - yolov5: val.py (conf 0.001, IoU 0.6, max_det 300, multi-label), detect.py demo (0.25 / 0.45).
//  - yolox:  conf 0.001 (the project's evaluation setting; yolox_base.py's test_conf is 0.01, pass --conf
//  0.01 for
//            it), nmsthre 0.65, best class only, no max_det cap.
//  - yolov8: ultralytics DetectionValidator (conf 0.001, IoU 0.7, max_det 300, multi-label).
//  - yolov6: YOLOv6 tools/eval.py (conf 0.03, IoU 0.65, multi-label, max_det 300); letterbox like yolov5.
//  - damoyolo: the ZeroHead defaults nms_conf_thre 0.05, nms_iou_thre 0.7, multiclass_nms max_num 500
//            (multi-label). DAMO-YOLO feeds 0..255 values of a keep-ratio resize pasted at the top-left
//            (tools/demo.py, damo/utils/demo_utils.py transform_img, mean 0 / std 1, RGB, 0 padding):
//            the damoyolo-top-left profile.
//  - end2end: Ultralytics' NMS-free heads exported end to end (YOLOv10, YOLO26; output [N,300,6]), validated
//            at conf 0.001 with max_det 300 and no NMS; letterbox like yolov5.
//  - rtdetr: Ultralytics RT-DETR (RTDETRValidator: conf 0.001, the queries' best classes, no NMS; output
//            [N,300,4+C], boxes as fractions of the input); the image is stretched to the input size.
//  - dfine: a DETR exported with its post-processor by RT-DETR(v2) / D-FINE / DEIM tools/export_onnx.py
//            (outputs labels, boxes, scores: the top 300 (query, class) pairs); their COCO evaluator scores
//            all 300 (no threshold, no NMS). Their T.Resize((640, 640)) stretches the image bilinearly (PIL),
//            RGB /255: the ultralytics-stretch profile computes the same for the upscaling of COCO's images
//            (PIL also antialiases a downscale).
//  - ppyoloe: PaddleDetection MultiClassNMS (score 0.01, IoU 0.7, keep_top_k 300); the eval reader
//            stretches the image to the input size (cubic), RGB /255: the ppyoloe-stretch profile.
#include <partq/error.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <regex>

#include "postprocess.hpp"

namespace partq {
namespace {

constexpr NmsOptions kDemo{.conf_threshold = 0.25f, .iou_threshold = 0.45f, .max_det = 300};

std::vector<Preset> all_presets() {
  return {
      {.name = "yolov5",
       .input_w = 640,
       .input_h = 640,
       .profile = PreprocessProfile::kYolov5Letterbox,
       .decoder = DecoderKind::kYolov5,
       .eval = {.conf_threshold = 0.001f, .iou_threshold = 0.6f, .max_det = 300, .multi_label = true},
       .demo = kDemo},
      {.name = "yolox",
       .input_w = 416,
       .input_h = 416,
       .profile = PreprocessProfile::kYoloxTopLeft,
       .decoder = DecoderKind::kYolox,
       .eval = {.conf_threshold = 0.001f, .iou_threshold = 0.65f, .max_det = 0},
       .demo = kDemo},
      {.name = "yolov8",
       .input_w = 640,
       .input_h = 640,
       .profile = PreprocessProfile::kYolov5Letterbox,
       .decoder = DecoderKind::kYolov8,
       .eval = {.conf_threshold = 0.001f, .iou_threshold = 0.7f, .max_det = 300, .multi_label = true},
       .demo = kDemo},
      {.name = "yolov6",
       .input_w = 640,
       .input_h = 640,
       .profile = PreprocessProfile::kYolov5Letterbox,
       .decoder = DecoderKind::kYolov6,
       .eval = {.conf_threshold = 0.03f, .iou_threshold = 0.65f, .max_det = 300, .multi_label = true},
       .demo = kDemo},
      // A YOLOX export with decode_in_inference=True: boxes decoded by the graph, YOLOX preprocessing. The
      // outputs look like YOLOv6's, so only --preset picks it.
      {.name = "yolox-decoded",
       .input_w = 416,
       .input_h = 416,
       .profile = PreprocessProfile::kYoloxTopLeft,
       .decoder = DecoderKind::kYolov6,
       .eval = {.conf_threshold = 0.001f, .iou_threshold = 0.65f, .max_det = 0},
       .demo = kDemo},
      {.name = "damoyolo",
       .input_w = 640,
       .input_h = 640,
       .profile = PreprocessProfile::kDamoyoloTopLeft,
       .decoder = DecoderKind::kBoxesScores,
       .eval = {.conf_threshold = 0.05f, .iou_threshold = 0.7f, .max_det = 500, .multi_label = true},
       .demo = kDemo},
      {.name = "ppyoloe",
       .input_w = 640,
       .input_h = 640,
       .profile = PreprocessProfile::kPpyoloeStretch,
       .decoder = DecoderKind::kBoxesScores,
       .eval = {.conf_threshold = 0.01f, .iou_threshold = 0.7f, .max_det = 300, .multi_label = true},
       .demo = kDemo},
      {.name = "end2end",
       .input_w = 640,
       .input_h = 640,
       .profile = PreprocessProfile::kYolov5Letterbox,
       .decoder = DecoderKind::kEnd2end,
       .eval = {.conf_threshold = 0.001f, .max_det = 300},
       .demo = kDemo},
      {.name = "rtdetr",
       .input_w = 640,
       .input_h = 640,
       .profile = PreprocessProfile::kUltralyticsStretch,
       .decoder = DecoderKind::kDetr,
       .eval = {.conf_threshold = 0.001f, .max_det = 300},
       .demo = kDemo},
      {.name = "dfine",
       .input_w = 640,
       .input_h = 640,
       .profile = PreprocessProfile::kUltralyticsStretch,
       .decoder = DecoderKind::kLabelsBoxesScores,
       .eval = {.conf_threshold = 0.0f, .max_det = 300},
       .demo = kDemo},
  };
}

}  // namespace

std::vector<std::string> preset_names() {
  std::vector<std::string> names;
  for (const Preset& p : all_presets())
    names.push_back(p.name);
  return names;
}

Preset preset_by_name(const std::string& name) {
  // "family:profile": the family's decoder and thresholds with another preprocessing (a model trained with a
  // different resize than its family's own).
  const size_t colon = name.find(':');
  const std::string family = name.substr(0, colon);
  for (Preset p : all_presets())
    if (p.name == family) {
      if (colon != std::string::npos) {
        p.profile = profile_by_name(name.substr(colon + 1));
        p.name = name;  // reports and JSON say which preprocessing ran
      }
      return p;
    }
  fail("unknown preset '{}' (known: {})", family, fmt::join(preset_names(), ", "));
}

std::optional<std::string> recognise_preset(const ModelSignature& signature) {
  const auto& in = signature.input_shape;
  const auto& out =
      signature.output_shapes.empty() ? signature.output_shape : signature.output_shapes.front();
  if (in.size() != 4 || in[1] != 3) return std::nullopt;
  if (in[2] <= 0 || in[3] <= 0) return std::nullopt;  // dynamic spatial size: nothing to match against
  const int64_t grid = detail::grid_cells(static_cast<int>(in[3]), static_cast<int>(in[2]));
  if (grid == 0) return std::nullopt;
  // Two outputs that pair as boxes + scores, at least one prediction per grid cell: scores predictions-first
  // is DAMO-YOLO, classes-first PP-YOLOE. Fewer predictions than cells is a DETR's queries (raw cx cy w h and
  // logits, not the corners and probabilities these decoders read): not guessed.
  if (signature.output_shapes.size() == 2)
    if (const auto pair = pair_boxes_scores(signature.output_shapes)) {
      if (signature.output_shapes[pair->boxes][1] < grid) return std::nullopt;
      return pair->scores_channels_last ? "damoyolo" : "ppyoloe";
    }
  // Labels, boxes and scores: a DETR exported with its post-processor (D-FINE / DEIM / RT-DETRv2).
  if (find_labels_boxes_scores(signature.output_shapes, signature.integer_outputs)) return "dfine";
  if (out.size() != 3) return std::nullopt;
  const bool ultralytics = signature.metadata.count("stride") > 0 && signature.metadata.count("names") > 0;
  if (out[1] >= 5 && out[2] == grid) return "yolov8";
  // Fewer rows than grid cells, six columns: an NMS-free head that picked its best boxes in the graph.
  if (out[2] == 6 && out[1] > 0 && out[1] < grid) return "end2end";
  // Fewer rows than grid cells, 4 + C columns: a DETR head's queries (Ultralytics RT-DETR). C is the number
  // of names in Ultralytics metadata, else COCO's 80: any other [N,Q,5+C'] is too ambiguous to guess.
  const int named = metadata_class_count(signature.metadata);
  if (out[1] > 0 && out[1] < grid && out[2] == 4 + (named > 0 ? named : 80)) return "rtdetr";
  if (out[2] >= 6 && out[1] == 3 * grid) return "yolov5";
  // One prediction per grid cell: the graph tells raw regression (YOLOX) from decoded boxes (YOLOv6).
  if (out[2] >= 6 && out[1] == grid && !ultralytics)
    return signature.boxes == BoxEncoding::kDecoded ? "yolov6" : "yolox";
  // An Ultralytics export with another number of predictions (e.g. P6 heads) is still decoded, boxes first.
  if (ultralytics && out[2] >= 6 && out[1] > out[2]) return "yolov5";
  return std::nullopt;
}

int metadata_class_count(const std::map<std::string, std::string>& metadata) {
  const auto names = metadata.find("names");
  if (names == metadata.end()) return 0;
  // A Python dict literal of index -> name: count the keys.
  static const std::regex key(R"([{,]\s*\d+\s*:)");
  const auto begin = std::sregex_iterator(names->second.begin(), names->second.end(), key);
  return static_cast<int>(std::distance(begin, std::sregex_iterator()));
}

}  // namespace partq
