// read_qdq on Q/DQ graphs built in code the way other tools write them, and the patterns it refuses.
#include <gtest/gtest.h>

#include "partq/error.hpp"
#include "partq/quant_qdq.hpp"
#include "quant_test_util.hpp"

namespace partq {
namespace {

// x -> Q -> DQ -> Conv(w) -> y, written by hand. The weight is either an int8 initializer with a per-channel
// DequantizeLinear, or (ONNX Runtime's "QDQ on float weights") a float initializer with Q -> DQ.
struct HandMade {
  Graph g;
  Value* x;
  Value* scale;
  Value* zp;

  HandMade() {
    g.opset = 13;
    x = g.add_value("x", DType::kFloat32, {1, 2, 2, 2});
    g.inputs.push_back(x);
    scale = g.add_initializer("x_scale", Tensor::scalar_float(0.5f));
    zp = g.add_initializer("x_zp", Tensor(DType::kInt8, {}));
  }
  Value* qdq(Value* in, Value* s, Value* z, const std::string& name) {
    Value* q = g.add_value(name + "_q", DType::kInt8, in->shape);
    Value* dq = g.add_value(name + "_dq", DType::kFloat32, in->shape);
    g.add_node("QuantizeLinear", {in, s, z}, {q}, name + "_Q");
    g.add_node("DequantizeLinear", {q, s, z}, {dq}, name + "_DQ");
    return dq;
  }
  Value* int8_weight() {
    Tensor q(DType::kInt8, {2, 2, 1, 1});
    auto v = q.as<int8_t>();
    v[0] = 127, v[1] = -3, v[2] = 10, v[3] = -128;
    Value* qw = g.add_initializer("w_q", q);
    Value* s = g.add_initializer("w_scale", Tensor::from_float({2}, std::vector<float>{0.5f, 0.25f}));
    Value* z = g.add_initializer("w_zp", Tensor(DType::kInt8, {2}));
    Value* w = g.add_value("w_dq", DType::kFloat32, {2, 2, 1, 1});
    g.add_node("DequantizeLinear", {qw, s, z}, {w}, "w_DQ")->attrs["axis"] = int64_t{0};
    return w;
  }
  void conv(Value* in, Value* w) {
    Value* y = g.add_value("y", DType::kFloat32, {1, 2, 2, 2});
    g.add_node("Conv", {in, w}, {y}, "conv");
    g.outputs.push_back(y);
  }
};

std::string error_of(const Graph& g) {
  try {
    read_qdq(g);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(QdqImport, Int8InitializerWeights) {
  HandMade m;
  m.conv(m.qdq(m.x, m.scale, m.zp, "x"), m.int8_weight());
  const QdqModel model = read_qdq(m.g);
  EXPECT_FALSE(has_qdq(*model.graph));
  ASSERT_EQ(model.plan.nodes.size(), 1u);
  EXPECT_EQ(model.plan.nodes[0].precision, Precision::kInt8);
  EXPECT_EQ(model.plan.nodes[0].data_input, "x");
  EXPECT_EQ(model.activation_params.at("x").scales, std::vector<float>{0.5f});
  EXPECT_EQ(model.weight_params.at("w_dq").scales, (std::vector<float>{0.5f, 0.25f}));
  EXPECT_EQ(model.weight_params.at("w_dq").axis, 0);
  // Dequantized: channel 0 (127, -3) * 0.5, channel 1 (10, -128) * 0.25.
  EXPECT_EQ(model.graph->find_value("w_dq")->initializer->to_float(),
            (std::vector<float>{63.5f, -1.5f, 2.5f, -32.0f}));
  EXPECT_EQ(model.graph->find_node("conv")->inputs[0]->name, "x");
}

TEST(QdqImport, QdqOnFloatWeights) {
  HandMade m;
  Value* w = m.g.add_initializer(
      "w", Tensor::from_float({2, 2, 1, 1}, std::vector<float>{1.0f, 0.3f, -2.0f, 0.26f}));
  Value* s = m.g.add_initializer("w_scale", Tensor::from_float({2}, std::vector<float>{0.5f, 0.25f}));
  Value* z = m.g.add_initializer("w_zp", Tensor(DType::kInt8, {2}));
  Value* wdq = m.qdq(w, s, z, "w");
  m.g.find_node("w_Q")->attrs["axis"] = int64_t{0};
  m.g.find_node("w_DQ")->attrs["axis"] = int64_t{0};
  m.conv(m.qdq(m.x, m.scale, m.zp, "x"), wdq);
  const QdqModel model = read_qdq(m.g);
  EXPECT_EQ(model.plan.nodes[0].precision, Precision::kInt8);
  EXPECT_EQ(model.weight_params.at("w_dq").scales, (std::vector<float>{0.5f, 0.25f}));
  // What ONNX Runtime computes: 1.0/0.5 = 2, 0.3/0.5 = 0.6 -> 1 -> 0.5; -2/0.25 = -8, 0.26/0.25 = 1.04 -> 1.
  EXPECT_EQ(model.graph->find_value("w_dq")->initializer->to_float(),
            (std::vector<float>{1.0f, 0.5f, -2.0f, 0.25f}));
}

TEST(QdqImport, OneQuantizeWithADequantizePerConsumer) {
  // ONNX Runtime's "dedicated Q/DQ pair" style: one QuantizeLinear, one DequantizeLinear per reader.
  HandMade m;
  Value* q = m.g.add_value("x_q", DType::kInt8, {1, 2, 2, 2});
  m.g.add_node("QuantizeLinear", {m.x, m.scale, m.zp}, {q}, "x_Q");
  Value* w = m.int8_weight();
  for (const char* name : {"convA", "convB"}) {
    Value* dq = m.g.add_value(std::string(name) + "_in", DType::kFloat32, {1, 2, 2, 2});
    m.g.add_node("DequantizeLinear", {q, m.scale, m.zp}, {dq}, std::string(name) + "_DQ");
    Value* y = m.g.add_value(std::string(name) + "_y", DType::kFloat32, {1, 2, 2, 2});
    m.g.add_node("Conv", {dq, w}, {y}, name);
    m.g.outputs.push_back(y);
  }
  const QdqModel model = read_qdq(m.g);
  EXPECT_EQ(model.plan.int8_node_count(), 2);
  ASSERT_EQ(model.plan.activations.size(), 1u);
  EXPECT_EQ(model.plan.activations[0].consumers, (std::vector<std::string>{"convA", "convB"}));
}

TEST(QdqImport, ActivationOnlyQuantizedLeavesNodeFloat) {
  HandMade m;
  Value* w = m.g.add_initializer("w", Tensor::from_float({2, 2, 1, 1}, std::vector<float>(4, 1.0f)));
  m.conv(m.qdq(m.x, m.scale, m.zp, "x"), w);
  const QdqModel model = read_qdq(m.g);
  EXPECT_EQ(model.plan.nodes[0].precision, Precision::kFloat32);
  EXPECT_EQ(model.plan.nodes[0].reason, "weight not quantized in the Q/DQ model");
}

TEST(QdqImport, NonZeroZeroPointIsAnError) {
  HandMade m;
  Tensor z(DType::kInt8, {});
  z.as<int8_t>()[0] = 3;
  m.conv(m.qdq(m.x, m.scale, m.g.add_initializer("zp3", z), "x"), m.int8_weight());
  const std::string e = error_of(m.g);
  EXPECT_NE(e.find("'x_Q'"), std::string::npos) << e;
  EXPECT_NE(e.find("zero point 3"), std::string::npos) << e;
}

TEST(QdqImport, Uint8ActivationKeepsItsZeroPoint) {
  HandMade m;
  Tensor z(DType::kUInt8, {});
  z.bytes[0] = std::byte{37};
  m.conv(m.qdq(m.x, m.scale, m.g.add_initializer("zp_u8", z), "x"), m.int8_weight());
  const QdqModel model = read_qdq(m.g);
  ASSERT_TRUE(model.activation_params.count("x"));
  EXPECT_EQ(model.activation_params.at("x").zero_points, std::vector<int64_t>{37});
  EXPECT_EQ(model.plan.nodes.at(0).precision, Precision::kInt8);
}

TEST(QdqImport, Uint8WeightIsAnError) {
  HandMade m;
  Value* w = m.g.add_initializer("w", Tensor::from_float({2, 2, 1, 1}, std::vector<float>{1, 2, 3, 4}));
  Value* s = m.g.add_initializer("w_scale", Tensor::scalar_float(0.1f));
  m.conv(m.qdq(m.x, m.scale, m.zp, "x"),
         m.qdq(w, s, m.g.add_initializer("w_zp", Tensor(DType::kUInt8, {})), "w"));
  const std::string e = error_of(m.g);
  EXPECT_NE(e.find("uint8"), std::string::npos) << e;
  EXPECT_NE(e.find("'w_Q'"), std::string::npos) << e;
}

TEST(QdqImport, PerChannelActivationIsAnError) {
  HandMade m;
  Value* s = m.g.add_initializer("x_scales", Tensor::from_float({2}, std::vector<float>{0.5f, 0.25f}));
  Value* z = m.g.add_initializer("x_zps", Tensor(DType::kInt8, {2}));
  m.conv(m.qdq(m.x, s, z, "x"), m.int8_weight());
  const std::string e = error_of(m.g);
  EXPECT_NE(e.find("per-channel quantization of activation 'x'"), std::string::npos) << e;
}

TEST(QdqImport, DequantizeWithoutQuantizeIsAnError) {
  HandMade m;
  Value* xi = m.g.add_value("x_int8", DType::kInt8, {1, 2, 2, 2});
  m.g.inputs.push_back(xi);
  Value* dq = m.g.add_value("x_dq", DType::kFloat32, {1, 2, 2, 2});
  m.g.add_node("DequantizeLinear", {xi, m.scale, m.zp}, {dq}, "lonely_DQ");
  m.conv(dq, m.int8_weight());
  const std::string e = error_of(m.g);
  EXPECT_NE(e.find("DequantizeLinear 'lonely_DQ'"), std::string::npos) << e;
}

TEST(QdqImport, QuantizeFeedingAnotherOpIsAnError) {
  HandMade m;
  Value* q = m.g.add_value("x_q", DType::kInt8, {1, 2, 2, 2});
  m.g.add_node("QuantizeLinear", {m.x, m.scale, m.zp}, {q}, "x_Q");
  Value* r = m.g.add_value("r", DType::kInt8, {1, 2, 2, 2});
  m.g.add_node("MaxPool", {q}, {r}, "int8_pool")->attrs["kernel_shape"] = std::vector<int64_t>{1, 1};
  m.g.outputs.push_back(r);
  const std::string e = error_of(m.g);
  EXPECT_NE(e.find("QuantizeLinear 'x_Q' feeds MaxPool 'int8_pool'"), std::string::npos) << e;
}

TEST(QdqImport, MismatchedPairScalesAreAnError) {
  HandMade m;
  Value* q = m.g.add_value("x_q", DType::kInt8, {1, 2, 2, 2});
  Value* dq = m.g.add_value("x_dq", DType::kFloat32, {1, 2, 2, 2});
  m.g.add_node("QuantizeLinear", {m.x, m.scale, m.zp}, {q}, "x_Q");
  m.g.add_node("DequantizeLinear", {q, m.g.add_initializer("other", Tensor::scalar_float(0.25f)), m.zp}, {dq},
               "x_DQ");
  m.conv(dq, m.int8_weight());
  const std::string e = error_of(m.g);
  EXPECT_NE(e.find("'x_Q' and DequantizeLinear 'x_DQ' use different scales"), std::string::npos) << e;
}

}  // namespace
}  // namespace partq
