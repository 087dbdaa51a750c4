// A YOLOX-style decoupled head: per level, box / object / class convs -> Concat on channels (NHWC) ->
// Reshape [N,C,HW]; the levels are concatenated on HW and transposed to [N,HW,C]. Fused, one step copies each
// level's NHWC bytes to its rows of the output (the plain twins, the levels' Concat and the Transpose pass
// are dropped); the outputs must be the same bits as the unfused engine's.
#include <partq/error.hpp>

#include "test_graphs.hpp"

namespace partq::test {
namespace {

constexpr int64_t kIn = 8, kH = 20, kW = 12, kBoxes = 4, kClasses = 5, kC = kBoxes + 1 + kClasses;

struct DecoupledHead {
  GraphBuilder gb;
  Value* levels_concat = nullptr;

  // Level 0 at the input's resolution, level 1 at half of it (3x3 stride-2 convs), level 2 a quarter.
  DecoupledHead(int64_t n, bool levels_concat_is_output = false) {
    Value* x = gb.input("x", {n, kIn, kH, kW});
    std::vector<Value*> flat;
    Value* feature = x;
    for (int l = 0; l < 3; ++l) {
      const std::string p = "l" + std::to_string(l) + "_";
      if (l > 0) {
        Tensor w = random_tensor({kIn, kIn, 3, 3}, 90 + l, -0.3f, 0.3f);
        feature = gb.op(
            "Conv", {feature, gb.constant(p + "dw", w), gb.constant(p + "db", random_tensor({kIn}, 95 + l))},
            conv_attrs(ConvParams{.strides = {2, 2}, .pads = {1, 1, 1, 1}}, w.shape), p + "down");
      }
      auto conv = [&](const std::string& what, int64_t oc, uint64_t seed) {
        Tensor w = random_tensor({oc, kIn, 1, 1}, seed);
        return gb.op("Conv",
                     {feature, gb.constant(p + what + "_w", w),
                      gb.constant(p + what + "_b", random_tensor({oc}, seed + 1))},
                     conv_attrs({}, w.shape), p + what);
      };
      Value* reg = conv("reg", kBoxes, 10 * l + 1);
      Value* obj = gb.op("Sigmoid", {conv("obj", 1, 10 * l + 3)}, {}, p + "obj_sigmoid");
      Value* cls = gb.op("Sigmoid", {conv("cls", kClasses, 10 * l + 5)}, {}, p + "cls_sigmoid");
      Value* cat = gb.op("Concat", {reg, obj, cls}, {{"axis", int64_t{1}}}, p + "concat");
      flat.push_back(gb.op("Reshape", {cat, gb.ints(p + "shape", {n, kC, -1})}, {}, p + "flat"));
    }
    levels_concat = gb.op("Concat", flat, {{"axis", int64_t{2}}}, "levels_concat");
    gb.output(gb.op("Transpose", {levels_concat}, {{"perm", std::vector<int64_t>{0, 2, 1}}}, "to_rows"));
    if (levels_concat_is_output) gb.output(levels_concat);
  }
};

bool has(const std::string& text, const std::string& what) {
  return text.find(what) != std::string::npos;
}

TEST(LevelGather, EachLevelIsCopiedOnceFromItsNhwcBytesWithTheSameBits) {
  for (int64_t batch : {1, 3}) {
    DecoupledHead head(batch);
    const Tensor x = random_tensor({batch, kIn, kH, kW}, 7);
    auto fused = Engine::create(head.gb.graph(), {.fuse = true});
    const std::string d = fused->describe();
    EXPECT_TRUE(has(d, "gather_nhwc_levels")) << d;
    EXPECT_FALSE(has(d, "levels_concat")) << d;
    EXPECT_EQ(d.find("Reorder"), d.rfind("Reorder")) << d;  // the input's, and no level's plain twin
    EXPECT_TRUE(has(Engine::create(head.gb.graph(), {.fuse = false})->describe(), "levels_concat"));
    const auto a = fused->run({x});
    const int64_t rows = kH * kW + (kH / 2) * (kW / 2) + (kH / 4) * (kW / 4);
    ASSERT_EQ(a[0].shape, (Shape{batch, rows, kC}));
    expect_same_bits_as_unfused(head.gb.graph(), {x}, a);
    // The levels' Concat output is no longer observable.
    EXPECT_THROW(fused->set_tap(head.levels_concat->name, [](const std::string&, const Tensor&) {}), Error);
  }
}

TEST(LevelGather, ConcatThatIsAlsoAGraphOutputKeepsItsOwnStep) {
  DecoupledHead head(2, true);
  const Tensor x = random_tensor({2, kIn, kH, kW}, 8);
  auto fused = Engine::create(head.gb.graph(), {.fuse = true});
  const std::string d = fused->describe();
  EXPECT_FALSE(has(d, "gather_nhwc_levels")) << d;
  const auto a = fused->run({x});
  ASSERT_EQ(a.size(), 2u);
  expect_same_bits_as_unfused(head.gb.graph(), {x}, a);
}

}  // namespace
}  // namespace partq::test
