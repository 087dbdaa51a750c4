// End-to-end (NMS-free) layout: [N, K, 6] rows of x1 y1 x2 y2 score class, chosen by the graph (YOLOv10,
// YOLO26). Expected detections are worked out by hand from the rows placed in the output.
#include <gtest/gtest.h>
#include <partq/detect.hpp>
#include <partq/error.hpp>

#include <array>

namespace partq {
namespace {

// A 64 x 64 input; the image was scaled by 0.5 and padded by 4 pixels on the left.
const Letterbox kLetterbox{.scale = 0.5f, .pad_x = 4, .pad_y = 0, .orig_w = 120, .orig_h = 128};
const std::array<int64_t, 2> kImageIds = {7, 8};

std::vector<std::vector<Detection>> decode(const std::vector<float>& rows, int64_t images,
                                           const NmsOptions& options, int num_classes = 0) {
  const Decoder decoder(DecoderKind::kEnd2end, 64, 64, options, num_classes);
  const std::vector<Letterbox> boxes(images, kLetterbox);
  const int64_t k = static_cast<int64_t>(rows.size()) / 6 / images;
  return decoder.decode(rows, {images, k, 6}, boxes, std::span(kImageIds.data(), images));
}

TEST(End2endDecode, RowsAboveTheThresholdBecomeDetectionsWithoutNms) {
  // Two overlapping boxes of one class both stay (no NMS), the low-score row is dropped, the last row is
  // padding (score 0). Class 16 is COCO's dog (id 18).
  const std::vector<float> rows = {
      10, 20, 30, 40, 0.9f,  16,  //
      11, 20, 31, 40, 0.8f,  16,  //
      4,  0,  64, 64, 0.01f, 0,   //
      0,  0,  0,  0,  0.0f,  0,   //
  };
  const auto dets = decode(rows, 1, {.conf_threshold = 0.05f, .max_det = 300}).at(0);
  ASSERT_EQ(dets.size(), 2u);
  EXPECT_EQ(dets[0].image_id, 7);
  EXPECT_EQ(dets[0].category_id, 18);
  EXPECT_FLOAT_EQ(dets[0].score, 0.9f);
  // (10 - 4) / 0.5 = 12, 20 / 0.5 = 40; width 20 / 0.5 = 40, height 40.
  const std::array<float, 4> want = {12, 40, 40, 40};
  for (int k = 0; k < 4; ++k)
    EXPECT_FLOAT_EQ(dets[0].bbox[k], want[k]) << k;
  EXPECT_FLOAT_EQ(dets[1].bbox[0], 14);
  // The whole-input box is clipped to the image (Ultralytics scale_boxes): x2 = (64 - 4) / 0.5 = 120.
  const auto low = decode(rows, 1, {.conf_threshold = 0.001f, .max_det = 300}).at(0);
  ASSERT_EQ(low.size(), 3u);
  EXPECT_FLOAT_EQ(low[2].bbox[0] + low[2].bbox[2], 120);
  EXPECT_EQ(low[2].category_id, 1);
  // max_det caps the rows kept, best first.
  const auto capped = decode(rows, 1, {.conf_threshold = 0.001f, .max_det = 1}).at(0);
  ASSERT_EQ(capped.size(), 1u);
  EXPECT_FLOAT_EQ(capped[0].score, 0.9f);
}

TEST(End2endDecode, ClassIndicesOfAModelWithOtherClassesAreKeptAsTheyAre) {
  const std::vector<float> rows = {0, 0, 8, 8, 0.5f, 2, /* image 2 */ 0, 0, 8, 8, 0.7f, 3};
  const auto dets = decode(rows, 2, {.conf_threshold = 0.25f}, /*num_classes=*/4);
  ASSERT_EQ(dets.size(), 2u);
  EXPECT_EQ(dets[0].at(0).category_id, 2);
  EXPECT_EQ(dets[1].at(0).category_id, 3);
  EXPECT_EQ(dets[1].at(0).image_id, 8);
  // A class column that is no class of the model is an error, not a silent wrong category.
  for (float cls : {4.f, -1.f, 1.5f}) {
    const std::vector<float> bad = {0, 0, 8, 8, 0.5f, cls};
    EXPECT_THROW(decode(bad, 1, {.conf_threshold = 0.25f}, 4), Error) << cls;
  }
}

TEST(End2endDecode, ShapeRulesAndRecognition) {
  // 64 x 64 has 84 grid cells: [N,K,6] with K below that is end2end; one prediction per cell (a one-class
  // YOLOX / YOLOv6) or three (YOLOv5) is not.
  EXPECT_EQ(detect_decoder({1, 30, 6}, 64, 64), DecoderKind::kEnd2end);
  EXPECT_EQ(detect_decoder({1, 84, 6}, 64, 64), DecoderKind::kYolox);
  EXPECT_EQ(detect_decoder({1, 252, 6}, 64, 64), DecoderKind::kYolov5);
  EXPECT_THROW(detect_decoder({1, 30, 7}, 64, 64, DecoderKind::kEnd2end), Error);
  const std::map<std::string, std::string> ultralytics = {{"stride", "32"},
                                                          {"names", "{0: 'person', 1: 'bicycle', 2: 'car'}"}};
  EXPECT_EQ(recognise_preset({{1, 3, 640, 640}, {1, 300, 6}, ultralytics}), "end2end");
  EXPECT_EQ(recognise_preset({{1, 3, 640, 640}, {1, 300, 6}, {}}), "end2end");
  EXPECT_EQ(metadata_class_count(ultralytics), 3);
  EXPECT_EQ(metadata_class_count({}), 0);
  EXPECT_EQ(preset_by_name("end2end").decoder, DecoderKind::kEnd2end);
}

}  // namespace
}  // namespace partq
