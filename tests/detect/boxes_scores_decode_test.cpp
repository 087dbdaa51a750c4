// Two-output heads: boxes [N, A, 4] (x1 y1 x2 y2, input pixels) with scores [N, A, C] (DAMO-YOLO) or
// [N, C, A] (PP-YOLOE). Boxes and scores are placed by hand; the expected detections follow from them.
#include <gtest/gtest.h>
#include <partq/detect.hpp>
#include <partq/error.hpp>

#include <functional>

#include "shaped_graph.hpp"

namespace partq {
namespace {

using testing::error_of;
using testing::expect_detection;

// A 64 x 64 input: 84 grid cells. The original image was scaled by 0.5 and padded by (4, 8).
constexpr int64_t kPreds = 84, kClasses = 80;
const Letterbox kLetterbox{.scale = 0.5f, .pad_x = 4, .pad_y = 8, .orig_w = 200, .orig_h = 100};
const int64_t kImageId = 9;

struct TwoOutputs {
  bool channels_last = true;  // scores [A, C] (DAMO-YOLO) or [C, A] (PP-YOLOE)
  std::vector<float> boxes = std::vector<float>(kPreds * 4, 0.0f);
  std::vector<float> scores = std::vector<float>(kPreds * kClasses, 0.0f);
  void box(int64_t a, float x1, float y1, float x2, float y2) {
    boxes[a * 4 + 0] = x1, boxes[a * 4 + 1] = y1, boxes[a * 4 + 2] = x2, boxes[a * 4 + 3] = y2;
  }
  void score(int64_t a, int c, float p) {
    (channels_last ? scores[a * kClasses + c] : scores[c * kPreds + a]) = p;
  }
  std::vector<int64_t> scores_shape() const {
    return channels_last ? std::vector<int64_t>{1, kPreds, kClasses}
                         : std::vector<int64_t>{1, kClasses, kPreds};
  }
};

std::vector<Detection> decode(const TwoOutputs& o, const NmsOptions& options, bool scores_first) {
  const Decoder decoder(DecoderKind::kBoxesScores, 64, 64, options);
  const DecoderInput boxes{o.boxes, {1, kPreds, 4}}, scores{o.scores, o.scores_shape()};
  const std::vector<DecoderInput> outputs =
      scores_first ? std::vector<DecoderInput>{scores, boxes} : std::vector<DecoderInput>{boxes, scores};
  return decoder.decode(outputs, std::span(&kLetterbox, 1), std::span(&kImageId, 1)).at(0);
}

// Original-image box of an input-pixel corner box: (x - pad) / scale, clipped to the 200 x 100 image.
std::array<float, 4> original(float x1, float y1, float x2, float y2) {
  auto cx = [](float x) { return std::clamp((x - 4) / 0.5f, 0.0f, 200.0f); };
  auto cy = [](float y) { return std::clamp((y - 8) / 0.5f, 0.0f, 100.0f); };
  return {cx(x1), cy(y1), cx(x2) - cx(x1), cy(y2) - cy(y1)};
}

void check_layout(bool channels_last, bool scores_first) {
  SCOPED_TRACE(::testing::Message() << "channels_last " << channels_last << " scores_first " << scores_first);
  TwoOutputs o{.channels_last = channels_last};
  o.box(5, 10, 12, 30, 40);  // class 2 (car) 0.9
  o.score(5, 2, 0.9f);
  o.box(6, 11, 12, 30, 40);  // same place, same class, 0.6: suppressed (IoU 19*28 / (20*28) = 0.95)
  o.score(6, 2, 0.6f);
  o.box(7, 10, 12, 30, 40);  // same place, class 0 (person) 0.7: another class, kept
  o.score(7, 0, 0.7f);
  o.box(40, 40, 20, 60, 64);  // crosses the bottom edge: y2 (64-8)/0.5 = 112 -> 100
  o.score(40, 16, 0.5f);
  o.box(41, 0, 0, 8, 8);  // 0.04: under the DAMO-YOLO threshold 0.05
  o.score(41, 1, 0.04f);
  const NmsOptions options{
      .conf_threshold = 0.05f, .iou_threshold = 0.7f, .max_det = 500, .multi_label = true};
  const std::vector<Detection> dets = decode(o, options, scores_first);
  ASSERT_EQ(dets.size(), 3u);
  expect_detection(dets[0], kImageId, 3, 0.9f, original(10, 12, 30, 40));
  expect_detection(dets[1], kImageId, 1, 0.7f, original(10, 12, 30, 40));
  expect_detection(dets[2], kImageId, 18, 0.5f, original(40, 20, 60, 64));
}

TEST(BoxesScoresDecode, DamoYoloLayoutEitherOrder) {
  check_layout(/*channels_last=*/true, /*scores_first=*/true);  // DAMO-YOLO: scores, then boxes
  check_layout(/*channels_last=*/true, /*scores_first=*/false);
}

TEST(BoxesScoresDecode, PpyoloeLayout) {
  check_layout(/*channels_last=*/false, /*scores_first=*/false);  // PP-YOLOE: boxes, then scores [N, C, A]
}

TEST(BoxesScoresDecode, MultiLabelAndMaxDet) {
  TwoOutputs o;
  o.box(0, 10, 10, 20, 20);
  o.score(0, 3, 0.6f);
  o.score(0, 7, 0.3f);
  NmsOptions options{.conf_threshold = 0.05f, .iou_threshold = 0.7f, .max_det = 500};
  EXPECT_EQ(decode(o, options, true).size(), 1u);  // best class only
  options.multi_label = true;
  const std::vector<Detection> both = decode(o, options, true);
  ASSERT_EQ(both.size(), 2u);
  EXPECT_EQ(both[1].category_id, 8);  // class 7 = truck
  EXPECT_FLOAT_EQ(both[1].score, 0.3f);
  options.max_det = 1;
  EXPECT_EQ(decode(o, options, true).size(), 1u);
}

TEST(BoxesScoresDecode, PairingAndErrors) {
  // Which output is which: the one whose last dim is 4 holds the boxes.
  auto pair = pair_boxes_scores({{1, 8400, 80}, {1, 8400, 4}});
  ASSERT_TRUE(pair);
  EXPECT_EQ(pair->boxes, 1u);
  EXPECT_EQ(pair->scores, 0u);
  EXPECT_TRUE(pair->scores_channels_last);
  pair = pair_boxes_scores({{1, 8400, 4}, {1, 80, 8400}});
  ASSERT_TRUE(pair);
  EXPECT_EQ(pair->boxes, 0u);
  EXPECT_FALSE(pair->scores_channels_last);
  EXPECT_FALSE(pair_boxes_scores({{1, 8400, 4}, {1, 80, 100}}));  // A disagrees
  EXPECT_FALSE(pair_boxes_scores({{1, 8400, 85}}));

  EXPECT_EQ(detect_decoder(std::vector<std::vector<int64_t>>{{1, 8400, 80}, {1, 8400, 4}}, 640, 640),
            DecoderKind::kBoxesScores);
  // The decoder needs both tensors: one output is a clear Error, not a crash.
  const Decoder decoder(DecoderKind::kBoxesScores, 64, 64, NmsOptions{});
  const std::vector<float> boxes(kPreds * 4, 0.0f);
  const std::string one = error_of([&] {
    decoder.decode(boxes, {1, kPreds, 4}, std::span(&kLetterbox, 1), std::span(&kImageId, 1));
  });
  EXPECT_NE(one.find("[1,84,4]"), std::string::npos) << one;
  EXPECT_NE(one.find("boxes-scores"), std::string::npos) << one;
  EXPECT_NE(one.find("two outputs"), std::string::npos) << one;
  // Wrong number of floats for the declared shape.
  const std::vector<float> scores(10, 0.0f);
  const std::vector<DecoderInput> bad = {{boxes, {1, kPreds, 4}}, {scores, {1, kPreds, kClasses}}};
  EXPECT_THROW(decoder.decode(bad, std::span(&kLetterbox, 1), std::span(&kImageId, 1)), Error);
}

TEST(DetectDecoder, UnrecognisableOutputListsEverySupportedLayout) {
  const std::string message = error_of([] {
    detect_decoder(std::vector<std::vector<int64_t>>{{1, 100, 85}, {1, 7}}, 640, 640);
  });
  EXPECT_NE(message.find("[1,100,85] + [1,7]"), std::string::npos) << message;
  for (const char* layout : {"yolov5 [N,25200,5+C]", "yolox [N,8400,5+C]", "yolov6 [N,8400,5+C]",
                             "yolov8 [N,4+C,8400]", "[N,8400,4] + [N,8400,C] or [N,C,8400]"})
    EXPECT_NE(message.find(layout), std::string::npos) << layout << " missing from: " << message;
}

TEST(RecognisePreset, TwoOutputHeads) {
  ModelSignature s{.input_shape = {1, 3, 640, 640}, .output_shape = {1, 8400, 80}, .metadata = {}};
  s.output_shapes = {{1, 8400, 80}, {1, 8400, 4}};
  EXPECT_EQ(recognise_preset(s), "damoyolo");
  s.output_shapes = {{1, 8400, 4}, {1, 80, 8400}};
  EXPECT_EQ(recognise_preset(s), "ppyoloe");
  const Preset damo = preset_by_name("damoyolo");
  EXPECT_EQ(damo.decoder, DecoderKind::kBoxesScores);
  EXPECT_FLOAT_EQ(damo.eval.conf_threshold, 0.05f);
  EXPECT_FLOAT_EQ(damo.eval.iou_threshold, 0.7f);
  EXPECT_EQ(preset_by_name("ppyoloe").decoder, DecoderKind::kBoxesScores);
  // 300 boxes + 300 x 80 scores are a DETR's queries (cx cy w h fractions and logits), not DAMO-YOLO's
  // corners.
  s.output_shapes = {{1, 300, 4}, {1, 300, 80}};
  EXPECT_EQ(recognise_preset(s), std::nullopt);
}

}  // namespace
}  // namespace partq
