// Ultralytics post-processing on hand-made [1, A, 85] outputs; expected boxes worked out by hand.
#include <gtest/gtest.h>
#include <partq/detect.hpp>
#include <partq/error.hpp>

#include "output_builder.hpp"

#include "shaped_graph.hpp"

namespace partq {
namespace {

using testing::expect_detection;

// Input x = orig x * 0.5 + 10, y = orig y * 0.5 + 20; the original image is 1000 x 1000.
const Letterbox kLetterbox{.scale = 0.5f, .pad_x = 10, .pad_y = 20, .orig_w = 1000, .orig_h = 1000};
const int64_t kImageId = 139;

std::vector<Detection> decode_one(const testing::RowsOutput& out, const NmsOptions& options) {
  const Decoder decoder(DecoderKind::kYolov5, 640, 640, options);
  const std::vector<float> data = out.data();
  auto result = decoder.decode(data, out.shape(), std::span(&kLetterbox, 1), std::span(&kImageId, 1));
  EXPECT_EQ(result.size(), 1u);
  return result.at(0);
}

TEST(Yolov5Decode, ScoresNmsAndScaleBoxes) {
  testing::RowsOutput out;
  // xyxy (80, 90, 120, 110) -> original ((80-10)/0.5, (90-20)/0.5, ...) = (140, 140, 220, 180).
  out.set(0, {100, 100, 40, 20, 0.9f}, {{0, 0.8f}});
  // Nearly the same box, same class, lower score: suppressed.
  out.set(1, {102, 100, 40, 20, 0.8f}, {{0, 0.8f}});
  // The same box as row 0 but class 2 (car, COCO id 3): class-aware NMS keeps it.
  out.set(2, {100, 100, 40, 20, 0.8f}, {{2, 0.9f}});
  // Objectness 0.0005 is under conf 0.001: dropped whatever the class score.
  out.set(3, {300, 300, 40, 40, 0.0005f}, {{0, 1.0f}});
  // Crosses the top-left corner: xyxy (0, 10, 40, 50) -> (-20, -20, 60, 60), clipped to (0, 0, 60, 60).
  out.set(4, {20, 30, 40, 40, 0.5f}, {{16, 0.5f}});
  // Crosses the right edge: xyxy (560, 300, 600, 340) -> (1100, 560, 1180, 640), x clipped to 1000.
  out.set(5, {580, 320, 40, 40, 0.4f}, {{5, 0.5f}});
  const NmsOptions options{.conf_threshold = 0.001f, .iou_threshold = 0.6f, .max_det = 300};
  const std::vector<Detection> dets = decode_one(out, options);
  ASSERT_EQ(dets.size(), 4u);
  expect_detection(dets[0], kImageId, 1, 0.9f * 0.8f, {140, 140, 80, 40});
  expect_detection(dets[1], kImageId, 3, 0.8f * 0.9f, {140, 140, 80, 40});
  expect_detection(dets[2], kImageId, 18, 0.25f, {0, 0, 60, 60});
  expect_detection(dets[3], kImageId, 6, 0.2f, {1000, 560, 0, 80});
}

TEST(Yolov5Decode, MultiLabelKeepsEveryClassAboveConf) {
  testing::RowsOutput out;
  out.set(0, {100, 100, 40, 20, 1.0f}, {{5, 0.5f}, {16, 0.4f}, {7, 0.0005f}});
  NmsOptions options{.conf_threshold = 0.001f, .iou_threshold = 0.6f, .max_det = 300};
  ASSERT_EQ(decode_one(out, options).size(), 1u);  // best class only
  options.multi_label = true;
  const std::vector<Detection> dets = decode_one(out, options);
  ASSERT_EQ(dets.size(), 2u);  // class 7 (0.0005) is under conf
  EXPECT_EQ(dets[0].category_id, 6);
  EXPECT_EQ(dets[1].category_id, 18);
}

TEST(Yolov5Decode, ScoreMustExceedConfAndMaxDetCaps) {
  testing::RowsOutput out;
  out.set(0, {100, 100, 10, 10, 0.5f}, {{0, 0.5f}});  // score exactly 0.25
  out.set(1, {300, 100, 10, 10, 0.5f}, {{0, 0.6f}});
  out.set(2, {500, 100, 10, 10, 0.5f}, {{0, 0.7f}});
  NmsOptions options{.conf_threshold = 0.25f, .iou_threshold = 0.45f, .max_det = 300};
  EXPECT_EQ(decode_one(out, options).size(), 2u);  // 0.25 > 0.25 is false (Ultralytics uses >)
  options.max_det = 1;
  const std::vector<Detection> dets = decode_one(out, options);
  ASSERT_EQ(dets.size(), 1u);
  EXPECT_FLOAT_EQ(dets[0].score, 0.5f * 0.7f);
}

TEST(Yolov5Decode, ClassAgnosticSuppressesAcrossClasses) {
  testing::RowsOutput out;
  out.set(0, {100, 100, 40, 20, 0.9f}, {{0, 0.8f}});
  out.set(1, {100, 100, 40, 20, 0.8f}, {{2, 0.9f}});
  NmsOptions options{.conf_threshold = 0.001f, .iou_threshold = 0.6f, .max_det = 300};
  options.class_agnostic = true;
  EXPECT_EQ(decode_one(out, options).size(), 1u);
}

TEST(Yolov5Decode, PaddedBatchDecodesOnlyRealImages) {
  testing::RowsOutput one;
  one.set(0, {100, 100, 40, 20, 0.9f}, {{0, 0.8f}});
  std::vector<float> data = one.data();
  data.insert(data.end(), data.begin(), data.end());  // batch of 2, second a padding image
  const Decoder decoder(DecoderKind::kYolov5, 640, 640, NmsOptions{});
  const auto result = decoder.decode(data, {2, 1, 85}, std::span(&kLetterbox, 1), std::span(&kImageId, 1));
  EXPECT_EQ(result.size(), 1u);
  const std::vector<Letterbox> three(3, kLetterbox);
  const std::vector<int64_t> ids = {1, 2, 3};
  EXPECT_THROW(decoder.decode(data, {2, 1, 85}, three, ids), Error);  // more images than the batch
  EXPECT_THROW(decoder.decode(data, {2, 2, 85}, std::span(&kLetterbox, 1), std::span(&kImageId, 1)), Error);
}

}  // namespace
}  // namespace partq
