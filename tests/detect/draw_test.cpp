#include <gtest/gtest.h>
#include <partq/detect.hpp>

namespace partq {
namespace {

TEST(Draw, BoxInCategoryColourAndLabel) {
  cv::Mat image(200, 300, CV_8UC3, cv::Scalar(0, 0, 0));
  Detection d;
  d.category_id = 1;  // person, class 0: Ultralytics palette colour 0 = FF3838 (RGB)
  d.bbox = {50, 60, 100, 80};
  draw_detections(image, {d}, coco80_names_by_category_id());
  // Left edge, half-way down, well away from the label: the box colour (BGR).
  EXPECT_EQ(image.at<cv::Vec3b>(100, 50), cv::Vec3b(0x38, 0x38, 0xFF));
  // Inside the box, below the label, untouched.
  EXPECT_EQ(image.at<cv::Vec3b>(120, 100), cv::Vec3b(0, 0, 0));
  // The label background above the box's top-left corner is painted.
  EXPECT_NE(image.at<cv::Vec3b>(57, 52), cv::Vec3b(0, 0, 0));
  EXPECT_EQ(coco80_names_by_category_id().at(90), "toothbrush");

  // A category outside COCO-80 is labelled with its id and still drawn.
  Detection other = d;
  other.category_id = 1000;
  cv::Mat blank(200, 300, CV_8UC3, cv::Scalar(0, 0, 0));
  draw_detections(blank, {other}, {});
  EXPECT_NE(blank.at<cv::Vec3b>(100, 50), cv::Vec3b(0, 0, 0));
}

}  // namespace
}  // namespace partq
