// *.calib.json round trip and model checks; TensorRT calibration cache format.
#include <gtest/gtest.h>

#include "partq/error.hpp"
#include "partq/quant.hpp"
#include "partq/quant_calib_file.hpp"
#include "partq/util/atomic_file.hpp"
#include "quant_test_util.hpp"

namespace partq {
namespace {

std::unique_ptr<Graph> two_convs() {
  test::TinyGraph t;
  Value* a = t.op("Relu", "relu", {t.conv("convA", t.input("x", 4), 8)}, {1, 8, 4, 4});
  t.output(t.conv("convB", a, 8));
  return t.take();
}

CalibrationTable table_for(const Graph& g) {
  CalibrationTable t;
  t.method = "entropy";
  t.num_images = 512;
  t.model = "two_convs.onnx";
  t.model_fingerprint = model_fingerprint(g);
  t.settings = {{"seed", 7}, {"batch", 32}};
  t.amax = {{"x", 1.0f}, {"relu_out", 0.1f + 1e-7f}, {"convA_out", 3.14159274f}};
  return t;
}

TEST(CalibFile, RoundTripsExactly) {
  const auto g = two_convs();
  const CalibrationTable t = table_for(*g);
  const std::string path = test::temp_path("two.calib.json");
  write_calibration(path, t);
  const CalibrationTable back = read_calibration(path);
  EXPECT_EQ(back.method, "entropy");
  EXPECT_EQ(back.num_images, 512);
  EXPECT_EQ(back.partq_version, partq_version());
  EXPECT_EQ(back.model, "two_convs.onnx");
  EXPECT_EQ(back.model_fingerprint, t.model_fingerprint);
  EXPECT_EQ(back.settings, t.settings);
  EXPECT_EQ(back.amax, t.amax);  // float -> JSON -> float is exact
  EXPECT_EQ(check_calibration_matches(back, *g, path), "");
}

TEST(CalibFile, AnotherModelIsAnErrorNamingTheTensors) {
  const auto g = two_convs();
  CalibrationTable t = table_for(*g);
  t.model_fingerprint = "fnv1a64:0000000000000000";
  t.amax["/model.0/act/Mul_output_0"] = 2.0f;
  try {
    check_calibration_matches(t, *g, "yolov5n.calib.json");
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("yolov5n.calib.json"), std::string::npos) << m;
    EXPECT_NE(m.find("another model"), std::string::npos) << m;
    EXPECT_NE(m.find("/model.0/act/Mul_output_0"), std::string::npos) << m;
  }
  // Same tensor names, other weights: a warning, not an error.
  CalibrationTable same_names = table_for(*g);
  same_names.model_fingerprint = "fnv1a64:0000000000000000";
  EXPECT_NE(check_calibration_matches(same_names, *g, "c.json").find("fingerprint"), std::string::npos);
}

TEST(CalibFile, FingerprintSeesWeights) {
  const auto a = two_convs();
  auto b = two_convs();
  Value* w = b->find_value("convA.weight");
  Tensor changed = *w->initializer;
  changed.as<float>()[0] += 1.0f;
  w->initializer = std::make_shared<const Tensor>(changed);
  EXPECT_NE(model_fingerprint(*a), model_fingerprint(*b));
  EXPECT_EQ(model_fingerprint(*a), model_fingerprint(*two_convs()));
}

TEST(CalibFile, MalformedFilesAreErrors) {
  const auto g = two_convs();
  nlohmann::json j = to_json(table_for(*g));
  j["amax"]["x"] = -1.0;
  EXPECT_THROW(calibration_from_json(j, "neg.json"), Error);
  j["amax"]["x"] = nullptr;  // how a NaN amax would be written
  EXPECT_THROW(calibration_from_json(j, "nan.json"), Error);
  j = to_json(table_for(*g));
  j["format"] = "something.else";
  EXPECT_THROW(calibration_from_json(j, "fmt.json"), Error);
  j = to_json(table_for(*g));
  j.erase("method");
  EXPECT_THROW(calibration_from_json(j, "nomethod.json"), Error);
  EXPECT_THROW(read_calibration(test::temp_path("does_not_exist.json")), Error);
}

TEST(TrtCache, ScaleBitsAsBigEndianHex) {
  EXPECT_EQ(trt_scale_hex(1.0f), "3f800000");
  EXPECT_EQ(trt_scale_hex(0.5f), "3f000000");
  EXPECT_EQ(trt_scale_hex(2.0f), "40000000");
  EXPECT_EQ(trt_scale_hex(0.1f), "3dcccccd");
  EXPECT_EQ(trt_scale_hex(-1.0f), "bf800000");
}

TEST(TrtCache, HeaderAndOneLinePerTensor) {
  const std::map<std::string, float> amax = {{"images", 127.0f}, {"/model.0/act/Mul_output_0", 63.5f}};
  EXPECT_EQ(trt_calibration_cache(amax),
            "TRT-8601-EntropyCalibration2\n/model.0/act/Mul_output_0: 3f000000\nimages: 3f800000\n");
  EXPECT_EQ(trt_calibration_cache(amax, {.trt_version = "8510", .calibrator = TrtCalibrator::kMinMax})
                .substr(0, 23),
            "TRT-8510-MinMaxCalibrat");
  EXPECT_THROW(trt_calibration_cache({{"t", 0.0f}}), Error);
  const std::string path = test::temp_path("model.cache");
  write_trt_calibration_cache(path, amax);
  EXPECT_EQ(read_file(path), trt_calibration_cache(amax));
}

}  // namespace
}  // namespace partq
