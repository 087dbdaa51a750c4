// Placement on the two real detectors. The expected counts are derived by hand from the architectures (see
// the comments), not taken from the code under test.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <optional>

#include "partq/quant.hpp"
#include "quant_test_util.hpp"

namespace partq {
namespace {

std::map<std::string, int> decode_op_counts(const Graph& g, const QuantPlan& plan) {
  std::map<std::string, int> counts;
  for (const auto& name : plan.decode_nodes)
    ++counts[g.find_node(name)->op_type];
  return counts;
}

// Sizes of the scale groups that hold more than one tensor, sorted.
std::vector<size_t> shared_group_sizes(const QuantPlan& plan) {
  std::vector<size_t> sizes;
  for (const auto& g : plan.groups())
    if (g.tensors.size() > 1) sizes.push_back(g.tensors.size());
  std::sort(sizes.begin(), sizes.end());
  return sizes;
}

int tensors_read_by(const Graph& g, const QuantPlan& plan, const std::string& op_type) {
  int n = 0;
  for (const auto& a : plan.activations)
    for (const auto& c : a.consumers)
      n += g.find_node(c)->op_type == op_type;
  return n;
}

std::optional<ScaleGroup> group_with(const QuantPlan& plan, const std::string& tensor) {
  for (const auto& g : plan.groups())
    if (std::find(g.tensors.begin(), g.tensors.end(), tensor) != g.tensors.end()) return g;
  return std::nullopt;
}

TEST(PlacementModels, Yolov5n) {
  const auto g = test::load_prepared("yolov5n.onnx");
  const QuantPlan plan = plan_quantization(*g);

  // All 60 convs have constant weights and none lies after the head: all int8, the 3 Detect convs included.
  EXPECT_EQ(plan.nodes.size(), 60u);
  EXPECT_EQ(plan.int8_node_count(), 60);
  // Decode: per level Reshape, Transpose, Sigmoid, Split, xy = (s*2 - 0.5 + grid) * stride as Mul-Add-Mul,
  // wh = (s*2)^2 * anchor as Mul-Pow-Mul, Concat, Reshape (12 nodes, 4 of them Mul) x 3 levels + the final
  // Concat = 37; every one of them is in the Detect module /model.24/.
  EXPECT_EQ(plan.decode_nodes.size(), 37u);
  for (const auto& n : plan.decode_nodes)
    EXPECT_EQ(n.rfind("/model.24/", 0), 0u) << n;
  EXPECT_EQ(decode_op_counts(*g, plan), (std::map<std::string, int>{{"Add", 3},
                                                                    {"Concat", 4},
                                                                    {"Mul", 12},
                                                                    {"Pow", 3},
                                                                    {"Reshape", 6},
                                                                    {"Sigmoid", 3},
                                                                    {"Split", 3},
                                                                    {"Transpose", 3}}));
  // 7 residual bottlenecks in the backbone C3 blocks (1+2+3+1; the neck C3s have no shortcut): 14 Add inputs.
  EXPECT_EQ(tensors_read_by(*g, plan, "Add"), 14);
  // Quantized tensors: 50 distinct conv data inputs (60 convs; the cv1/cv2 pair of each of the 8 C3 blocks
  // shares one, and Detect m.0 / m.1 share theirs with the model.18 / model.21 convs), + 7 residual branch
  // outputs, + 16 C3 concat inputs (cv2 output and m-branch output of 8 blocks), + SPPF cv1 output and its 3
  // MaxPool outputs, + 2 Resize outputs and their 2 inputs, + the 2 PAN conv outputs concatenated = 83.
  EXPECT_EQ(plan.activations.size(), 83u);
  // Shared scales: 8 C3 concats (m-branch, cv2, concat output), SPPF (cv1 + 3 MaxPools + concat), and two
  // neck chains of 6 where a Resize, the FPN and PAN concats and a backbone feature meet. 83 - 41 = 42
  // singletons.
  EXPECT_EQ(shared_group_sizes(plan), (std::vector<size_t>{3, 3, 3, 3, 3, 3, 3, 3, 5, 6, 6}));
  EXPECT_EQ(plan.groups().size(), 53u);
  const auto sppf = group_with(plan, "/model.9/m/MaxPool_output_0");
  ASSERT_TRUE(sppf.has_value());
  EXPECT_EQ(sppf->nodes, (std::vector<std::string>{"/model.9/cv2/conv/Conv"}));
  // The Detect conv outputs go straight into the float decode: nothing reads them quantized.
  EXPECT_EQ(plan.find_activation("/model.24/m.0/Conv_output_0"), nullptr);

  const QuantPlan stem_float = plan_quantization(*g, {.keep_first_conv_float = true});
  EXPECT_EQ(stem_float.find_node("/model.0/conv/Conv")->precision, Precision::kFloat32);
  EXPECT_EQ(stem_float.int8_node_count(), 59);
  EXPECT_EQ(stem_float.find_activation("images"), nullptr);
}

TEST(PlacementModels, YoloxNano) {
  const auto g = test::load_prepared("yolox_nano.onnx");
  const QuantPlan plan = plan_quantization(*g);

  // 113 convs (30 depthwise), all with constant weights, none after the head outputs: all int8.
  EXPECT_EQ(plan.int8_node_count(), 113);
  // Decode (exported with decode_in_inference=False): per level obj and cls Sigmoid + the Concat of
  // reg/obj/cls (3 x 3), then 3 Reshapes, the final Concat and the Transpose = 14. The other 104 Sigmoids
  // are SiLU and are not decode.
  EXPECT_EQ(decode_op_counts(*g, plan),
            (std::map<std::string, int>{{"Concat", 4}, {"Reshape", 3}, {"Sigmoid", 6}, {"Transpose", 1}}));
  EXPECT_EQ(tensors_read_by(*g, plan, "Add"), 14);  // 7 residual Adds in the backbone CSP blocks
  // Shared scales: the Focus stem (4 Slice outputs + their Concat), 8 CSP concats of 3, SPP (input + 3
  // MaxPools + concat), two PAFPN chains of 6. 134 quantized tensors - 46 shared = 88 singletons -> 100
  // groups.
  EXPECT_EQ(shared_group_sizes(plan), (std::vector<size_t>{3, 3, 3, 3, 3, 3, 3, 3, 5, 5, 6, 6}));
  EXPECT_EQ(plan.activations.size(), 134u);
  EXPECT_EQ(plan.groups().size(), 100u);

  // With the stem float, its Focus group disappears (5 tensors) and the image is never quantized.
  const QuantPlan stem_float = plan_quantization(*g, {.keep_first_conv_float = true});
  EXPECT_EQ(stem_float.find_node("Conv_41")->precision, Precision::kFloat32);
  EXPECT_EQ(stem_float.activations.size(), 129u);
}

TEST(PlacementModels, LayersPartitionTheInt8Nodes) {
  const auto g = test::load_prepared("yolov5n.onnx");
  const auto layers = quant_layers(*g);
  size_t nodes = 0;
  for (const auto& l : layers)
    nodes += l.nodes.size();
  EXPECT_EQ(nodes, 60u);
  // Layers = int8 convs grouped by the scale of their data input. Merged: the cv1/cv2 pair of the 4 backbone
  // C3 blocks (4 layers of 2), Detect m.0 with model.18 and m.1 with model.21 (2 layers of 2), and the two
  // neck groups, each a backbone downsampling conv + the cv1/cv2 pairs of two neck C3 blocks (2 layers of 5):
  // 60 - (6 * 1 + 2 * 4) = 46.
  EXPECT_EQ(layers.size(), 46u);
}

}  // namespace
}  // namespace partq
