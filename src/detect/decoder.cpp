// Decoder selection (by output shape) and the batch loop: slice the output per image, post-process in
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

// The shape each decoder accepts. YOLOv5/YOLOv8 boxes are already decoded, so any number of predictions is
// accepted when the caller names the decoder; YOLOX needs its grid, so A must be the grid size.
bool fits(DecoderKind kind, const std::vector<int64_t>& s, int64_t grid, bool strict) {
  if (s.size() != 3 || s[0] <= 0) return false;
  switch (kind) {
    case DecoderKind::kYolov5:
      return s[2] >= 6 && (strict ? s[1] == 3 * grid : s[1] > 0);
    case DecoderKind::kYolox:
      return s[2] >= 6 && s[1] == grid;
    case DecoderKind::kYolov8:
      return s[1] >= 5 && (strict ? s[2] == grid : s[2] > 0);
  }
  return false;
}

std::string expected(DecoderKind kind, int64_t grid) {
  switch (kind) {
    case DecoderKind::kYolov5:
      return fmt::format("yolov5 [N,{},5+C]", 3 * grid);
    case DecoderKind::kYolox:
      return fmt::format("yolox [N,{},5+C]", grid);
    case DecoderKind::kYolov8:
      return fmt::format("yolov8 [N,4+C,{}]", grid);
  }
  return "?";
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
  }
  return "?";
}

DecoderKind detect_decoder(const std::vector<int64_t>& output_shape, int input_w, int input_h,
                           std::optional<DecoderKind> hint) {
  const int64_t grid = detail::grid_cells(input_w, input_h);
  if (hint) {
    if (fits(*hint, output_shape, grid, /*strict=*/false)) return *hint;
    fail("model output {} does not fit the {} decoder for a {}x{} input: expected {}",
         shape_text(output_shape), decoder_name(*hint), input_w, input_h,
         *hint == DecoderKind::kYolox ? expected(*hint, grid)
                                      : (*hint == DecoderKind::kYolov5 ? "[N,A,5+C]" : "[N,4+C,A]"));
  }
  for (DecoderKind kind : {DecoderKind::kYolov5, DecoderKind::kYolox, DecoderKind::kYolov8})
    if (grid > 0 && fits(kind, output_shape, grid, /*strict=*/true)) return kind;
  if (grid == 0)
    fail("model output {}: cannot pick a decoder, the input size {}x{} is not a multiple of 32",
         shape_text(output_shape), input_w, input_h);
  fail("model output {} matches no decoder for a {}x{} input: expected {}, {} or {}",
       shape_text(output_shape), input_w, input_h, expected(DecoderKind::kYolov5, grid),
       expected(DecoderKind::kYolox, grid), expected(DecoderKind::kYolov8, grid));
}

Decoder::Decoder(DecoderKind kind, int input_w, int input_h, NmsOptions options)
    : kind_(kind), input_w_(input_w), input_h_(input_h), options_(options) {
  if (input_w <= 0 || input_h <= 0) fail("decoder: bad input size {}x{}", input_w, input_h);
}

std::vector<std::vector<Detection>> Decoder::decode(std::span<const float> output,
                                                    const std::vector<int64_t>& output_shape,
                                                    std::span<const Letterbox> letterboxes,
                                                    std::span<const int64_t> image_ids) const {
  detect_decoder(output_shape, input_w_, input_h_, kind_);
  if (image_ids.size() != letterboxes.size())
    fail("decoder: {} image ids for {} letterboxes", image_ids.size(), letterboxes.size());
  const int64_t batch = output_shape[0];
  if (static_cast<int64_t>(letterboxes.size()) > batch)
    fail("decoder: {} images but the model output {} holds {}", letterboxes.size(), shape_text(output_shape),
         batch);
  const int64_t per_image = output_shape[1] * output_shape[2];
  if (static_cast<int64_t>(output.size()) != batch * per_image)
    fail("decoder: output holds {} floats, shape {} needs {}", output.size(), shape_text(output_shape),
         batch * per_image);

  const bool yolov8 = kind_ == DecoderKind::kYolov8;
  const int64_t num_preds = yolov8 ? output_shape[2] : output_shape[1];
  const int num_classes = static_cast<int>(yolov8 ? output_shape[1] - 4 : output_shape[2] - 5);
  const auto& category_ids = coco80_category_ids();

  std::vector<std::vector<Detection>> result(letterboxes.size());
  for (size_t n = 0; n < letterboxes.size(); ++n) {
    const float* image = output.data() + n * per_image;
    const std::vector<detail::Candidate> kept =
        kind_ == DecoderKind::kYolox
            ? detail::yolox_postprocess(image, num_preds, num_classes, input_w_, input_h_, options_)
            : detail::ultralytics_nms(image, num_preds, num_classes, /*channels_last=*/!yolov8,
                                      /*has_obj=*/!yolov8, options_);
    const Letterbox& lb = letterboxes[n];
    // Ultralytics scale_boxes clips to the image; YOLOX's evaluator does not.
    const bool clip = kind_ != DecoderKind::kYolox;
    const float max_x = static_cast<float>(lb.orig_w), max_y = static_cast<float>(lb.orig_h);
    for (const detail::Candidate& c : kept) {
      float x1 = (c.box.x1 - lb.pad_x) / lb.scale, y1 = (c.box.y1 - lb.pad_y) / lb.scale;
      float x2 = (c.box.x2 - lb.pad_x) / lb.scale, y2 = (c.box.y2 - lb.pad_y) / lb.scale;
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
