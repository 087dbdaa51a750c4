// Decoder selection (by output shapes) and the batch loop: slice the output(s) per image, post-process in
// model-input pixels, then map boxes to the original image (Ultralytics scale_boxes, YOLOX divide by r).
#include <partq/error.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

#include "postprocess.hpp"

namespace partq {
namespace {

std::string shape_text(const std::vector<int64_t>& shape) {
  return fmt::format("[{}]", fmt::join(shape, ","));
}

// The shape each single-output decoder accepts. YOLOv5/YOLOv8/YOLOv6 boxes are already decoded, so any
// number of predictions is accepted when the caller names the decoder; YOLOX needs its grid, so A must be
// the grid size.
bool fits(DecoderKind kind, const std::vector<int64_t>& s, int64_t grid, bool strict) {
  if (s.size() != 3 || s[0] <= 0) return false;
  switch (kind) {
    case DecoderKind::kYolov5:
      return s[2] >= 6 && (strict ? s[1] == 3 * grid : s[1] > 0);
    case DecoderKind::kYolox:
      return s[2] >= 6 && s[1] == grid;
    case DecoderKind::kYolov8:
      return s[1] >= 5 && (strict ? s[2] == grid : s[2] > 0);
    case DecoderKind::kYolov6:
      return s[2] >= 6 && (strict ? s[1] == grid : s[1] > 0);
    case DecoderKind::kBoxesScores:
    case DecoderKind::kLabelsBoxesScores:
      return false;  // several outputs
    case DecoderKind::kEnd2end:
      return s[2] == 6 && s[1] > 0 && (!strict || s[1] < grid);
    case DecoderKind::kDetr:
      return s[2] >= 5 && s[1] > 0 && (!strict || s[1] < grid);
  }
  return false;
}

// The single-output decoders an unhinted shape is tried against, in order (strict fits do not overlap). Not
// kDetr: [N,Q,4+C] says nothing a shape alone can check, so only recognise_preset (which reads the class
// names) or a preset picks it.
constexpr DecoderKind kSingleOutputKinds[] = {DecoderKind::kYolov5, DecoderKind::kYolox, DecoderKind::kYolov8,
                                              DecoderKind::kEnd2end};

// A boxes + scores pair: strict = one prediction per grid cell.
bool fits_pair(const std::vector<std::vector<int64_t>>& shapes, int64_t grid, bool strict) {
  const auto pair = pair_boxes_scores(shapes);
  return pair && (!strict || shapes[pair->boxes][1] == grid);
}

std::string expected(DecoderKind kind, int64_t grid) {
  switch (kind) {
    case DecoderKind::kYolov5:
      return fmt::format("yolov5 [N,{},5+C]", 3 * grid);
    case DecoderKind::kYolox:
      return fmt::format("yolox [N,{},5+C] (raw boxes)", grid);
    case DecoderKind::kYolov8:
      return fmt::format("yolov8 [N,4+C,{}]", grid);
    case DecoderKind::kYolov6:
      return fmt::format("yolov6 [N,{},5+C] (boxes decoded by the graph)", grid);
    case DecoderKind::kBoxesScores:
      return fmt::format("boxes-scores: two outputs [N,{0},4] + [N,{0},C] or [N,C,{0}]", grid);
    case DecoderKind::kEnd2end:
      return fmt::format("end2end [N,K,6] with K < {} (x1 y1 x2 y2 score class)", grid);
    case DecoderKind::kDetr:
      return fmt::format("detr [N,Q,4+C] with Q < {} (cx cy w h as fractions, class scores)", grid);
    case DecoderKind::kLabelsBoxesScores:
      return "labels-boxes-scores: three outputs, labels [N,K] + boxes [N,K,4] + scores [N,K]";
  }
  return "?";
}

// What a named decoder accepts, whatever the input size.
std::string expected_any(DecoderKind kind, int64_t grid) {
  switch (kind) {
    case DecoderKind::kYolox:
      return expected(kind, grid);
    case DecoderKind::kYolov5:
    case DecoderKind::kYolov6:
      return "[N,A,5+C]";
    case DecoderKind::kYolov8:
      return "[N,4+C,A]";
    case DecoderKind::kBoxesScores:
      return "two outputs, boxes [N,A,4] + scores [N,A,C] or [N,C,A]";
    case DecoderKind::kEnd2end:
      return "[N,K,6] (x1 y1 x2 y2 score class)";
    case DecoderKind::kDetr:
      return "[N,Q,4+C] (cx cy w h as fractions of the input, class scores)";
    case DecoderKind::kLabelsBoxesScores:
      return expected(kind, grid);
  }
  return "?";
}

std::string shapes_text(const std::vector<std::vector<int64_t>>& shapes) {
  std::vector<std::string> parts;
  for (const auto& s : shapes)
    parts.push_back(shape_text(s));
  return fmt::format("{}", fmt::join(parts, " + "));
}

[[noreturn]] void fail_no_match(const std::vector<std::vector<int64_t>>& shapes, int input_w, int input_h,
                                int64_t grid) {
  if (grid == 0)
    fail("model output {}: cannot pick a decoder, the input size {}x{} is not a multiple of 32",
         shapes_text(shapes), input_w, input_h);
  std::vector<std::string> layouts;
  for (DecoderKind kind : {DecoderKind::kYolov5, DecoderKind::kYolox, DecoderKind::kYolov6,
                           DecoderKind::kYolov8, DecoderKind::kBoxesScores, DecoderKind::kEnd2end,
                           DecoderKind::kDetr, DecoderKind::kLabelsBoxesScores})
    layouts.push_back(expected(kind, grid));
  fail("model output {} matches no decoder for a {}x{} input: expected one of {}", shapes_text(shapes),
       input_w, input_h, fmt::join(layouts, "; "));
}

}  // namespace

const char* decoder_name(DecoderKind kind) {
  switch (kind) {
    case DecoderKind::kYolov5:
      return "yolov5";
    case DecoderKind::kYolox:
      return "yolox";
    case DecoderKind::kYolov8:
      return "yolov8";
    case DecoderKind::kYolov6:
      return "yolov6";
    case DecoderKind::kBoxesScores:
      return "boxes-scores";
    case DecoderKind::kEnd2end:
      return "end2end";
    case DecoderKind::kDetr:
      return "detr";
    case DecoderKind::kLabelsBoxesScores:
      return "labels-boxes-scores";
  }
  return "?";
}

std::optional<BoxesScoresPair> pair_boxes_scores(const std::vector<std::vector<int64_t>>& shapes) {
  std::vector<BoxesScoresPair> found;
  for (size_t b = 0; b < shapes.size(); ++b) {
    const auto& box = shapes[b];
    if (box.size() != 3 || box[0] <= 0 || box[1] <= 0 || box[2] != 4) continue;
    for (size_t s = 0; s < shapes.size(); ++s) {
      const auto& sc = shapes[s];
      if (s == b || sc.size() != 3 || sc[0] != box[0]) continue;
      if (sc[1] == box[1] && sc[2] > 0)
        found.push_back({b, s, true});
      else if (sc[2] == box[1] && sc[1] > 0)
        found.push_back({b, s, false});
    }
  }
  if (found.size() == 1) return found.front();
  // [N,A,C] and [N,C,A] both fit only when A == C: the predictions-first reading wins, as DAMO-YOLO.
  if (found.size() == 2 && found[0].boxes == found[1].boxes && found[0].scores == found[1].scores)
    return found[0].scores_channels_last ? found[0] : found[1];
  return std::nullopt;
}

std::optional<LabelsBoxesScores> find_labels_boxes_scores(const std::vector<std::vector<int64_t>>& shapes,
                                                          const std::vector<bool>& integer) {
  if (shapes.size() != 3) return std::nullopt;
  std::vector<size_t> rows, boxes;
  for (size_t k = 0; k < shapes.size(); ++k) {
    const auto& s = shapes[k];
    if (s.size() == 2 && s[0] > 0 && s[1] > 0) rows.push_back(k);
    if (s.size() == 3 && s[0] > 0 && s[1] > 0 && s[2] == 4) boxes.push_back(k);
  }
  if (rows.size() != 2 || boxes.size() != 1) return std::nullopt;
  const auto& b = shapes[boxes[0]];
  for (size_t k : rows)
    if (shapes[k][0] != b[0] || shapes[k][1] != b[1]) return std::nullopt;
  auto is_integer = [&](size_t k) { return k < integer.size() && integer[k]; };
  const bool second_is_labels = is_integer(rows[1]) && !is_integer(rows[0]);
  return LabelsBoxesScores{
      .labels = rows[second_is_labels ? 1 : 0], .boxes = boxes[0], .scores = rows[second_is_labels ? 0 : 1]};
}

DecoderKind detect_decoder(const std::vector<int64_t>& output_shape, int input_w, int input_h,
                           std::optional<DecoderKind> hint) {
  const int64_t grid = detail::grid_cells(input_w, input_h);
  if (hint) {
    if (fits(*hint, output_shape, grid, /*strict=*/false)) return *hint;
    fail("model output {} does not fit the {} decoder for a {}x{} input: expected {}",
         shape_text(output_shape), decoder_name(*hint), input_w, input_h, expected_any(*hint, grid));
  }
  for (DecoderKind kind : kSingleOutputKinds)
    if (grid > 0 && fits(kind, output_shape, grid, /*strict=*/true)) return kind;
  fail_no_match({output_shape}, input_w, input_h, grid);
}

DecoderKind detect_decoder(const std::vector<std::vector<int64_t>>& output_shapes, int input_w, int input_h,
                           std::optional<DecoderKind> hint) {
  if (output_shapes.empty()) fail("the model has no outputs to decode");
  const int64_t grid = detail::grid_cells(input_w, input_h);
  if (hint == DecoderKind::kBoxesScores || hint == DecoderKind::kLabelsBoxesScores) {  // several outputs
    const bool fit = *hint == DecoderKind::kBoxesScores ? fits_pair(output_shapes, grid, /*strict=*/false)
                                                        : find_labels_boxes_scores(output_shapes).has_value();
    if (fit) return *hint;
    fail("model outputs {} do not fit the {} decoder: expected {}", shapes_text(output_shapes),
         decoder_name(*hint), expected_any(*hint, grid));
  }
  if (hint) return detect_decoder(output_shapes.front(), input_w, input_h, hint);
  if (grid > 0 && output_shapes.size() == 2 && fits_pair(output_shapes, grid, /*strict=*/true))
    return DecoderKind::kBoxesScores;
  if (find_labels_boxes_scores(output_shapes)) return DecoderKind::kLabelsBoxesScores;
  for (DecoderKind kind : kSingleOutputKinds)
    if (grid > 0 && fits(kind, output_shapes.front(), grid, /*strict=*/true)) return kind;
  fail_no_match(output_shapes, input_w, input_h, grid);
}

Decoder::Decoder(DecoderKind kind, int input_w, int input_h, NmsOptions options, int num_classes)
    : kind_(kind), input_w_(input_w), input_h_(input_h), options_(options), num_classes_(num_classes) {
  if (input_w <= 0 || input_h <= 0) fail("decoder: bad input size {}x{}", input_w, input_h);
  if (num_classes < 0) fail("decoder: bad number of classes {}", num_classes);
}

std::vector<std::vector<Detection>> Decoder::decode(std::span<const float> output,
                                                    const std::vector<int64_t>& output_shape,
                                                    std::span<const Letterbox> letterboxes,
                                                    std::span<const int64_t> image_ids) const {
  const DecoderInput input{output, output_shape};
  return decode(std::span<const DecoderInput>(&input, 1), letterboxes, image_ids);
}

std::vector<std::vector<Detection>> Decoder::decode(const std::vector<Tensor>& outputs,
                                                    std::span<const Letterbox> letterboxes,
                                                    std::span<const int64_t> image_ids) const {
  std::vector<DecoderInput> inputs;
  std::vector<std::vector<float>> widened(outputs.size());  // class indices as floats (exact below 2^24)
  for (size_t k = 0; k < outputs.size(); ++k) {
    const DType dtype = outputs[k].dtype;
    if (dtype == DType::kFloat32) {
      inputs.push_back({outputs[k].as<float>(), outputs[k].shape});
    } else if (dtype == DType::kInt64 || dtype == DType::kInt32) {
      for (int64_t v : outputs[k].to_int64())
        widened[k].push_back(static_cast<float>(v));
      inputs.push_back({widened[k], outputs[k].shape, /*integer=*/true});
    } else {
      fail("decoder: model output {} is {}, expected float32 (or integer class indices)", k,
           dtype_name(dtype));
    }
  }
  return decode(inputs, letterboxes, image_ids);
}

std::vector<std::vector<Detection>> Decoder::decode(std::span<const DecoderInput> outputs,
                                                    std::span<const Letterbox> letterboxes,
                                                    std::span<const int64_t> image_ids) const {
  std::vector<std::vector<int64_t>> shapes;
  std::vector<bool> integer;
  for (const DecoderInput& o : outputs) {
    shapes.push_back(o.shape);
    integer.push_back(o.integer);
  }
  if (shapes.empty()) fail("decoder: no model output to decode");
  detect_decoder(shapes, input_w_, input_h_, kind_);
  if (image_ids.size() != letterboxes.size())
    fail("decoder: {} image ids for {} letterboxes", image_ids.size(), letterboxes.size());

  // The tensors read: the first output, the boxes and the scores of a pair, or the boxes, labels and scores.
  const bool pair = kind_ == DecoderKind::kBoxesScores;
  const bool triple = kind_ == DecoderKind::kLabelsBoxesScores;
  const BoxesScoresPair which = pair ? *pair_boxes_scores(shapes) : BoxesScoresPair{};
  const LabelsBoxesScores lbs = triple ? *find_labels_boxes_scores(shapes, integer) : LabelsBoxesScores{};
  const std::vector<size_t> used = pair     ? std::vector<size_t>{which.boxes, which.scores}
                                   : triple ? std::vector<size_t>{lbs.boxes, lbs.labels, lbs.scores}
                                            : std::vector<size_t>{0};
  const int64_t batch = shapes[used[0]][0];
  for (size_t k : used) {
    const auto& shape = shapes[k];
    if (shape[0] != batch) fail("decoder: model outputs {} disagree on the batch size", shapes_text(shapes));
    int64_t numel = 1;
    for (int64_t d : shape)
      numel *= d;
    if (static_cast<int64_t>(outputs[k].data.size()) != numel)
      fail("decoder: output holds {} values, shape {} needs {}", outputs[k].data.size(), shape_text(shape),
           numel);
  }
  if (static_cast<int64_t>(letterboxes.size()) > batch)
    fail("decoder: {} images but the model output {} holds {}", letterboxes.size(), shapes_text(shapes),
         batch);

  const auto& head = shapes[used[0]];
  const bool yolov8 = kind_ == DecoderKind::kYolov8;
  int64_t num_preds = yolov8 ? head[2] : head[1];
  int num_classes = static_cast<int>(yolov8 ? head[1] - 4 : head[2] - 5);
  if (kind_ == DecoderKind::kDetr) num_classes = static_cast<int>(head[2] - 4);
  if (kind_ == DecoderKind::kEnd2end || triple) num_classes = num_classes_ > 0 ? num_classes_ : 80;
  if (pair) {
    const auto& sc = shapes[which.scores];
    num_preds = head[1];
    num_classes = static_cast<int>(which.scores_channels_last ? sc[2] : sc[1]);
  }
  const int64_t per_image = head[1] * head[2];
  const int64_t per_image_scores = pair ? shapes[which.scores][1] * shapes[which.scores][2] : 0;
  const auto& category_ids = coco80_category_ids();

  std::vector<std::vector<Detection>> result(letterboxes.size());
  for (size_t n = 0; n < letterboxes.size(); ++n) {
    const float* image = outputs[used[0]].data.data() + n * per_image;
    std::vector<detail::Candidate> kept;
    switch (kind_) {
      case DecoderKind::kYolox:
        kept = detail::yolox_postprocess(image, num_preds, num_classes, input_w_, input_h_, options_);
        break;
      case DecoderKind::kBoxesScores:
        kept = detail::boxes_scores_nms(image, outputs[which.scores].data.data() + n * per_image_scores,
                                        num_preds, num_classes, which.scores_channels_last, options_);
        break;
      case DecoderKind::kEnd2end:
        kept = detail::end2end_select(image, num_preds, num_classes, options_);
        break;
      case DecoderKind::kDetr:
        kept = detail::detr_select(image, num_preds, num_classes, input_w_, input_h_, options_);
        break;
      case DecoderKind::kLabelsBoxesScores:
        kept = detail::labels_boxes_scores_select(outputs[lbs.labels].data.data() + n * head[1], image,
                                                  outputs[lbs.scores].data.data() + n * head[1], head[1],
                                                  num_classes, options_);
        break;
      case DecoderKind::kYolov5:
      case DecoderKind::kYolov6:
      case DecoderKind::kYolov8:
        kept = detail::ultralytics_nms(image, num_preds, num_classes, /*channels_last=*/!yolov8,
                                       /*has_obj=*/!yolov8, options_);
        break;
    }
    const Letterbox& lb = letterboxes[n];
    // Ultralytics scale_boxes clips to the image; YOLOX's evaluator, RTDETRValidator (a plain rescale) and
    // D-FINE's post-processor (which scales to the original size in the graph) do not.
    const bool clip = kind_ != DecoderKind::kYolox && kind_ != DecoderKind::kDetr &&
                      kind_ != DecoderKind::kLabelsBoxesScores;
    const float sy = lb.vertical_scale();
    const float max_x = static_cast<float>(lb.orig_w), max_y = static_cast<float>(lb.orig_h);
    for (const detail::Candidate& c : kept) {
      float x1 = (c.box.x1 - lb.pad_x) / lb.scale, y1 = (c.box.y1 - lb.pad_y) / sy;
      float x2 = (c.box.x2 - lb.pad_x) / lb.scale, y2 = (c.box.y2 - lb.pad_y) / sy;
      if (clip) {
        x1 = std::clamp(x1, 0.0f, max_x), x2 = std::clamp(x2, 0.0f, max_x);
        y1 = std::clamp(y1, 0.0f, max_y), y2 = std::clamp(y2, 0.0f, max_y);
      }
      Detection d;
      d.image_id = image_ids[n];
      d.category_id = num_classes == 80 ? category_ids[c.cls] : c.cls;
      d.bbox = {x1, y1, x2 - x1, y2 - y1};
      d.score = c.score;
      result[n].push_back(d);
    }
  }
  return result;
}

}  // namespace partq
