// YOLOv6 layout: [1, A, 5+C] with A = the grid and boxes already decoded by the graph. Expected detections
// are worked out by hand from the boxes and scores placed in the output.
#include <gtest/gtest.h>
#include <partq/detect.hpp>
#include <partq/error.hpp>

#include "output_builder.hpp"

namespace partq {
namespace {

// A 64 x 64 input has 8*8 + 4*4 + 2*2 = 84 grid cells; the image was scaled by 0.5 with no padding.
const Letterbox kLetterbox{.scale = 0.5f, .pad_x = 0, .pad_y = 0, .orig_w = 128, .orig_h = 128};
const int64_t kImageId = 42;

std::vector<Detection> decode_one(DecoderKind kind, const testing::RowsOutput& out,
                                  const NmsOptions& options) {
  const Decoder decoder(kind, 64, 64, options);
  const std::vector<float> data = out.data();
  return decoder.decode(data, out.shape(), std::span(&kLetterbox, 1), std::span(&kImageId, 1)).at(0);
}

TEST(Yolov6Decode, DecodedBoxesAreNotDecodedAgain) {
  testing::RowsOutput out;
  out.resize(84);
  // Row 19 (a stride-8 cell, which must not matter): cx 30, cy 20, w 16, h 8 -> xyxy (22, 16, 38, 24) in
  // the input -> / 0.5 -> (44, 32, 76, 48): bbox (44, 32, 32, 16). Objectness 1 (YOLOv6 v3), class 16 0.8.
  out.set(19, {30, 20, 16, 8, 1.0f}, {{16, 0.8f}});
  // Row 83 (last cell): cx = cy = 40, 20 x 20 -> (30, 30, 50, 50) -> (60, 60, 100, 100); obj 0.5 * 0.9.
  out.set(83, {40, 40, 20, 20, 0.5f}, {{0, 0.9f}});
  const NmsOptions options{
      .conf_threshold = 0.03f, .iou_threshold = 0.65f, .max_det = 300, .multi_label = true};
  const std::vector<Detection> dets = decode_one(DecoderKind::kYolov6, out, options);
  ASSERT_EQ(dets.size(), 2u);
  EXPECT_EQ(dets[0].image_id, kImageId);
  EXPECT_EQ(dets[0].category_id, 18);  // class 16 = COCO dog
  EXPECT_FLOAT_EQ(dets[0].score, 0.8f);
  const std::array<float, 4> first = {44, 32, 32, 16}, second = {60, 60, 40, 40};
  for (int k = 0; k < 4; ++k) {
    EXPECT_NEAR(dets[0].bbox[k], first[k], 1e-4) << k;
    EXPECT_NEAR(dets[1].bbox[k], second[k], 1e-4) << k;
  }
  EXPECT_EQ(dets[1].category_id, 1);
  EXPECT_FLOAT_EQ(dets[1].score, 0.5f * 0.9f);

  // The same tensor through the YOLOX decoder would treat 30 as a grid offset: a different box entirely.
  const std::vector<Detection> yolox = decode_one(DecoderKind::kYolox, out, options);
  ASSERT_FALSE(yolox.empty());
  EXPECT_GT(std::abs(yolox[0].bbox[0] - first[0]), 100.0f);
}

TEST(Yolov6Decode, ShapeRules) {
  // Unhinted, a [N, grid, 5+C] shape is read as YOLOX: the graph (recognise_preset) picks yolov6.
  EXPECT_EQ(detect_decoder({1, 84, 85}, 64, 64), DecoderKind::kYolox);
  EXPECT_EQ(detect_decoder({1, 84, 85}, 64, 64, DecoderKind::kYolov6), DecoderKind::kYolov6);
  // Named, any number of predictions works (boxes are decoded already).
  EXPECT_EQ(detect_decoder({1, 10, 85}, 64, 64, DecoderKind::kYolov6), DecoderKind::kYolov6);
  EXPECT_THROW(detect_decoder({1, 84, 5}, 64, 64, DecoderKind::kYolov6), Error);
}

TEST(RecognisePreset, GridOutputByBoxEncoding) {
  ModelSignature s{.input_shape = {1, 3, 640, 640}, .output_shape = {1, 8400, 85}, .metadata = {}};
  EXPECT_EQ(recognise_preset(s), "yolox");  // unknown encoding: as before
  s.boxes = BoxEncoding::kRaw;
  EXPECT_EQ(recognise_preset(s), "yolox");
  s.boxes = BoxEncoding::kDecoded;
  EXPECT_EQ(recognise_preset(s), "yolov6");
  const Preset yolov6 = preset_by_name("yolov6");
  EXPECT_EQ(yolov6.decoder, DecoderKind::kYolov6);
  EXPECT_EQ(yolov6.profile, PreprocessProfile::kYolov5Letterbox);
  // A 3-anchor YOLOv5 output stays yolov5 whatever the encoding.
  s.output_shape = {1, 25200, 85};
  EXPECT_EQ(recognise_preset(s), "yolov5");
}

}  // namespace
}  // namespace partq
