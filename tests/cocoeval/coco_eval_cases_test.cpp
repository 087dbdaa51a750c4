// Tiny hand-made cases; each expected value is derived by hand from pycocotools' algorithm in the comments.
// A precision of tp / (fp + tp + eps) with fp = 0 is 1 / (1 + eps), hence "near 1" rather than "equal 1".
#include <gtest/gtest.h>

#include "partq/coco_eval.hpp"
#include "partq/error.hpp"

namespace partq {
namespace {

constexpr double kTol = 1e-12;
enum Stat { AP, AP50, AP75, APs, APm, APl, AR1, AR10, AR100, ARs, ARm, ARl };

// Ground truth builder: images 1..n of 640x480 and the given category ids.
struct Gt {
  CocoDataset data;
  Gt(int num_images, std::vector<int64_t> categories) {
    for (int i = 1; i <= num_images; ++i)
      data.images.push_back({i, "", 640, 480});
    for (int64_t c : categories)
      data.categories.push_back({c, fmt::format("c{}", c), ""});
  }
  // Box [x, y, w, h]; area defaults to w * h.
  Gt& box(int64_t image, int64_t category, std::array<double, 4> b, bool crowd = false, double area = -1) {
    const int64_t id = static_cast<int64_t>(data.annotations.size()) + 1;
    data.annotations.push_back({id, image, category, b, area < 0 ? b[2] * b[3] : area, crowd});
    return *this;
  }
};

Detection det(int64_t image, int64_t category, std::array<float, 4> b, float score) {
  return Detection{image, category, b, score};
}

TEST(CocoEvalCases, PerfectDetectionsScoreOne) {
  // A small (10x10), a medium (40x40) and a large (100x100) object, each found exactly.
  Gt gt(2, {1, 2});
  gt.box(1, 1, {10, 10, 10, 10}).box(1, 2, {100, 100, 40, 40}).box(2, 1, {200, 200, 100, 100});
  const std::vector<Detection> dts = {det(1, 1, {10, 10, 10, 10}, 0.9f), det(1, 2, {100, 100, 40, 40}, 0.8f),
                                      det(2, 1, {200, 200, 100, 100}, 0.7f)};
  const CocoEvalResult r = evaluate_coco(gt.data, dts);
  for (size_t i = 0; i < 12; ++i)
    EXPECT_NEAR(r.stats[i], 1.0, kTol) << "stat " << i;
  ASSERT_EQ(r.per_category.size(), 2u);
  EXPECT_NEAR(r.per_category[0].ap, 1.0, kTol);
  EXPECT_NEAR(r.per_category[1].ap50, 1.0, kTol);
}

TEST(CocoEvalCases, FalsePositiveAboveTruePositiveHalvesPrecision) {
  // Ranked: FP (small box elsewhere), then TP. tp = [0, 1], fp = [1, 1] -> rc = [0, 1], pr = [0, 1/2];
  // made monotone pr = [1/2, 1/2]; every recall threshold lands on 1/2 -> AP = 0.5.
  Gt gt(1, {1});
  gt.box(1, 1, {0, 0, 100, 100});
  const std::vector<Detection> dts = {det(1, 1, {300, 300, 10, 10}, 0.9f), det(1, 1, {0, 0, 100, 100}, 0.8f)};
  const CocoEvalResult r = evaluate_coco(gt.data, dts);
  EXPECT_NEAR(r.stats[AP], 0.5, kTol);
  EXPECT_NEAR(r.stats[AP50], 0.5, kTol);
  EXPECT_NEAR(r.stats[AP75], 0.5, kTol);
  // Only the large range has gt. There the small FP is unmatched and outside the range, so it is ignored.
  EXPECT_EQ(r.stats[APs], -1);
  EXPECT_EQ(r.stats[APm], -1);
  EXPECT_NEAR(r.stats[APl], 1.0, kTol);
  EXPECT_EQ(r.stats[AR1], 0.0);  // the single top detection is the FP
  EXPECT_EQ(r.stats[AR10], 1.0);
  EXPECT_EQ(r.stats[AR100], 1.0);
  EXPECT_EQ(r.stats[ARs], -1);
  EXPECT_EQ(r.stats[ARl], 1.0);

  // Same boxes, TP ranked first: AP 1.
  const std::vector<Detection> swapped = {det(1, 1, {300, 300, 10, 10}, 0.8f),
                                          det(1, 1, {0, 0, 100, 100}, 0.9f)};
  EXPECT_NEAR(evaluate_coco(gt.data, swapped).stats[AP], 1.0, kTol);
}

TEST(CocoEvalCases, EqualScoresKeepFileOrder) {
  Gt gt(1, {1});
  gt.box(1, 1, {0, 0, 100, 100});
  const Detection fp = det(1, 1, {300, 300, 100, 100}, 0.5f);
  const Detection tp = det(1, 1, {0, 0, 100, 100}, 0.5f);
  EXPECT_NEAR(evaluate_coco(gt.data, {fp, tp}).stats[AP], 0.5, kTol);  // stable sort: FP ranks first
  EXPECT_NEAR(evaluate_coco(gt.data, {tp, fp}).stats[AP], 1.0, kTol);
}

TEST(CocoEvalCases, DetectionInsideCrowdRegionIsIgnored) {
  // Crowd region [300, 0, 200, 200]; a detection inside it has iou = inter / det_area = 1 with the crowd,
  // matches it and is ignored, so it is no FP above the TP: AP 1 (0.5 if it counted as FP).
  Gt gt(1, {1});
  gt.box(1, 1, {0, 0, 100, 100}).box(1, 1, {300, 0, 200, 200}, /*crowd=*/true);
  const std::vector<Detection> dts = {det(1, 1, {320, 20, 50, 50}, 0.9f), det(1, 1, {0, 0, 100, 100}, 0.8f)};
  const CocoEvalResult r = evaluate_coco(gt.data, dts);
  EXPECT_NEAR(r.stats[AP], 1.0, kTol);
  EXPECT_EQ(r.stats[AR1], 0.0);  // top-1 is the ignored detection; the crowd is no gt to recall
  EXPECT_EQ(r.stats[AR100], 1.0);

  // Without the crowd flag the region is an ordinary gt: the small box has iou 2500/40000 < .5 with it -> FP
  // above the TP; and the big gt is never found -> npig 2, rc = [0, 1/2], pr = [0, 1/2].
  // AP = 0.5 at the 51 recall thresholds <= 0.5, 0 above -> 0.5 * 51 / 101.
  Gt plain(1, {1});
  plain.box(1, 1, {0, 0, 100, 100}).box(1, 1, {300, 0, 200, 200});
  EXPECT_NEAR(evaluate_coco(plain.data, dts).stats[AP], 0.5 * 51 / 101, kTol);
}

TEST(CocoEvalCases, DuplicateOnObjectInsideCrowdIsIgnored) {
  // Object A lies inside crowd C, object B elsewhere. dA matches A (regular gt first; it then stops at the
  // crowd because it holds a regular match). The duplicate dA2 skips the taken A, matches C and is ignored.
  // Ranked dA, dA2, dB: 2 TPs and nothing counted against them -> AP 1. Were dA2 an FP: tp = [1, 1, 2],
  // fp = [0, 1, 1], rc = [.5, .5, 1], pr = [1, .5, 2/3] -> monotone [1, 2/3, 2/3] -> AP = (51 + 50 * 2/3) /
  // 101.
  Gt gt(1, {1});
  gt.box(1, 1, {0, 0, 300, 300}, /*crowd=*/true)
      .box(1, 1, {50, 50, 100, 100})
      .box(1, 1, {400, 300, 100, 100});
  const std::vector<Detection> dts = {det(1, 1, {50, 50, 100, 100}, 0.9f),
                                      det(1, 1, {52, 50, 100, 100}, 0.8f),
                                      det(1, 1, {400, 300, 100, 100}, 0.7f)};
  EXPECT_NEAR(evaluate_coco(gt.data, dts).stats[AP], 1.0, kTol);

  Gt plain(1, {1});
  plain.box(1, 1, {50, 50, 100, 100}).box(1, 1, {400, 300, 100, 100});
  EXPECT_NEAR(evaluate_coco(plain.data, dts).stats[AP], (51 + 50 * (2.0 / 3.0)) / 101, kTol);
}

TEST(CocoEvalCases, AreaRangesUseTheAnnotationArea) {
  // Small gt found, medium gt missed: npig 2, one TP -> rc = [1/2]: precision ~1 at the 51 recall thresholds
  // <= 0.5 and 0 above -> AP = 51/101. Small range: medium gt ignored -> AP 1. Medium range: the small
  // detection is unmatched and outside the range -> ignored; nothing found -> AP 0, AR 0.
  Gt gt(1, {1});
  gt.box(1, 1, {10, 10, 10, 10}).box(1, 1, {200, 200, 40, 40});
  const std::vector<Detection> dts = {det(1, 1, {10, 10, 10, 10}, 0.9f)};
  const CocoEvalResult r = evaluate_coco(gt.data, dts);
  EXPECT_NEAR(r.stats[AP], 51.0 / 101.0, kTol);
  EXPECT_NEAR(r.stats[APs], 1.0, kTol);
  EXPECT_EQ(r.stats[APm], 0.0);
  EXPECT_EQ(r.stats[APl], -1);
  EXPECT_EQ(r.stats[AR100], 0.5);
  EXPECT_EQ(r.stats[ARs], 1.0);
  EXPECT_EQ(r.stats[ARm], 0.0);

  // The stored area decides, not the box: a 40x40 box with area 500 (a thin segmentation) is "small".
  Gt seg(1, {1});
  seg.box(1, 1, {200, 200, 40, 40}, false, /*area=*/500);
  const CocoEvalResult s = evaluate_coco(seg.data, {det(1, 1, {200, 200, 40, 40}, 0.9f)});
  EXPECT_NEAR(s.stats[APs], 1.0, kTol);
  EXPECT_EQ(s.stats[APm], -1);  // no gt in the medium range; the detection matched an ignored gt

  // Range ends are inclusive: area 32*32 = 1024 is both small and medium.
  Gt edge(1, {1});
  edge.box(1, 1, {0, 0, 32, 32});
  const CocoEvalResult e = evaluate_coco(edge.data, {det(1, 1, {0, 0, 32, 32}, 0.9f)});
  EXPECT_NEAR(e.stats[APs], 1.0, kTol);
  EXPECT_NEAR(e.stats[APm], 1.0, kTol);
}

TEST(CocoEvalCases, IouThresholdsCountSeparately) {
  // iou = (100*62) / (100*100) = 0.62: a match at thresholds .50 .55 .60 only -> AP = 3/10, AP50 1, AP75 0.
  Gt gt(1, {1});
  gt.box(1, 1, {0, 0, 100, 100});
  const CocoEvalResult r = evaluate_coco(gt.data, {det(1, 1, {0, 0, 100, 62}, 0.9f)});
  EXPECT_NEAR(r.stats[AP], 0.3, kTol);
  EXPECT_NEAR(r.stats[AP50], 1.0, kTol);
  EXPECT_EQ(r.stats[AP75], 0.0);
  EXPECT_NEAR(r.stats[AR100], 0.3, kTol);
}

TEST(CocoEvalCases, CategoryWithoutGtIsLeftOut) {
  // Category 2 has no gt: its FPs give npig 0 -> precision -1 -> left out of the mean. Category 99 is not a
  // gt category at all: pycocotools loads such results but evaluates only gt categories.
  Gt gt(1, {1, 2});
  gt.box(1, 1, {0, 0, 100, 100});
  const std::vector<Detection> dts = {det(1, 2, {0, 0, 100, 100}, 0.99f), det(1, 99, {0, 0, 100, 100}, 0.98f),
                                      det(1, 1, {0, 0, 100, 100}, 0.5f)};
  const CocoEvalResult r = evaluate_coco(gt.data, dts);
  EXPECT_NEAR(r.stats[AP], 1.0, kTol);
  ASSERT_EQ(r.per_category.size(), 2u);
  EXPECT_EQ(r.per_category[1].category_id, 2);
  EXPECT_EQ(r.per_category[1].ap, -1);
}

TEST(CocoEvalCases, OnlyTheTop100DetectionsPerImageAndCategoryCount) {
  Gt gt(1, {1});
  gt.box(1, 1, {0, 0, 100, 100});
  std::vector<Detection> dts;
  for (int i = 0; i < 99; ++i)
    dts.push_back(det(1, 1, {300, 300, 10, 10}, 0.9f));
  dts.push_back(det(1, 1, {0, 0, 100, 100}, 0.5f));
  // TP ranked 100th: pr[99] = 1/100, made monotone over all ranks -> AP = 0.01; found within 100, not 10.
  CocoEvalResult r = evaluate_coco(gt.data, dts);
  EXPECT_NEAR(r.stats[AP], 0.01, kTol);
  EXPECT_EQ(r.stats[AR10], 0.0);
  EXPECT_EQ(r.stats[AR100], 1.0);
  // One more FP above it pushes the TP to rank 101, which is cut: AP 0, AR 0.
  dts.insert(dts.begin(), det(1, 1, {300, 300, 10, 10}, 0.9f));
  r = evaluate_coco(gt.data, dts);
  EXPECT_EQ(r.stats[AP], 0.0);
  EXPECT_EQ(r.stats[AR100], 0.0);
}

TEST(CocoEvalCases, NoDetectionsGivesZero) {
  Gt gt(1, {1});
  gt.box(1, 1, {0, 0, 100, 100});
  const CocoEvalResult r = evaluate_coco(gt.data, {});
  EXPECT_EQ(r.stats[AP], 0.0);
  EXPECT_EQ(r.stats[AR100], 0.0);
  EXPECT_EQ(r.stats[APs], -1);
}

TEST(CocoEvalCases, ImageIdsOptionRestrictsEvaluation) {
  // Image 2's object is missed; evaluating image 1 alone gives AP 1, both images AP 51/101.
  Gt gt(2, {1});
  gt.box(1, 1, {0, 0, 100, 100}).box(2, 1, {0, 0, 100, 100});
  const std::vector<Detection> dts = {det(1, 1, {0, 0, 100, 100}, 0.9f)};
  EXPECT_NEAR(evaluate_coco(gt.data, dts).stats[AP], 51.0 / 101.0, kTol);
  EXPECT_NEAR(evaluate_coco(gt.data, dts, {.image_ids = {1}}).stats[AP], 1.0, kTol);
}

TEST(CocoEvalCases, DetectionOnUnknownImageIsAnError) {
  Gt gt(1, {1});
  gt.box(1, 1, {0, 0, 100, 100});
  try {
    evaluate_coco(gt.data, {det(1, 1, {0, 0, 1, 1}, 0.5f), det(7, 1, {0, 0, 1, 1}, 0.5f)});
    FAIL() << "expected partq::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("image_id 7"), std::string::npos) << e.what();
  }
}

TEST(CocoEvalCases, SummaryLinesAreFormattedLikePycocotools) {
  CocoEvalResult r;
  r.stats = {0.2686675159922976,
             0.46557825065590136,
             0.26699615812385835,
             0.0625,
             -1,
             0.4238790603764899,
             0.24845368657954875,
             0.39919957513967463,
             0.4443119559272445,
             0.21380970575594124,
             -1,
             1.0};
  const std::string expected =
      " Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = 0.269\n"
      " Average Precision  (AP) @[ IoU=0.50      | area=   all | maxDets=100 ] = 0.466\n"
      " Average Precision  (AP) @[ IoU=0.75      | area=   all | maxDets=100 ] = 0.267\n"
      " Average Precision  (AP) @[ IoU=0.50:0.95 | area= small | maxDets=100 ] = 0.062\n"
      " Average Precision  (AP) @[ IoU=0.50:0.95 | area=medium | maxDets=100 ] = -1.000\n"
      " Average Precision  (AP) @[ IoU=0.50:0.95 | area= large | maxDets=100 ] = 0.424\n"
      " Average Recall     (AR) @[ IoU=0.50:0.95 | area=   all | maxDets=  1 ] = 0.248\n"
      " Average Recall     (AR) @[ IoU=0.50:0.95 | area=   all | maxDets= 10 ] = 0.399\n"
      " Average Recall     (AR) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = 0.444\n"
      " Average Recall     (AR) @[ IoU=0.50:0.95 | area= small | maxDets=100 ] = 0.214\n"
      " Average Recall     (AR) @[ IoU=0.50:0.95 | area=medium | maxDets=100 ] = -1.000\n"
      " Average Recall     (AR) @[ IoU=0.50:0.95 | area= large | maxDets=100 ] = 1.000\n";
  EXPECT_EQ(format_coco_summary(r), expected);  // 0.0625 -> 0.062: Python rounds exact ties to even
}

}  // namespace
}  // namespace partq
