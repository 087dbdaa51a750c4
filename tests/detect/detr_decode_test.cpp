// DETR layout (Ultralytics RT-DETR): [N, Q, 4+C] queries of cx cy w h as fractions of the input and class
// probabilities. Expected detections are worked out by hand from the queries placed in the output.
#include <gtest/gtest.h>
#include <partq/detect.hpp>
#include <partq/error.hpp>
#include <partq/pipeline.hpp>

#include <array>

namespace partq {
namespace {

// A 64 x 32 input the image was stretched into: 128 x 128 original, x scale 0.5, y scale 0.25.
const Letterbox kStretch{
    .scale = 0.5f, .pad_x = 0, .pad_y = 0, .orig_w = 128, .orig_h = 128, .scale_y = 0.25f};
const std::array<int64_t, 2> kImageIds = {3, 4};

std::vector<std::vector<Detection>> decode(const std::vector<float>& queries, int64_t images, int64_t classes,
                                           const NmsOptions& options) {
  const Decoder decoder(DecoderKind::kDetr, 64, 32, options);
  const std::vector<Letterbox> boxes(images, kStretch);
  const int64_t q = static_cast<int64_t>(queries.size()) / (4 + classes) / images;
  return decoder.decode(queries, {images, q, 4 + classes}, boxes, std::span(kImageIds.data(), images));
}

TEST(DetrDecode, EachQueryIsOneBoxOfItsBestClassWithoutNms) {
  // Three classes. Query 0 and 1 overlap with the same best class: both stay (no NMS). Query 2's best
  // class is below the threshold. Query 3 ties between classes 0 and 2: the first wins (torch.max).
  const std::vector<float> queries = {
      0.5f, 0.5f, 0.25f, 0.5f, 0.1f,  0.8f,  0.3f,   //
      0.5f, 0.5f, 0.25f, 0.5f, 0.1f,  0.7f,  0.3f,   //
      0.2f, 0.2f, 0.1f,  0.1f, 0.01f, 0.02f, 0.03f,  //
      0.0f, 0.0f, 0.5f,  0.5f, 0.6f,  0.1f,  0.6f,   //
  };
  const auto dets = decode(queries, 1, 3, {.conf_threshold = 0.05f, .max_det = 300}).at(0);
  ASSERT_EQ(dets.size(), 3u);
  EXPECT_EQ(dets[0].image_id, 3);
  EXPECT_FLOAT_EQ(dets[0].score, 0.8f);
  EXPECT_EQ(dets[0].category_id, 1);  // not 80 classes: the class index is the category
  // Input pixels: cx 32, cy 16, w 16, h 16 -> x1 24, y1 8; original: x / 0.5, y / 0.25.
  const std::array<float, 4> want = {48, 32, 32, 64};
  for (int k = 0; k < 4; ++k)
    EXPECT_FLOAT_EQ(dets[0].bbox[k], want[k]) << k;
  EXPECT_FLOAT_EQ(dets[1].score, 0.7f);
  EXPECT_FLOAT_EQ(dets[2].score, 0.6f);
  EXPECT_EQ(dets[2].category_id, 0);
  // A box past the image edge is not clipped (RTDETRValidator rescales only): x1 = -16 / 0.5.
  EXPECT_FLOAT_EQ(dets[2].bbox[0], -32);
  const auto capped = decode(queries, 1, 3, {.conf_threshold = 0.05f, .max_det = 1}).at(0);
  ASSERT_EQ(capped.size(), 1u);
  EXPECT_FLOAT_EQ(capped[0].score, 0.8f);
}

TEST(DetrDecode, EightyClassesMapToCocoCategories) {
  std::vector<float> queries(2 * 84, 0.f);
  queries[4 + 16] = 0.9f;       // image 1: class 16, COCO's dog (id 18)
  queries[84 + 4 + 79] = 0.5f;  // image 2: class 79, toothbrush (id 90)
  const auto dets = decode(queries, 2, 80, {.conf_threshold = 0.25f});
  ASSERT_EQ(dets.at(0).size(), 1u);
  ASSERT_EQ(dets.at(1).size(), 1u);
  EXPECT_EQ(dets[0][0].category_id, 18);
  EXPECT_EQ(dets[1][0].category_id, 90);
  EXPECT_EQ(dets[1][0].image_id, 4);
}

TEST(DetrDecode, ShapeRulesAndRecognition) {
  // 640 x 640 has 8400 grid cells: 300 queries of 4 + 80 columns is a DETR head, recognised with or without
  // metadata; six columns stay end2end; a shape alone does not pick the DETR decoder.
  EXPECT_EQ(detect_decoder({1, 300, 84}, 640, 640, DecoderKind::kDetr), DecoderKind::kDetr);
  EXPECT_THROW(detect_decoder({1, 300, 84}, 640, 640), Error);
  EXPECT_THROW(detect_decoder({1, 300, 4}, 640, 640, DecoderKind::kDetr), Error);
  EXPECT_EQ(recognise_preset({{1, 3, 640, 640}, {1, 300, 84}, {}}), "rtdetr");
  EXPECT_EQ(recognise_preset({{1, 3, 640, 640}, {1, 300, 6}, {}}), "end2end");
  EXPECT_EQ(recognise_preset({{1, 3, 640, 640}, {1, 300, 85}, {}}), std::nullopt);
  const std::map<std::string, std::string> three = {{"stride", "32"},
                                                    {"names", "{0: 'person', 1: 'bicycle', 2: 'car'}"}};
  EXPECT_EQ(recognise_preset({{1, 3, 640, 640}, {1, 300, 7}, three}), "rtdetr");
  // Columns that do not add up to the named classes are not read as a DETR head.
  EXPECT_NE(recognise_preset({{1, 3, 640, 640}, {1, 300, 84}, three}), "rtdetr");
  const Preset preset = preset_by_name("rtdetr");
  EXPECT_EQ(preset.decoder, DecoderKind::kDetr);
  EXPECT_EQ(preset.profile, PreprocessProfile::kUltralyticsStretch);
}

}  // namespace
}  // namespace partq
