// insert_qdq: structure, ONNX round trip through the checker, read_qdq(insert_qdq(g)) == plan and scales.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "partq/error.hpp"
#include "partq/onnx_io.hpp"
#include "partq/quant.hpp"
#include "partq/quant_qdq.hpp"
#include "partq/quant_weights.hpp"
#include "quant_test_util.hpp"

namespace partq {
namespace {

int count_ops(const Graph& g, const std::string& op) {
  return static_cast<int>(
      std::count_if(g.nodes().begin(), g.nodes().end(), [&](const auto& n) { return n->op_type == op; }));
}

// x feeds two int8 convs; their outputs are concatenated (one scale group) into a third conv.
std::unique_ptr<Graph> branching_graph() {
  test::TinyGraph t;
  Value* x = t.input("x", 4);
  Value* a = t.silu("actA", t.conv("convA", x, 4));
  Value* b = t.silu("actB", t.conv("convB", x, 4));
  Value* cat = t.op("Concat", "concat", {a, b}, {1, 8, 4, 4});
  t.node("concat")->attrs["axis"] = int64_t{1};
  t.output(t.conv("convC", cat, 4));
  return t.take();
}

// Every tensor of the plan gets an amax; distinct values so that the group maximum is observable.
std::map<std::string, float> some_amax(const QuantPlan& plan) {
  std::map<std::string, float> amax;
  float v = 1.0f;
  for (const auto& a : plan.activations)
    amax[a.tensor] = (v += 0.75f);
  return amax;
}

// Group ids are dense in graph order, and the Q/DQ graph's node order can differ after its topological sort,
// so plans are compared by name: nodes, activations with their readers, and the partition into scale groups.
std::map<std::string, std::set<std::string>> group_partition(const QuantPlan& plan) {
  std::map<std::string, std::set<std::string>> out;
  for (const auto& g : plan.groups())
    for (const auto& t : g.tensors)
      out[t] = std::set<std::string>(g.tensors.begin(), g.tensors.end());
  return out;
}

void expect_same_plan(const QuantPlan& got, const QuantPlan& want) {
  ASSERT_EQ(got.nodes.size(), want.nodes.size());
  for (const auto& w : want.nodes) {
    SCOPED_TRACE(w.name);
    const QuantNode* g = got.find_node(w.name);
    ASSERT_NE(g, nullptr);
    EXPECT_EQ(g->data_input, w.data_input);
    EXPECT_EQ(g->weight, w.weight);
    EXPECT_EQ(g->weight_axis, w.weight_axis);
    EXPECT_EQ(g->precision, w.precision);
  }
  ASSERT_EQ(got.activations.size(), want.activations.size());
  for (const auto& w : want.activations) {
    const QuantActivation* g = got.find_activation(w.tensor);
    ASSERT_NE(g, nullptr) << w.tensor;
    EXPECT_EQ(std::set<std::string>(g->consumers.begin(), g->consumers.end()),
              std::set<std::string>(w.consumers.begin(), w.consumers.end()))
        << w.tensor;
  }
  EXPECT_EQ(group_partition(got), group_partition(want));
  EXPECT_EQ(std::set<std::string>(got.decode_nodes.begin(), got.decode_nodes.end()),
            std::set<std::string>(want.decode_nodes.begin(), want.decode_nodes.end()));
}

TEST(QdqExport, OnePairPerTensorAndPerChannelWeights) {
  const auto g = branching_graph();
  const QuantPlan plan = plan_quantization(*g);
  const auto amax = some_amax(plan);
  const auto q = insert_qdq(*g, plan, amax);

  // x, actA, actB, concat_out: 4 pairs; 3 weights: 3 more DequantizeLinear.
  EXPECT_EQ(count_ops(*q, "QuantizeLinear"), 4);
  EXPECT_EQ(count_ops(*q, "DequantizeLinear"), 7);
  const Value* x = q->find_value("x");
  ASSERT_EQ(x->consumers.size(), 1u);  // one Q for both convs
  EXPECT_EQ(x->consumers[0]->op_type, "QuantizeLinear");
  // The convs read the DQ output; the weight's DQ output keeps the weight's name and is no initializer.
  const Node* conv_a = q->find_node("convA");
  EXPECT_EQ(conv_a->inputs[0]->producer->op_type, "DequantizeLinear");
  EXPECT_EQ(conv_a->inputs[1]->name, "convA.weight");
  const Node* w_dq = conv_a->inputs[1]->producer;
  ASSERT_NE(w_dq, nullptr);
  EXPECT_EQ(w_dq->attr_int("axis", -1), 0);
  EXPECT_EQ(w_dq->inputs[0]->initializer->dtype, DType::kInt8);
  EXPECT_EQ(w_dq->inputs[1]->initializer->shape, (Shape{4}));
  EXPECT_EQ(conv_a->inputs[2]->name, "convA.bias");  // bias stays float
  // The group of actA, actB and concat_out shares the largest amax of the three.
  const float group_max = std::max({amax.at("actA/Mul_out"), amax.at("actB/Mul_out"), amax.at("concat_out")});
  for (const char* t : {"actA/Mul_out", "actB/Mul_out", "concat_out"}) {
    const Node* qn = q->find_value(t)->consumers[0];
    ASSERT_EQ(qn->op_type, "QuantizeLinear") << t;
    EXPECT_EQ(qn->inputs[1]->initializer->to_float()[0], group_max / 127.0f) << t;
    EXPECT_EQ(qn->inputs[2]->initializer->dtype, DType::kInt8);
  }
  // The original graph is untouched.
  EXPECT_EQ(count_ops(*g, "QuantizeLinear"), 0);
}

TEST(QdqExport, FloatNodesKeepFloatInputsAndWeights) {
  const auto g = branching_graph();
  const QuantPlan plan = plan_quantization(*g, {.overrides = {{"convC", Precision::kFloat32}}});
  const auto q = insert_qdq(*g, plan, some_amax(plan));
  const Node* conv_c = q->find_node("convC");
  EXPECT_EQ(conv_c->inputs[0]->producer->op_type, "Concat");
  EXPECT_TRUE(conv_c->inputs[1]->is_constant());
  EXPECT_EQ(conv_c->inputs[1]->initializer->dtype, DType::kFloat32);
  EXPECT_EQ(count_ops(*q, "QuantizeLinear"), 1);  // only x: nothing int8 reads the concat any more
}

TEST(QdqExport, MissingAmaxIsAnErrorNamingTheTensor) {
  const auto g = branching_graph();
  const QuantPlan plan = plan_quantization(*g);
  auto amax = some_amax(plan);
  amax.erase("concat_out");
  try {
    insert_qdq(*g, plan, amax);
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("concat_out"), std::string::npos) << e.what();
  }
}

TEST(QdqExport, SavedModelPassesTheCheckerAndReadsBack) {
  const auto g = branching_graph();
  const QuantPlan plan = plan_quantization(*g);
  const auto amax = some_amax(plan);
  const std::string path = test::temp_path("branching.qdq.onnx");
  save_onnx(*insert_qdq(*g, plan, amax), path);  // save_onnx runs the ONNX checker
  const auto loaded = load_onnx(path);           // and so does load_onnx
  EXPECT_GE(loaded->opset, 13);

  const QdqModel model = read_qdq(*loaded);
  EXPECT_FALSE(has_qdq(*model.graph));
  expect_same_plan(model.plan, plan);
  const auto shared = group_amax(plan, amax);
  for (const auto& a : plan.activations) {
    ASSERT_TRUE(model.activation_params.count(a.tensor)) << a.tensor;
    EXPECT_EQ(model.activation_params.at(a.tensor).scales, std::vector<float>{shared.at(a.tensor) / 127.0f});
    EXPECT_FALSE(model.activation_params.at(a.tensor).per_channel());
  }
  // Weights: the same per-channel scales insert_qdq computed, and values on the int8 grid.
  for (const char* w : {"convA.weight", "convB.weight", "convC.weight"}) {
    const QuantParams expected = weight_quant_params(*g->find_value(w)->initializer, 0);
    ASSERT_TRUE(model.weight_params.count(w)) << w;
    EXPECT_EQ(model.weight_params.at(w).scales, expected.scales) << w;
    const Value* back = model.graph->find_value(w);
    ASSERT_TRUE(back && back->is_constant()) << w;
    EXPECT_EQ(
        back->initializer->to_float(),
        dequantize_weight(quantize_weight(*g->find_value(w)->initializer, expected), expected).to_float());
  }
  // The float graph is the original graph again (same nodes and wiring).
  ASSERT_EQ(model.graph->nodes().size(), g->nodes().size());
  for (size_t i = 0; i < g->nodes().size(); ++i) {
    const Node& a = *g->nodes()[i];
    const Node* b = model.graph->find_node(a.name);
    ASSERT_NE(b, nullptr) << a.name;
    ASSERT_EQ(b->inputs.size(), a.inputs.size());
    for (size_t k = 0; k < a.inputs.size(); ++k)
      EXPECT_EQ(b->inputs[k]->name, a.inputs[k]->name);
  }
}

class QdqExportModels : public ::testing::TestWithParam<const char*> {};

TEST_P(QdqExportModels, RoundTripThroughOnnx) {
  const auto g = test::load_prepared(GetParam());
  const QuantPlan plan = plan_quantization(*g, {.keep_first_conv_float = true});
  const auto amax = some_amax(plan);
  const auto q = insert_qdq(*g, plan, amax);
  EXPECT_EQ(count_ops(*q, "QuantizeLinear"), static_cast<int>(plan.activations.size()));
  const std::string path = test::temp_path(std::string(GetParam()) + ".qdq.onnx");
  save_onnx(*q, path);
  const QdqModel model = read_qdq(*load_onnx(path));
  expect_same_plan(model.plan, plan);
  const auto shared = group_amax(plan, amax);
  for (const auto& a : plan.activations)
    EXPECT_EQ(model.activation_params.at(a.tensor).scales[0], shared.at(a.tensor) / 127.0f);
  EXPECT_EQ(static_cast<int>(model.weight_params.size()), plan.int8_node_count());
}

INSTANTIATE_TEST_SUITE_P(Models, QdqExportModels, ::testing::Values("yolov5n.onnx", "yolox_nano.onnx"),
                         [](const auto& info) {
                           const std::string s = info.param;
                           return s.substr(0, s.find('.'));
                         });

}  // namespace
}  // namespace partq
