// torchvision NMS semantics: strictly-greater IoU suppresses, descending score order, class-aware batching.
#include <gtest/gtest.h>
#include <partq/detect.hpp>

#include <cmath>

namespace partq {
namespace {

TEST(BoxIou, HandComputedValues) {
  EXPECT_FLOAT_EQ(box_iou({0, 0, 10, 10}, {0, 0, 10, 5}), 0.5f);          // inter 50, union 100
  EXPECT_FLOAT_EQ(box_iou({0, 0, 10, 10}, {5, 0, 15, 10}), 50.0f / 150);  // half overlap side by side
  EXPECT_FLOAT_EQ(box_iou({0, 0, 10, 10}, {20, 20, 30, 30}), 0.0f);
  EXPECT_TRUE(std::isnan(box_iou({1, 1, 1, 1}, {1, 1, 1, 1})));  // 0/0, as torchvision
}

TEST(Nms, IouEqualToTheThresholdIsNotSuppressed) {
  const std::vector<BoxXyxy> boxes = {{0, 0, 10, 10}, {0, 0, 10, 5}};  // IoU exactly 0.5
  const std::vector<float> scores = {0.9f, 0.8f};
  EXPECT_EQ(nms(boxes, scores, 0.5f), (std::vector<size_t>{0, 1}));
  EXPECT_EQ(nms(boxes, scores, 0.49f), (std::vector<size_t>{0}));
}

TEST(Nms, HigherScoreWinsRegardlessOfIndexAndSuppressedBoxesDoNotSuppress) {
  // 0 and 1 overlap (IoU 0.5 > 0.4); 1 and 2 overlap (IoU 0.5); 0 and 2 are apart (IoU 0).
  const std::vector<BoxXyxy> boxes = {{0, 0, 10, 10}, {0, 0, 10, 5}, {0, 2.5f, 10, 5}};
  // Box 1 has the top score: it suppresses 0 and 2.
  EXPECT_EQ(nms(boxes, std::vector<float>{0.5f, 0.9f, 0.4f}, 0.4f), (std::vector<size_t>{1}));
  // Box 0 first: it suppresses 1; 2 only overlapped the suppressed 1 (IoU(0,2) = 25/100 = 0.25), so it stays.
  EXPECT_FLOAT_EQ(box_iou(boxes[0], boxes[2]), 0.25f);
  EXPECT_EQ(nms(boxes, std::vector<float>{0.9f, 0.5f, 0.4f}, 0.4f), (std::vector<size_t>{0, 2}));
}

TEST(Nms, TiesKeepTheLowerIndex) {
  const std::vector<BoxXyxy> boxes = {{0, 0, 10, 10}, {0, 0, 10, 10}};
  EXPECT_EQ(nms(boxes, std::vector<float>{0.7f, 0.7f}, 0.5f), (std::vector<size_t>{0}));
}

TEST(BatchedNms, OverlapsOnlySuppressWithinAClass) {
  const std::vector<BoxXyxy> boxes = {{0, 0, 10, 10}, {0, 0, 10, 10}, {1, 0, 10, 10}, {50, 50, 60, 60}};
  const std::vector<float> scores = {0.6f, 0.8f, 0.7f, 0.9f};
  const std::vector<int> classes = {0, 1, 0, 0};
  // Class 0: box 2 (0.7) suppresses box 0 (0.6, IoU 0.9); box 3 is apart. Class 1: box 1 alone.
  EXPECT_EQ(batched_nms(boxes, scores, classes, 0.65f), (std::vector<size_t>{3, 1, 2}));
}

}  // namespace
}  // namespace partq
