// A DETR exported with its post-processor (RT-DETR / D-FINE / DEIM export_onnx.py): three outputs, labels
// [N,K] (int64 class indices), boxes [N,K,4] (x1 y1 x2 y2 in the pixels of the target size partq feeds, the
// input's) and scores [N,K]. Expected detections are worked out by hand from the rows placed in the outputs.
#include <gtest/gtest.h>
#include <partq/detect.hpp>
#include <partq/error.hpp>
#include <partq/passes.hpp>
#include <partq/pipeline.hpp>

#include <array>

namespace partq {
namespace {

// A 64 x 32 input the image was stretched into: 128 x 128 original, x scale 0.5, y scale 0.25.
const Letterbox kStretch{
    .scale = 0.5f, .pad_x = 0, .pad_y = 0, .orig_w = 128, .orig_h = 128, .scale_y = 0.25f};
const std::array<int64_t, 2> kImageIds = {3, 4};

Tensor int64s(Shape shape, std::vector<int64_t> v) {
  return Tensor::from_int64(std::move(shape), v);
}
Tensor floats(Shape shape, std::vector<float> v) {
  return Tensor::from_float(std::move(shape), v);
}

std::vector<std::vector<Detection>> decode(const std::vector<Tensor>& outputs, int num_classes,
                                           const NmsOptions& options) {
  const Decoder decoder(DecoderKind::kLabelsBoxesScores, 64, 32, options, num_classes);
  const size_t images = static_cast<size_t>(outputs.at(0).shape.at(0));
  const std::vector<Letterbox> boxes(images, kStretch);
  return decoder.decode(outputs, boxes, std::span(kImageIds.data(), images));
}

TEST(LabelsBoxesScoresDecode, RowsAboveTheThresholdMappedBackThroughTheStretch) {
  // Two images of three rows, in export_onnx.py's order: labels, boxes, scores. Image 0: rows 0 and 2 overlap
  // with the same class and both stay (no NMS); row 1 is below the threshold. Image 1: one row past the edge.
  const std::vector<Tensor> outputs = {
      int64s({2, 3}, {1, 2, 1, 0, 0, 0}),
      floats({2, 3, 4}, {24, 8, 40, 24, 0, 0, 8, 8, 25, 8, 40, 24,  //
                         -8, 4, 16, 20, 0, 0, 1, 1, 0,  0, 1,  1}),
      floats({2, 3}, {0.7f, 0.01f, 0.8f, 0.6f, 0.f, 0.f}),
  };
  const auto dets = decode(outputs, 3, {.conf_threshold = 0.05f, .max_det = 300});
  ASSERT_EQ(dets.size(), 2u);
  ASSERT_EQ(dets[0].size(), 2u);
  EXPECT_FLOAT_EQ(dets[0][0].score, 0.8f);  // highest first
  EXPECT_EQ(dets[0][0].category_id, 1);     // not 80 classes: the class index is the category
  EXPECT_EQ(dets[0][0].image_id, 3);
  // Input pixels x1 25, y1 8, x2 40, y2 24; original: x / 0.5, y / 0.25, as x y w h.
  const std::array<float, 4> want = {50, 32, 30, 64};
  for (int k = 0; k < 4; ++k)
    EXPECT_FLOAT_EQ(dets[0][0].bbox[k], want[k]) << k;
  EXPECT_FLOAT_EQ(dets[0][1].score, 0.7f);
  ASSERT_EQ(dets[1].size(), 1u);
  EXPECT_EQ(dets[1][0].image_id, 4);
  EXPECT_EQ(dets[1][0].category_id, 0);
  EXPECT_FLOAT_EQ(dets[1][0].bbox[0], -16);  // not clipped: D-FINE scales in the graph and keeps the box
  const auto capped = decode(outputs, 3, {.conf_threshold = 0.05f, .max_det = 1});
  ASSERT_EQ(capped[0].size(), 1u);
  EXPECT_FLOAT_EQ(capped[0][0].score, 0.8f);
}

TEST(LabelsBoxesScoresDecode, OutputsAreFoundByTypeInAnyOrderAndLabelsMapToCoco) {
  // Scores first, then boxes, then int64 labels: the integer output is the labels. 80 classes: class 16 is
  // COCO's dog (id 18).
  const std::vector<Tensor> outputs = {floats({1, 1}, {0.9f}), floats({1, 1, 4}, {0, 0, 8, 8}),
                                       int64s({1, 1}, {16})};
  const auto dets = decode(outputs, 0, {.conf_threshold = 0.25f});
  ASSERT_EQ(dets.at(0).size(), 1u);
  EXPECT_EQ(dets[0][0].category_id, 18);
  EXPECT_FLOAT_EQ(dets[0][0].score, 0.9f);
  // A label that is no class of the model is an error naming the output, not a silent wrong category.
  const std::vector<Tensor> bad = {int64s({1, 1}, {80}), floats({1, 1, 4}, {0, 0, 8, 8}),
                                   floats({1, 1}, {0.9f})};
  try {
    decode(bad, 0, {.conf_threshold = 0.25f});
    FAIL() << "label 80 of 80 classes was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("labels output row 0: class 80 is not a class index"),
              std::string::npos)
        << e.what();
  }
}

TEST(LabelsBoxesScoresDecode, ShapeRulesAndRecognition) {
  const std::vector<std::vector<int64_t>> dfine = {{1, 300}, {1, 300, 4}, {1, 300}};
  EXPECT_EQ(detect_decoder(dfine, 640, 640), DecoderKind::kLabelsBoxesScores);
  EXPECT_EQ(
      recognise_preset(
          {.input_shape = {1, 3, 640, 640}, .output_shapes = dfine, .integer_outputs = {true, false, false}}),
      "dfine");
  const auto found = find_labels_boxes_scores(dfine, {false, false, true});
  ASSERT_TRUE(found);
  EXPECT_EQ(found->labels, 2u);
  EXPECT_EQ(found->boxes, 1u);
  EXPECT_EQ(found->scores, 0u);
  // Rows that disagree with the boxes, or a missing output, fit nothing.
  EXPECT_FALSE(find_labels_boxes_scores({{1, 300}, {1, 299, 4}, {1, 300}}));
  EXPECT_FALSE(find_labels_boxes_scores({{1, 300}, {1, 300, 4}}));
  EXPECT_THROW(detect_decoder({{1, 300}, {1, 300, 4}}, 640, 640, DecoderKind::kLabelsBoxesScores), Error);
  const Preset preset = preset_by_name("dfine");
  EXPECT_EQ(preset.decoder, DecoderKind::kLabelsBoxesScores);
  EXPECT_EQ(preset.profile, PreprocessProfile::kUltralyticsStretch);
  EXPECT_EQ(preset.eval.conf_threshold, 0.f);  // their COCO evaluator scores all 300 rows
}

Graph two_input_graph(const std::string& second, DType dtype) {
  Graph g;
  g.inputs = {g.add_value("images", DType::kFloat32, {1, 3, 640, 640}, true),
              g.add_value(second, dtype, {1, 2}, true)};
  return g;
}

// The target size of a DETR post-processor is fed by partq, so the model is accepted; another second input
// (an open-vocabulary detector's text tokens) is refused by name, with what partq accepts.
TEST(LabelsBoxesScoresDecode, OnlyATargetSizeIsAcceptedAsASecondInput) {
  Graph sizes = two_input_graph("orig_target_sizes", DType::kInt64);
  EXPECT_TRUE(mark_size_inputs(sizes));
  EXPECT_EQ(resolve_preset(sizes, "dfine").input_w, 640);
  Graph other = two_input_graph("text_tokens", DType::kInt64);
  EXPECT_FALSE(mark_size_inputs(other));
  try {
    resolve_preset(other, "dfine");
    FAIL() << "a two-input model was accepted";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("the model reads 2 inputs ('images' [1,3,640,640], 'text_tokens' [1,2])"),
              std::string::npos)
        << what;
    EXPECT_NE(what.find("orig_target_sizes"), std::string::npos) << what;
  }
}

}  // namespace
}  // namespace partq
