// YOLOX raw-grid decode + postprocess on a hand-made output for a 64 x 64 input: grids 8x8 (stride 8),
// 4x4 (stride 16), 2x2 (stride 32) = 84 rows; row = level offset + gy * W + gx.
#include <gtest/gtest.h>
#include <partq/detect.hpp>

#include <cmath>

#include "output_builder.hpp"

namespace partq {
namespace {

const Letterbox kLetterbox{.scale = 0.5f, .pad_x = 0, .pad_y = 0, .orig_w = 128, .orig_h = 128};
const int64_t kImageId = 7;

std::vector<Detection> decode_one(const testing::RowsOutput& out, const NmsOptions& options) {
  const Decoder decoder(DecoderKind::kYolox, 64, 64, options);
  const std::vector<float> data = out.data();
  return decoder.decode(data, out.shape(), std::span(&kLetterbox, 1), std::span(&kImageId, 1)).at(0);
}

void expect_bbox(const Detection& d, std::array<float, 4> bbox) {
  for (int k = 0; k < 4; ++k)
    EXPECT_NEAR(d.bbox[k], bbox[k], 1e-3) << "bbox[" << k << "]";
}

TEST(YoloxDecode, GridDecodeAndDivideByRatio) {
  testing::RowsOutput out;
  out.resize(84);
  // Stride 8, gx 3, gy 2 -> row 19: cx = (0.5+3)*8 = 28, cy = (0.25+2)*8 = 18, w = 2*8 = 16, h = 1*8 = 8:
  // xyxy (20, 14, 36, 22) -> / 0.5 -> (40, 28, 72, 44).
  out.set(19, {0.5f, 0.25f, std::log(2.0f), 0.0f, 0.9f}, {{16, 0.5f}});
  // Stride 32, gx 1, gy 1 -> row 64 + 16 + 3 = 83: centre 32, size 32: (16, 16, 48, 48) -> (32, 32, 96, 96).
  out.set(83, {0, 0, 0, 0, 1.0f}, {{0, 0.3f}, {1, 0.2f}});  // best class only
  // Stride 16, gx 3, gy 3 -> row 64 + 15 = 79: cx = cy = 3.9*16 = 62.4, w = 4*16 = 64, h = 16:
  // (30.4, 54.4, 94.4, 70.4) -> (60.8, 108.8, 188.8, 140.8): past the 128-wide image, and not clipped.
  out.set(79, {0.9f, 0.9f, std::log(4.0f), 0.0f, 0.8f}, {{3, 0.9f}});
  const std::vector<Detection> dets =
      decode_one(out, {.conf_threshold = 0.01f, .iou_threshold = 0.65f, .max_det = 0});
  ASSERT_EQ(dets.size(), 3u);
  EXPECT_EQ(dets[0].category_id, 4);  // motorcycle
  EXPECT_FLOAT_EQ(dets[0].score, 0.8f * 0.9f);
  expect_bbox(dets[0], {60.8f, 108.8f, 128, 32});
  EXPECT_EQ(dets[1].category_id, 18);  // dog
  EXPECT_FLOAT_EQ(dets[1].score, 0.9f * 0.5f);
  expect_bbox(dets[1], {40, 28, 32, 16});
  EXPECT_EQ(dets[2].category_id, 1);  // person
  EXPECT_FLOAT_EQ(dets[2].score, 0.3f);
  expect_bbox(dets[2], {32, 32, 64, 64});
}

TEST(YoloxDecode, ScoreEqualToConfIsKept) {
  testing::RowsOutput out;
  out.resize(84);
  out.set(0, {0, 0, 0, 0, 0.5f}, {{0, 0.5f}});  // score exactly 0.25: YOLOX keeps >= conf
  EXPECT_EQ(decode_one(out, {.conf_threshold = 0.25f, .iou_threshold = 0.65f, .max_det = 0}).size(), 1u);
  EXPECT_EQ(decode_one(out, {.conf_threshold = 0.26f, .iou_threshold = 0.65f, .max_det = 0}).size(), 0u);
}

TEST(YoloxDecode, NmsIsClassAware) {
  testing::RowsOutput out;
  out.resize(84);
  // Stride-8 cells gx 0, 1, 2 of row gy 0, all with 32 x 32 boxes (exp(log 4) * 8).
  // Row 0: cx = (0.5+0)*8 = 4; row 1: cx = (0.5+1)*8 = 12, IoU with row 0 = 24*32 / (40*32) = 0.6.
  out.set(0, {0.5f, 0.5f, std::log(4.0f), std::log(4.0f), 0.9f}, {{0, 0.9f}});
  out.set(1, {0.5f, 0.5f, std::log(4.0f), std::log(4.0f), 0.8f}, {{0, 0.9f}});
  // Row 2: cx = (-1.5+2)*8 = 4, the very box of row 0, but class 1.
  out.set(2, {-1.5f, 0.5f, std::log(4.0f), std::log(4.0f), 0.7f}, {{1, 0.9f}});
  NmsOptions options{.conf_threshold = 0.01f, .iou_threshold = 0.65f, .max_det = 0};
  EXPECT_EQ(decode_one(out, options).size(), 3u);  // 0.6 <= 0.65; row 2 is another class
  options.iou_threshold = 0.55f;
  EXPECT_EQ(decode_one(out, options).size(), 2u);  // row 1 goes
  options.iou_threshold = 0.65f;
  options.class_agnostic = true;
  const std::vector<Detection> agnostic = decode_one(out, options);
  ASSERT_EQ(agnostic.size(), 2u);  // row 2 goes (IoU 1 with row 0), row 1 stays
  EXPECT_EQ(agnostic[1].category_id, 1);
  EXPECT_FLOAT_EQ(agnostic[1].score, 0.8f * 0.9f);
}

}  // namespace
}  // namespace partq
