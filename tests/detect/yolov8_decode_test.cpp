// YOLOv8 layout [1, 4+C, A] (channels first, no objectness).
#include <gtest/gtest.h>
#include <partq/detect.hpp>

namespace partq {
namespace {

TEST(Yolov8Decode, ChannelsFirstWithoutObjectness) {
  const int64_t classes = 80, preds = 3;
  std::vector<float> out((4 + classes) * preds, 0.0f);
  auto set = [&](int64_t a, int64_t k, float v) { out[k * preds + a] = v; };
  // Prediction 0: xyxy (80, 90, 120, 110), class 2 score 0.6.
  set(0, 0, 100), set(0, 1, 100), set(0, 2, 40), set(0, 3, 20), set(0, 4 + 2, 0.6f);
  // Prediction 1: all class scores under conf.
  set(1, 0, 300), set(1, 1, 300), set(1, 2, 10), set(1, 3, 10), set(1, 4 + 0, 0.0009f);
  // Prediction 2: apart from 0; two classes, best class only by default.
  set(2, 0, 300), set(2, 1, 300), set(2, 2, 20), set(2, 3, 20), set(2, 4 + 0, 0.3f), set(2, 4 + 1, 0.5f);
  const Letterbox identity{.scale = 1, .pad_x = 0, .pad_y = 0, .orig_w = 640, .orig_h = 640};
  const int64_t id = 1;
  const Decoder decoder(DecoderKind::kYolov8, 640, 640, {.conf_threshold = 0.001f, .iou_threshold = 0.7f});
  const auto dets =
      decoder.decode(out, {1, 4 + classes, preds}, std::span(&identity, 1), std::span(&id, 1)).at(0);
  ASSERT_EQ(dets.size(), 2u);
  EXPECT_EQ(dets[0].category_id, 3);
  EXPECT_FLOAT_EQ(dets[0].score, 0.6f);
  EXPECT_FLOAT_EQ(dets[0].bbox[0], 80);
  EXPECT_FLOAT_EQ(dets[0].bbox[1], 90);
  EXPECT_FLOAT_EQ(dets[0].bbox[2], 40);
  EXPECT_FLOAT_EQ(dets[0].bbox[3], 20);
  EXPECT_EQ(dets[1].category_id, 2);  // bicycle, class 1
  EXPECT_FLOAT_EQ(dets[1].bbox[0], 290);
}

}  // namespace
}  // namespace partq
