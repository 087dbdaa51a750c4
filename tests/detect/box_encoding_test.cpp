// Raw versus graph-decoded box columns on tiny heads built in code (8x8 grid, 2 classes: [1, 64, 7]),
// and on the test models when they are there.
#include <gtest/gtest.h>
#include <partq/detect.hpp>
#include <partq/pipeline.hpp>

#include "shaped_graph.hpp"

#include <filesystem>

namespace partq {
namespace {

// An 8x8 image with 1x1 convs on it and the flatten + permute of a head.
class Head : public testing::ShapedGraph {
 public:
  Head() : ShapedGraph(8) {}
  // A 1x1 conv with `channels` outputs on the image: [1, channels, 8, 8].
  Value* conv(int64_t channels) {
    return op("Conv", {image(), constant({channels, 3, 1, 1})}, {1, channels, 8, 8});
  }
  // [1, k, 8, 8] -> [1, 64, k], as flatten(2) + permute(0, 2, 1).
  Value* rows(Value* x) {
    const int64_t k = x->shape[1];
    Value* flat = op("Reshape", {x, ints({1, k, 64})}, {1, k, 64});
    return op("Transpose", {flat}, {1, 64, k}, {{"perm", std::vector<int64_t>{0, 2, 1}}});
  }
};

TEST(BoxEncoding, YoloxRawHeadIsRaw) {
  // YOLOX: Concat(reg_conv, Sigmoid(obj_conv), Sigmoid(cls_conv)) on channels, then flatten + transpose.
  Head h;
  Value* obj = h.op("Sigmoid", {h.conv(1)}, {1, 1, 8, 8});
  Value* cls = h.op("Sigmoid", {h.conv(2)}, {1, 2, 8, 8});
  Value* cat = h.op("Concat", {h.conv(4), obj, cls}, {1, 7, 8, 8}, {{"axis", int64_t{1}}});
  h.output(h.rows(cat));
  EXPECT_EQ(box_encoding(h.graph()), BoxEncoding::kRaw);
}

TEST(BoxEncoding, Yolov6DecodedHeadIsDecoded) {
  // YOLOv6: boxes = (anchor +- distance) * stride, a constant ones column, Sigmoid(cls), concat on the last
  // axis.
  Head h;
  Value* dist = h.rows(h.conv(4));
  Value* xy = h.op("Add", {dist, h.constant({1, 64, 4})}, {1, 64, 4});
  Value* boxes = h.op("Mul", {xy, h.constant({1, 64, 1})}, {1, 64, 4});
  Value* cls = h.rows(h.op("Sigmoid", {h.conv(2)}, {1, 2, 8, 8}));
  h.output(h.op("Concat", {boxes, h.constant({1, 64, 1}), cls}, {1, 64, 7}, {{"axis", int64_t{-1}}}));
  EXPECT_EQ(box_encoding(h.graph()), BoxEncoding::kDecoded);
}

TEST(BoxEncoding, Yolov5SplitDecodeIsDecoded) {
  // YOLOv5: sigmoid everything, split (2, 2, 3), xy = (xy*2 + grid)*stride, wh = (wh*2)^2*anchor, concat.
  Head h;
  Value* y = h.op("Sigmoid", {h.rows(h.conv(7))}, {1, 64, 7});
  auto parts =
      h.ops("Split", {y, h.ints({2, 2, 3})}, {{1, 64, 2}, {1, 64, 2}, {1, 64, 3}}, {{"axis", int64_t{2}}});
  Value* xy =
      h.op("Mul", {h.op("Add", {parts[0], h.constant({1, 64, 2})}, {1, 64, 2}), h.constant({1})}, {1, 64, 2});
  Value* wh =
      h.op("Mul", {h.op("Pow", {parts[1], h.constant({1})}, {1, 64, 2}), h.constant({1, 64, 2})}, {1, 64, 2});
  h.output(h.op("Concat", {xy, wh, parts[2]}, {1, 64, 7}, {{"axis", int64_t{2}}}));
  EXPECT_EQ(box_encoding(h.graph()), BoxEncoding::kDecoded);
}

TEST(BoxEncoding, OnlyTheBoxColumnsCount) {
  // Decoded boxes next to raw conv class logits: the Conv feeds columns 4.., not the boxes.
  {
    Head h;
    Value* boxes = h.op("Mul", {h.rows(h.conv(4)), h.constant({1})}, {1, 64, 4});
    h.output(h.op("Concat", {boxes, h.rows(h.conv(3))}, {1, 64, 7}, {{"axis", int64_t{2}}}));
    EXPECT_EQ(box_encoding(h.graph()), BoxEncoding::kDecoded);
  }
  // And the other way round: raw boxes next to arithmetic on the scores.
  {
    Head h;
    Value* scores = h.op("Mul", {h.rows(h.conv(3)), h.constant({1})}, {1, 64, 3});
    h.output(h.op("Concat", {h.rows(h.conv(4)), scores}, {1, 64, 7}, {{"axis", int64_t{2}}}));
    EXPECT_EQ(box_encoding(h.graph()), BoxEncoding::kRaw);
  }
}

TEST(BoxEncoding, SliceOffsetsTheColumns) {
  // Columns 4..7 of Concat(decoded[4], raw[4]) are the raw ones.
  Head h;
  Value* decoded = h.op("Exp", {h.rows(h.conv(4))}, {1, 64, 4});
  Value* cat = h.op("Concat", {decoded, h.rows(h.conv(4))}, {1, 64, 8}, {{"axis", int64_t{2}}});
  h.output(h.op("Slice", {cat, h.ints({4}), h.ints({8}), h.ints({2})}, {1, 64, 4}));
  EXPECT_EQ(box_encoding(h.graph()), BoxEncoding::kRaw);
}

TEST(BoxEncoding, MixedOrNothingIsUnknown) {
  {
    // x y straight from a conv, w h through Exp: neither reading holds.
    Head h;
    Value* reg = h.rows(h.conv(4));
    auto parts = h.ops("Split", {reg, h.ints({2, 2})}, {{1, 64, 2}, {1, 64, 2}}, {{"axis", int64_t{2}}});
    Value* wh = h.op("Exp", {parts[1]}, {1, 64, 2});
    h.output(h.op("Concat", {parts[0], wh, h.rows(h.conv(3))}, {1, 64, 7}, {{"axis", int64_t{2}}}));
    EXPECT_EQ(box_encoding(h.graph()), BoxEncoding::kUnknown);
  }
  {
    // Boxes out of a Sigmoid only: no regression, no arithmetic.
    Head h;
    h.output(h.op("Sigmoid", {h.rows(h.conv(7))}, {1, 64, 7}));
    EXPECT_EQ(box_encoding(h.graph()), BoxEncoding::kUnknown);
    EXPECT_EQ(box_encoding(h.graph(), 1), BoxEncoding::kUnknown);  // no such output
  }
}

TEST(BoxEncoding, BoxAxisOfAChannelsFirstHeadAndABoxesOutput) {
  // YOLOv8-like [1, 4+C, A]: boxes are channels 0..3 of axis 1.
  Head h;
  Value* boxes = h.op("Mul", {h.op("Reshape", {h.conv(4), h.ints({1, 4, 64})}, {1, 4, 64}), h.constant({1})},
                      {1, 4, 64});
  Value* cls = h.op("Reshape", {h.conv(2), h.ints({1, 2, 64})}, {1, 2, 64});
  h.output(h.op("Concat", {boxes, cls}, {1, 6, 64}, {{"axis", int64_t{1}}}));
  h.output(h.rows(h.conv(4)));  // a raw [1, 64, 4] second output
  EXPECT_EQ(box_encoding(h.graph(), 0, 1), BoxEncoding::kDecoded);
  EXPECT_EQ(box_encoding(h.graph(), 1), BoxEncoding::kRaw);
}

// The test models: yolox_nano exports raw regression, yolov5n decodes in the graph.
TEST(BoxEncoding, TestModels) {
  const std::filesystem::path models = std::filesystem::path(PARTQ_SHARED_DIR) / "models";
  if (!std::filesystem::exists(models / "yolox_nano.onnx") ||
      !std::filesystem::exists(models / "yolov5n.onnx"))
    GTEST_SKIP() << "test models not found under " << models;
  const auto yolox = load_model((models / "yolox_nano.onnx").string());
  EXPECT_EQ(box_encoding(*yolox), BoxEncoding::kRaw);
  EXPECT_EQ(recognise_preset(model_signature(*yolox)), "yolox");
  const auto yolov5 = load_model((models / "yolov5n.onnx").string());
  EXPECT_EQ(box_encoding(*yolov5), BoxEncoding::kDecoded);
  EXPECT_EQ(recognise_preset(model_signature(*yolov5)), "yolov5");
}

}  // namespace
}  // namespace partq
