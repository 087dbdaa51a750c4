// The only pycocotools oracle on this machine: stats that pycocotools printed for a real results file.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>

#include "partq/coco_eval.hpp"
#include "partq/coco_io.hpp"

namespace partq {
namespace {

const std::string kCocoDir = std::string(PARTQ_SHARED_DIR) + "/data/coco";

std::array<double, 12> golden_stats() {
  std::ifstream in(kCocoDir + "/reference/detections_a.stats.json");
  const nlohmann::json golden = nlohmann::json::parse(in);
  std::array<double, 12> stats{};
  for (size_t i = 0; i < 12; ++i)
    stats[i] = golden.at("stats").at(i).get<double>();
  return stats;
}

TEST(CocoEvalGolden, DetectionsAMatchPycocotools) {
  const CocoDataset gt = load_coco_annotations(kCocoDir + "/annotations/instances_val2017_subset.json");
  const std::vector<Detection> detections = load_coco_detections(kCocoDir + "/reference/detections_a.json");
  ASSERT_EQ(detections.size(), 49479u);

  const CocoEvalResult result = evaluate_coco(gt, detections);
  const std::array<double, 12> expected = golden_stats();
  for (size_t i = 0; i < 12; ++i) {
    // The golden file holds pycocotools' float64 stats printed with 17 significant digits (repr).
    EXPECT_NEAR(result.stats[i], expected[i], 1e-12) << "stat " << i;
  }
  EXPECT_EQ(result.num_images, 206);
  EXPECT_EQ(result.num_detections, 49479);
}

TEST(CocoEvalGolden, StatsAreBitExact) {
  const CocoDataset gt = load_coco_annotations(kCocoDir + "/annotations/instances_val2017_subset.json");
  const CocoEvalResult result =
      evaluate_coco(gt, load_coco_detections(kCocoDir + "/reference/detections_a.json"));
  const std::array<double, 12> expected = golden_stats();
  for (size_t i = 0; i < 12; ++i)
    EXPECT_EQ(result.stats[i], expected[i]) << "stat " << i;
}

}  // namespace
}  // namespace partq
