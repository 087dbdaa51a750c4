// Which decoder and preset a model's shapes ask for, and the errors when none fits.
#include <gtest/gtest.h>
#include <partq/detect.hpp>
#include <partq/error.hpp>

#include "shaped_graph.hpp"

namespace partq {
namespace {

using testing::error_of;

TEST(DetectDecoder, RecognisesTheThreeLayouts) {
  // 640: grids 80*80 + 40*40 + 20*20 = 8400 cells; YOLOv5 has 3 anchors per cell = 25200.
  EXPECT_EQ(detect_decoder({1, 25200, 85}, 640, 640), DecoderKind::kYolov5);
  // 416: 52*52 + 26*26 + 13*13 = 3549.
  EXPECT_EQ(detect_decoder({1, 3549, 85}, 416, 416), DecoderKind::kYolox);
  EXPECT_EQ(detect_decoder({4, 84, 8400}, 640, 640), DecoderKind::kYolov8);
  // 640 x 384 (rectangular): 80*48 + 40*24 + 20*12 = 5040.
  EXPECT_EQ(detect_decoder({1, 5040, 85}, 640, 384), DecoderKind::kYolox);
}

TEST(DetectDecoder, NoMatchNamesTheShapeAndTheExpectations) {
  const std::string message = error_of([] { detect_decoder({1, 100, 85}, 640, 640); });
  EXPECT_NE(message.find("[1,100,85]"), std::string::npos) << message;
  EXPECT_NE(message.find("[N,25200,5+C]"), std::string::npos) << message;
  EXPECT_NE(message.find("[N,8400,5+C]"), std::string::npos) << message;
  EXPECT_NE(message.find("[N,4+C,8400]"), std::string::npos) << message;
  EXPECT_THROW(detect_decoder({25200, 85}, 640, 640), Error);
  EXPECT_THROW(detect_decoder({1, 25200, 85}, 630, 630), Error);  // not a multiple of 32
}

TEST(DetectDecoder, HintIsCheckedAgainstTheShape) {
  EXPECT_EQ(detect_decoder({1, 100, 85}, 640, 640, DecoderKind::kYolov5), DecoderKind::kYolov5);
  const std::string message = error_of([] { detect_decoder({1, 25200, 85}, 640, 640, DecoderKind::kYolox); });
  EXPECT_NE(message.find("yolox"), std::string::npos) << message;
  EXPECT_NE(message.find("[N,8400,5+C]"), std::string::npos) << message;
  EXPECT_THROW(detect_decoder({1, 25200, 4}, 640, 640, DecoderKind::kYolov5), Error);
}

TEST(Preset, ByNameAndUnknownName) {
  const Preset yolov5 = preset_by_name("yolov5");
  EXPECT_EQ(yolov5.input_w, 640);
  EXPECT_EQ(yolov5.profile, PreprocessProfile::kYolov5Letterbox);
  EXPECT_FLOAT_EQ(yolov5.eval.conf_threshold, 0.001f);
  EXPECT_FLOAT_EQ(yolov5.eval.iou_threshold, 0.6f);
  EXPECT_TRUE(yolov5.eval.multi_label);
  EXPECT_FLOAT_EQ(yolov5.demo.conf_threshold, 0.25f);
  EXPECT_FLOAT_EQ(yolov5.demo.iou_threshold, 0.45f);
  const Preset yolox = preset_by_name("yolox");
  EXPECT_EQ(yolox.input_h, 416);
  EXPECT_EQ(yolox.profile, PreprocessProfile::kYoloxTopLeft);
  EXPECT_EQ(yolox.decoder, DecoderKind::kYolox);
  EXPECT_FLOAT_EQ(yolox.eval.conf_threshold, 0.001f);
  EXPECT_FLOAT_EQ(yolox.eval.iou_threshold, 0.65f);
  const std::string message = error_of([] { preset_by_name("yolo9000"); });
  EXPECT_NE(message.find("yolo9000"), std::string::npos);
  EXPECT_NE(message.find("yolov5, yolox, yolov8"), std::string::npos) << message;
}

TEST(Preset, FamilyWithAnotherPreprocessing) {
  const Preset stretched = preset_by_name("yolov8:ultralytics-stretch");
  EXPECT_EQ(stretched.name, "yolov8:ultralytics-stretch");
  EXPECT_EQ(stretched.decoder, DecoderKind::kYolov8);
  EXPECT_EQ(stretched.profile, PreprocessProfile::kUltralyticsStretch);
  EXPECT_FLOAT_EQ(stretched.eval.iou_threshold, 0.7f);
  EXPECT_EQ(preset_by_name("ppyoloe").profile, PreprocessProfile::kPpyoloeStretch);
  EXPECT_EQ(preset_by_name("ppyoloe:yolov5-letterbox").profile, PreprocessProfile::kYolov5Letterbox);
  const std::string message = error_of([] { preset_by_name("yolov8:squash"); });
  EXPECT_NE(message.find("unknown preprocessing 'squash'"), std::string::npos) << message;
  EXPECT_NE(message.find("yolov5-letterbox, yolox-top-left"), std::string::npos) << message;
  EXPECT_THROW(preset_by_name("yolo9000:yolov5-letterbox"), Error);
}

TEST(RecognisePreset, TheTestModelsAndOthers) {
  // yolov5n.onnx: Ultralytics metadata.
  EXPECT_EQ(
      recognise_preset({{1, 3, 640, 640}, {1, 25200, 85}, {{"stride", "32"}, {"names", "{0: 'person'}"}}}),
      "yolov5");
  // yolox_nano.onnx: no metadata, raw grid.
  EXPECT_EQ(recognise_preset({{1, 3, 416, 416}, {1, 3549, 85}, {}}), "yolox");
  EXPECT_EQ(recognise_preset({{1, 3, 640, 640}, {1, 84, 8400}, {{"stride", "32"}, {"names", "{}"}}}),
            "yolov8");
  EXPECT_EQ(recognise_preset({{1, 3, 640, 640}, {1, 25200, 85}, {}}), "yolov5");
  EXPECT_EQ(recognise_preset({{1, 3, 224, 224}, {1, 1000}, {}}), std::nullopt);  // a classifier
  EXPECT_EQ(recognise_preset({{1, 3, -1, -1}, {1, 25200, 85}, {}}), std::nullopt);
  EXPECT_EQ(recognise_preset({{1, 3, 640, 640}, {1, 1234, 85}, {}}), std::nullopt);
}

}  // namespace
}  // namespace partq
