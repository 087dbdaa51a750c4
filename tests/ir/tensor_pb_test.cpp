// load_tensor_pb on the ONNX node-test data.
#include <gtest/gtest.h>

#include <cmath>

#include "partq/error.hpp"
#include "partq/onnx_io.hpp"

namespace partq {
namespace {

const std::string kRelu = std::string(PARTQ_ONNX_TESTDATA_DIR) + "/test_relu/test_data_set_0/";

TEST(TensorPb, ReluInputAndOutputAgree) {
  Tensor in = load_tensor_pb(kRelu + "input_0.pb");
  Tensor out = load_tensor_pb(kRelu + "output_0.pb");
  EXPECT_EQ(in.dtype, DType::kFloat32);
  EXPECT_EQ(in.shape, (Shape{3, 4, 5}));
  ASSERT_EQ(in.numel(), out.numel());
  // The expected output is relu(input): checks both files were decoded element by element correctly.
  auto x = in.as<float>();
  auto y = out.as<float>();
  int negatives = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    EXPECT_EQ(y[i], std::max(x[i], 0.0f));
    negatives += x[i] < 0;
  }
  EXPECT_GT(negatives, 0);
}

TEST(TensorPb, Int64AndBoolTensors) {
  // test_argmax_default_axis_example: output is int64; test_and2d: bool inputs.
  const std::string dir = PARTQ_ONNX_TESTDATA_DIR;
  Tensor argmax = load_tensor_pb(dir + "/test_argmax_default_axis_example/test_data_set_0/output_0.pb");
  EXPECT_EQ(argmax.dtype, DType::kInt64);
  EXPECT_EQ(argmax.to_int64(), (std::vector<int64_t>{1, 1}));
  Tensor b = load_tensor_pb(dir + "/test_and2d/test_data_set_0/input_0.pb");
  EXPECT_EQ(b.dtype, DType::kBool);
  EXPECT_EQ(b.shape, (Shape{3, 4}));
  for (int64_t v : b.to_int64())
    EXPECT_TRUE(v == 0 || v == 1);
}

TEST(TensorPb, MissingFileNamesThePath) {
  try {
    load_tensor_pb("/nonexistent/input_0.pb");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/input_0.pb"), std::string::npos);
  }
}

TEST(TensorPb, TypedFieldsAreRead) {
  // A TensorProto with float_data (field 4, packed) rather than raw_data: dims=[2] (field 1), data_type=1
  // (field 2), float_data = {1.5, -2}.
  const unsigned char bytes[] = {0x08, 0x02, 0x10, 0x01, 0x22, 0x08, 0x00,
                                 0x00, 0xc0, 0x3f, 0x00, 0x00, 0x00, 0xc0};
  Tensor t = parse_tensor_pb(std::string_view(reinterpret_cast<const char*>(bytes), sizeof(bytes)), "inline");
  EXPECT_EQ(t.shape, (Shape{2}));
  EXPECT_EQ(t.to_float(), (std::vector<float>{1.5f, -2.0f}));
}

}  // namespace
}  // namespace partq
