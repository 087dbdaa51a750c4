// Letterbox geometry and pixel values. Expected geometry is worked out by hand from the upstream formulas
// (Ultralytics letterbox, YOLOX preproc) and written down as literals.
#include <gtest/gtest.h>
#include <partq/data.hpp>
#include <partq/error.hpp>

#include <opencv2/imgproc.hpp>

#include <string>
#include <vector>

namespace partq {
namespace {

const std::string kImages = std::string(PARTQ_SHARED_DIR) + "/models/images/";

// Channel c of pixel (x, y) of a CHW tensor.
float at(const std::vector<float>& chw, int w, int h, int c, int x, int y) {
  return chw[static_cast<size_t>(c) * w * h + static_cast<size_t>(y) * w + x];
}

std::vector<float> run(const cv::Mat& img, PreprocessProfile profile, int w, int h, Letterbox* info) {
  std::vector<float> chw(3 * static_cast<size_t>(w) * h);
  *info = preprocess(img, profile, w, h, chw);
  return chw;
}

TEST(Yolov5Letterbox, BusIsPaddedLeftAndRight) {
  const cv::Mat bus = read_image(kImages + "bus.jpg");
  ASSERT_EQ(bus.cols, 810);
  ASSERT_EQ(bus.rows, 1080);
  // r = min(640/1080, 640/810) = 0.5926; new_unpad = (round(480.0), round(640.0)) = (480, 640);
  // dw = (640-480)/2 = 80 -> left = round(79.9) = 80, right = round(80.1) = 80; dh = 0.
  Letterbox lb;
  const cv::Mat img = letterbox_image(bus, PreprocessProfile::kYolov5Letterbox, 640, 640, &lb);
  EXPECT_EQ(img.cols, 640);
  EXPECT_EQ(img.rows, 640);
  EXPECT_FLOAT_EQ(lb.scale, 640.0f / 1080.0f);
  EXPECT_FLOAT_EQ(lb.pad_x, 80.0f);
  EXPECT_FLOAT_EQ(lb.pad_y, 0.0f);
  EXPECT_EQ(lb.orig_w, 810);
  EXPECT_EQ(lb.orig_h, 1080);
  // The 480 x 640 content sits at columns [80, 560) and equals the INTER_LINEAR resize of the photo.
  cv::Mat resized;
  cv::resize(bus, resized, cv::Size(480, 640), 0, 0, cv::INTER_LINEAR);
  EXPECT_EQ(cv::norm(img(cv::Rect(80, 0, 480, 640)), resized, cv::NORM_INF), 0.0);
  for (int y : {0, 320, 639})
    for (int x : {0, 79, 560, 639})
      EXPECT_EQ(img.at<cv::Vec3b>(y, x), cv::Vec3b(114, 114, 114)) << x << "," << y;
}

TEST(Yolov5Letterbox, DogIsPaddedTopAndBottom) {
  const cv::Mat dog = read_image(kImages + "dog.jpg");
  ASSERT_EQ(dog.cols, 768);
  ASSERT_EQ(dog.rows, 576);
  // r = 640/768; new_unpad = (640, 480); dh = 80 -> top = 80, bottom = 80.
  Letterbox lb;
  const std::vector<float> chw = run(dog, PreprocessProfile::kYolov5Letterbox, 640, 640, &lb);
  EXPECT_FLOAT_EQ(lb.scale, 640.0f / 768.0f);
  EXPECT_FLOAT_EQ(lb.pad_x, 0.0f);
  EXPECT_FLOAT_EQ(lb.pad_y, 80.0f);
  for (int c = 0; c < 3; ++c) {
    EXPECT_FLOAT_EQ(at(chw, 640, 640, c, 10, 79), 114.0f / 255.0f);
    EXPECT_FLOAT_EQ(at(chw, 640, 640, c, 600, 560), 114.0f / 255.0f);
  }
  // Row 80 is photo, not padding, and values are RGB / 255 of the resized photo.
  cv::Mat resized;
  cv::resize(dog, resized, cv::Size(640, 480), 0, 0, cv::INTER_LINEAR);
  for (int x : {0, 333, 639}) {
    const cv::Vec3b bgr = resized.at<cv::Vec3b>(0, x);
    EXPECT_FLOAT_EQ(at(chw, 640, 640, 0, x, 80), bgr[2] / 255.0f);
    EXPECT_FLOAT_EQ(at(chw, 640, 640, 1, x, 80), bgr[1] / 255.0f);
    EXPECT_FLOAT_EQ(at(chw, 640, 640, 2, x, 80), bgr[0] / 255.0f);
  }
}

TEST(Yolov5Letterbox, OddPaddingPutsTheExtraRowAtTheBottom) {
  // 640 x 479: no resize (r = 1); dh = 161/2 = 80.5 -> top = round(80.4) = 80, bottom = round(80.6) = 81.
  const cv::Mat img(479, 640, CV_8UC3, cv::Scalar(10, 20, 30));
  Letterbox lb;
  const std::vector<float> chw = run(img, PreprocessProfile::kYolov5Letterbox, 640, 640, &lb);
  EXPECT_FLOAT_EQ(lb.scale, 1.0f);
  EXPECT_FLOAT_EQ(lb.pad_y, 80.5f);
  EXPECT_FLOAT_EQ(at(chw, 640, 640, 0, 5, 79), 114.0f / 255.0f);
  EXPECT_FLOAT_EQ(at(chw, 640, 640, 0, 5, 80), 30.0f / 255.0f);   // first photo row; R first
  EXPECT_FLOAT_EQ(at(chw, 640, 640, 2, 5, 558), 10.0f / 255.0f);  // last photo row = 80 + 479 - 1; B last
  EXPECT_FLOAT_EQ(at(chw, 640, 640, 1, 5, 559), 114.0f / 255.0f);
}

TEST(Yolov5Letterbox, NewSizeUsesBankersRounding) {
  // 1280 x 5 -> r = 0.5; height 5 * 0.5 = 2.5 rounds to 2 (Python round), so dh = 319, top = bottom = 319.
  Letterbox lb;
  const cv::Mat two = letterbox_image(cv::Mat(5, 1280, CV_8UC3, cv::Scalar(0, 0, 0)),
                                      PreprocessProfile::kYolov5Letterbox, 640, 640, &lb);
  EXPECT_FLOAT_EQ(lb.pad_y, 319.0f);
  EXPECT_EQ(two.at<cv::Vec3b>(318, 0), cv::Vec3b(114, 114, 114));
  EXPECT_EQ(two.at<cv::Vec3b>(319, 0), cv::Vec3b(0, 0, 0));
  EXPECT_EQ(two.at<cv::Vec3b>(320, 0), cv::Vec3b(0, 0, 0));
  EXPECT_EQ(two.at<cv::Vec3b>(321, 0), cv::Vec3b(114, 114, 114));
  // 1280 x 7 -> 3.5 rounds to 4 (half to even), dh = 318.
  letterbox_image(cv::Mat(7, 1280, CV_8UC3, cv::Scalar(0, 0, 0)), PreprocessProfile::kYolov5Letterbox, 640,
                  640, &lb);
  EXPECT_FLOAT_EQ(lb.pad_y, 318.0f);
}

TEST(YoloxTopLeft, BusIsPastedTopLeftInBgrUnscaled) {
  const cv::Mat bus = read_image(kImages + "bus.jpg");
  // r = min(416/1080, 416/810) = 0.3852; size (int(312.0), int(416.0)) = (312, 416) at the top-left.
  Letterbox lb;
  const std::vector<float> chw = run(bus, PreprocessProfile::kYoloxTopLeft, 416, 416, &lb);
  EXPECT_FLOAT_EQ(lb.scale, 416.0f / 1080.0f);
  EXPECT_FLOAT_EQ(lb.pad_x, 0.0f);
  EXPECT_FLOAT_EQ(lb.pad_y, 0.0f);
  cv::Mat resized;
  cv::resize(bus, resized, cv::Size(312, 416), 0, 0, cv::INTER_LINEAR);
  for (int y : {0, 200, 415}) {
    for (int x : {0, 150, 311}) {
      const cv::Vec3b bgr = resized.at<cv::Vec3b>(y, x);
      for (int c = 0; c < 3; ++c)
        EXPECT_FLOAT_EQ(at(chw, 416, 416, c, x, y), bgr[c]) << x << "," << y;
    }
    for (int c = 0; c < 3; ++c)
      EXPECT_FLOAT_EQ(at(chw, 416, 416, c, 312, y), 114.0f);
  }
}

TEST(YoloxTopLeft, SizeIsTruncatedAndPaddingIsBelow) {
  // 100 x 3 -> r = min(416/3, 416/100) = 4.16; size (416, int(12.48) = 12).
  const cv::Mat img(3, 100, CV_8UC3, cv::Scalar(10, 20, 30));
  Letterbox lb;
  const std::vector<float> chw = run(img, PreprocessProfile::kYoloxTopLeft, 416, 416, &lb);
  EXPECT_FLOAT_EQ(lb.scale, 4.16f);
  EXPECT_FLOAT_EQ(at(chw, 416, 416, 0, 100, 11), 10.0f);  // B stays channel 0
  EXPECT_FLOAT_EQ(at(chw, 416, 416, 2, 100, 11), 30.0f);
  EXPECT_FLOAT_EQ(at(chw, 416, 416, 0, 100, 12), 114.0f);
}

TEST(DamoyoloTopLeft, PastedTopLeftOnZerosInRgbUnscaled) {
  // A 4x2 (w x h) image of one BGR colour into 8x8: r = min(8/2, 8/4) = 2, new size 8x4 at the top-left;
  // rows 4..7 are the zero canvas (YOLOX pads with 114).
  const cv::Mat img(2, 4, CV_8UC3, cv::Scalar(10, 20, 30));
  Letterbox lb;
  const std::vector<float> chw = run(img, PreprocessProfile::kDamoyoloTopLeft, 8, 8, &lb);
  EXPECT_FLOAT_EQ(lb.scale, 2.f);
  EXPECT_EQ(lb.pad_x, 0.f);
  EXPECT_EQ(lb.pad_y, 0.f);
  for (int y = 0; y < 8; ++y)
    for (int x = 0; x < 8; ++x) {
      const bool image = y < 4;
      EXPECT_EQ(at(chw, 8, 8, 0, x, y), image ? 30.f : 0.f) << x << "," << y;  // R first
      EXPECT_EQ(at(chw, 8, 8, 1, x, y), image ? 20.f : 0.f) << x << "," << y;
      EXPECT_EQ(at(chw, 8, 8, 2, x, y), image ? 10.f : 0.f) << x << "," << y;
    }
  EXPECT_STREQ(profile_name(PreprocessProfile::kDamoyoloTopLeft), "damoyolo-top-left");
}

// The pixels of a stretch are the upstream call's (RT-DETR: cv2.resize(im, (w, h), INTER_LINEAR); PP-YOLOE:
// cv2.resize(im, None, fx=, fy=, interpolation=INTER_CUBIC)), as RGB /255; the scales are per axis.
void expect_stretch(PreprocessProfile profile, const cv::Mat& upstream, const cv::Mat& img) {
  Letterbox lb;
  const std::vector<float> chw = run(img, profile, 8, 12, &lb);
  EXPECT_FLOAT_EQ(lb.scale, 2.f);             // 8 / 4
  EXPECT_FLOAT_EQ(lb.vertical_scale(), 4.f);  // 12 / 3
  EXPECT_EQ(lb.pad_x, 0.f);
  EXPECT_EQ(lb.pad_y, 0.f);
  ASSERT_EQ(upstream.cols, 8);
  ASSERT_EQ(upstream.rows, 12);
  for (int y = 0; y < 12; ++y)
    for (int x = 0; x < 8; ++x)
      for (int c = 0; c < 3; ++c)
        EXPECT_EQ(at(chw, 8, 12, c, x, y), upstream.at<cv::Vec3b>(y, x)[2 - c] / 255.0f) << x << "," << y;
}

cv::Mat gradient_image() {  // 4 x 3 (w x h), every pixel and channel different
  cv::Mat img(3, 4, CV_8UC3);
  for (int y = 0; y < 3; ++y)
    for (int x = 0; x < 4; ++x)
      img.at<cv::Vec3b>(y, x) =
          cv::Vec3b(static_cast<uint8_t>(20 * x + 60 * y), static_cast<uint8_t>(200 - 15 * x),
                    static_cast<uint8_t>(30 + 50 * y));
  return img;
}

TEST(UltralyticsStretch, ResizesToTheWholeInputLinearly) {
  const cv::Mat img = gradient_image();
  cv::Mat upstream;
  cv::resize(img, upstream, cv::Size(8, 12), 0, 0, cv::INTER_LINEAR);
  expect_stretch(PreprocessProfile::kUltralyticsStretch, upstream, img);
  EXPECT_STREQ(profile_name(PreprocessProfile::kUltralyticsStretch), "ultralytics-stretch");
}

TEST(PpyoloeStretch, ResizesByFactorsCubically) {
  const cv::Mat img = gradient_image();
  cv::Mat upstream, linear;
  cv::resize(img, upstream, cv::Size(), 2.0, 4.0, cv::INTER_CUBIC);
  cv::resize(img, linear, cv::Size(8, 12), 0, 0, cv::INTER_LINEAR);
  ASSERT_GT(cv::norm(upstream, linear, cv::NORM_INF), 0);  // the two profiles are told apart
  expect_stretch(PreprocessProfile::kPpyoloeStretch, upstream, img);
  EXPECT_STREQ(profile_name(PreprocessProfile::kPpyoloeStretch), "ppyoloe-stretch");
}

TEST(Preprocess, RejectsBadInput) {
  std::vector<float> small(10);
  const cv::Mat img(8, 8, CV_8UC3, cv::Scalar(0, 0, 0));
  EXPECT_THROW(preprocess(img, PreprocessProfile::kYolov5Letterbox, 64, 64, small), Error);
  std::vector<float> ok(3 * 64 * 64);
  EXPECT_THROW(preprocess(cv::Mat(), PreprocessProfile::kYolov5Letterbox, 64, 64, ok), Error);
  EXPECT_THROW(preprocess(cv::Mat(8, 8, CV_8UC1), PreprocessProfile::kYolov5Letterbox, 64, 64, ok), Error);
}

}  // namespace
}  // namespace partq
