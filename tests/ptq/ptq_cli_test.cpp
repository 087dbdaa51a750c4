// `partq calibrate`, `partq quantize` and `partq inspect --quant` as a user runs them: flags, outputs, and
// one "partq: error: ..." line with exit code 1 for each bad input.
#include <gtest/gtest.h>
#include <partq/quant_calib_file.hpp>
#include <partq/util/atomic_file.hpp>
#include <partq/util/json_file.hpp>

#include <fmt/format.h>
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>

namespace partq {
namespace {

namespace fs = std::filesystem;

struct CommandResult {
  int exit_code = -1;
  std::string out, err;
};

const std::string kYolox = fmt::format("{}/models/yolox_nano.onnx", PARTQ_SHARED_DIR);
const std::string kYolov5 = fmt::format("{}/models/yolov5n.onnx", PARTQ_SHARED_DIR);
const std::string kTrain = fmt::format("{}/data/coco/images/train2017", PARTQ_SHARED_DIR);

// One `partq calibrate` + `partq quantize` of yolox_nano on 4 images, shared by the suite.
class PtqCliTest : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = fs::temp_directory_path() / fmt::format("partq_ptq_cli_{}", ::getpid());
    fs::create_directories(dir_);
    calibrate_ =
        partq(fmt::format("calibrate {} --images {} --num-images 4 --batch 2 --seed 7 --method max -o {} "
                          "--trt-cache {} --json {}",
                          kYolox, kTrain, path("y.calib.json"), path("y.cache"), path("calibrate.json")));
    quantize_ = partq(fmt::format("quantize {} --calib {} -o {} --json {}", kYolox, path("y.calib.json"),
                                  path("y.qdq.onnx"), path("quantize.json")));
  }
  static void TearDownTestSuite() { fs::remove_all(dir_); }

  static CommandResult partq(const std::string& args) {
    const std::string out = path("stdout.txt"), err = path("stderr.txt");
    const std::string command = fmt::format("\"{}\" {} >\"{}\" 2>\"{}\"", PARTQ_EXE, args, out, err);
    const int status = std::system(command.c_str());
    CommandResult result;
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    result.out = read_file(out);
    result.err = read_file(err);
    return result;
  }
  static std::string path(const std::string& name) { return (dir_ / name).string(); }

  static void expect_one_error_line(const CommandResult& r, const std::string& mentions) {
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_EQ(r.err.rfind("partq: error: ", 0), 0u) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_NE(r.err.find(mentions), std::string::npos) << r.err;
  }

  static fs::path dir_;
  static CommandResult calibrate_, quantize_;
};
fs::path PtqCliTest::dir_;
CommandResult PtqCliTest::calibrate_, PtqCliTest::quantize_;

TEST_F(PtqCliTest, CalibrateWritesTheFileTheCacheAndReportsObserverOverhead) {
  ASSERT_EQ(calibrate_.exit_code, 0) << calibrate_.err;
  EXPECT_NE(calibrate_.out.find("observer overhead: "), std::string::npos) << calibrate_.out;
  const CalibrationTable table = read_calibration(path("y.calib.json"));
  EXPECT_EQ(table.method, "max");
  EXPECT_EQ(table.num_images, 4);
  EXPECT_EQ(table.settings["seed"], 7);
  EXPECT_EQ(table.settings["batch"], 2);
  // --method max writes the running max: the same number as the max column of the one pass.
  for (const auto& [tensor, amax] : table.amax)
    EXPECT_EQ(amax, table.settings["amax_by_method"]["max"][tensor].get<float>()) << tensor;

  const std::string cache = read_file(path("y.cache"));
  EXPECT_EQ(cache.rfind("TRT-8601-MinMaxCalibration\n", 0), 0u) << cache.substr(0, 80);
  EXPECT_NE(cache.find("\ninput: "), std::string::npos);  // yolox_nano's Focus concat

  const auto json = read_json_file(path("calibrate.json"));
  EXPECT_EQ(json["images_used"], 4);
  EXPECT_EQ(json["images_available"], 343);
  EXPECT_EQ(json["tensors"].get<size_t>(), table.amax.size());
  EXPECT_TRUE(json.at("observer_overhead_percent").is_number());
}

TEST_F(PtqCliTest, QuantizeWritesAQdqModelThatInspectReadsBack) {
  ASSERT_EQ(quantize_.exit_code, 0) << quantize_.err;
  const auto json = read_json_file(path("quantize.json"));
  EXPECT_EQ(json["method"], "max");
  EXPECT_GT(json["int8_nodes"].get<int>(), 100);  // yolox_nano: 113 convs
  EXPECT_EQ(json["float_nodes"], 0);

  auto r = partq(fmt::format("inspect {} --quant --json {}", path("y.qdq.onnx"), path("inspect.json")));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("read from the model's Q/DQ nodes"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("engine    runs every op"), std::string::npos) << r.out;
  const auto inspect = read_json_file(path("inspect.json"));
  EXPECT_TRUE(inspect["quantization"]["from_qdq"].get<bool>());
  EXPECT_EQ(json["weights"], "8-bit");
  EXPECT_EQ(inspect["quantization"]["plan"]["weight_max_code"], 127);

  // The summary describes the network partq runs: the float model's layers and parameters (weights behind
  // DequantizeLinear counted once), every op runnable, and how many layers the Q/DQ make INT8.
  r = partq(fmt::format("inspect {} --json {}", kYolox, path("inspect_fp32.json")));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto fp32 = read_json_file(path("inspect_fp32.json"));
  EXPECT_TRUE(fp32["qdq"].is_null());
  EXPECT_EQ(inspect["params"], fp32["params"]);
  EXPECT_EQ(inspect["flops"], fp32["flops"]);
  EXPECT_EQ(inspect["quantizable_layers"].size(), fp32["quantizable_layers"].size());
  EXPECT_TRUE(inspect["unsupported_ops"].empty()) << inspect["unsupported_ops"].dump();
  EXPECT_EQ(inspect["qdq"]["int8_layers"], json["int8_nodes"]);
  EXPECT_GT(inspect["op_counts"]["DequantizeLinear"].get<int>(), 100);  // the file's own nodes
}

TEST_F(PtqCliTest, ReduceRangeIsSaidInTheOutputTheJsonAndWhatInspectReadsBack) {
  auto r = partq(fmt::format("quantize {} --calib {} --reduce-range -o {} --json {}", kYolox,
                             path("y.calib.json"), path("y7.qdq.onnx"), path("quantize7.json")));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("7-bit weights"), std::string::npos) << r.out;
  EXPECT_EQ(read_json_file(path("quantize7.json"))["weights"], "7-bit");
  r = partq(fmt::format("inspect {} --quant --json {}", path("y7.qdq.onnx"), path("inspect7.json")));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("7-bit weights"), std::string::npos) << r.out;
  EXPECT_EQ(read_json_file(path("inspect7.json"))["quantization"]["plan"]["weight_max_code"], 63);

  // QAT from the 7-bit model trains and exports 7-bit weights.
  r = partq(fmt::format("qat {} --from {} --images {} --num-images 4 --batch 2 --epochs 1 -o {} --json {}",
                        kYolox, path("y7.qdq.onnx"), kTrain, path("y7.qat.qdq.onnx"), path("qat7.json")));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(read_json_file(path("qat7.json"))["weights"], "7-bit");
  r = partq(fmt::format("inspect {} --quant --json {}", path("y7.qat.qdq.onnx"), path("qat7_inspect.json")));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(read_json_file(path("qat7_inspect.json"))["quantization"]["plan"]["weight_max_code"], 63);
}

TEST_F(PtqCliTest, BenchAndDetectRunTheQdqModelInInt8) {
  ASSERT_EQ(quantize_.exit_code, 0) << quantize_.err;
  auto r = partq(fmt::format("bench {} --runs 1 --warmup 0 --verbose", path("y.qdq.onnx")));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("int8"), std::string::npos) << r.out;  // the compiled steps name their precision

  r = partq(fmt::format("detect {} {}/models/images/bus.jpg -o {}", path("y.qdq.onnx"), PARTQ_SHARED_DIR,
                        path("detected")));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(fs::exists(dir_ / "detected" / "bus.jpg"));
}

TEST_F(PtqCliTest, KeepFirstConvFloatLeavesOneNodeFloat) {
  ASSERT_EQ(calibrate_.exit_code, 0) << calibrate_.err;
  auto r = partq(fmt::format("quantize {} --calib {} -o {} --keep-first-conv-float --json {}", kYolox,
                             path("y.calib.json"), path("first.qdq.onnx"), path("first.json")));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto first = read_json_file(path("first.json"));
  const auto full = read_json_file(path("quantize.json"));
  EXPECT_EQ(first["float_nodes"], 1);
  EXPECT_EQ(first["int8_nodes"].get<int>(), full["int8_nodes"].get<int>() - 1);
}

TEST_F(PtqCliTest, InspectQuantListsThePlanOfAnFp32Model) {
  auto r = partq(fmt::format("inspect {} --quant", kYolov5));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("quantization plan (partq's placement rules)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("/model.0/conv/Conv"), std::string::npos) << r.out;  // the first conv, int8
}

TEST_F(PtqCliTest, EmptyImageFolderIsOneErrorLine) {
  fs::create_directories(dir_ / "empty");
  expect_one_error_line(
      partq(fmt::format("calibrate {} --images {} -o {}", kYolox, path("empty"), path("e.calib.json"))),
      "no image files");
  EXPECT_FALSE(fs::exists(path("e.calib.json")));
}

TEST_F(PtqCliTest, CalibrationFileOfAnotherModelIsOneErrorLine) {
  ASSERT_EQ(calibrate_.exit_code, 0) << calibrate_.err;
  expect_one_error_line(
      partq(fmt::format("quantize {} --calib {} -o {}", kYolov5, path("y.calib.json"), path("w.onnx"))),
      "calibration file was made for another model");
}

TEST_F(PtqCliTest, BadFlagsAreOneErrorLine) {
  expect_one_error_line(
      partq(fmt::format("calibrate {} --images {} -o {} --method kl", kYolox, kTrain, path("m.calib.json"))),
      "kl");
  expect_one_error_line(partq(fmt::format("calibrate {} --images {} -o {} --percentile 101", kYolox, kTrain,
                                          path("m.calib.json"))),
                        "--percentile");
  expect_one_error_line(
      partq(fmt::format("calibrate {} --images {} -o {} --batch 0", kYolox, kTrain, path("m.calib.json"))),
      "--batch");
  expect_one_error_line(
      partq(fmt::format("quantize {} --calib {} -o {}", kYolox, path("missing.calib.json"), path("m.onnx"))),
      "missing.calib.json");
  ASSERT_EQ(quantize_.exit_code, 0) << quantize_.err;
  expect_one_error_line(partq(fmt::format("quantize {} --calib {} -o {}", path("y.qdq.onnx"),
                                          path("y.calib.json"), path("m.onnx"))),
                        "already quantized");
}

// partq qat from the suite's Q/DQ model: one short epoch on 4 images keeps the plan (same int8 count, read
// back by inspect from the written Q/DQ) and reports the losses.
TEST_F(PtqCliTest, QatTrainsFromAQdqModelAndKeepsItsPlan) {
  ASSERT_EQ(quantize_.exit_code, 0) << quantize_.err;
  auto r =
      partq(fmt::format("qat {} --from {} --images {} --num-images 4 --batch 2 --epochs 1 -o {} --json {}",
                        kYolox, path("y.qdq.onnx"), kTrain, path("y.qat.qdq.onnx"), path("qat.json")));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("distillation loss"), std::string::npos) << r.out;
  const auto json = read_json_file(path("qat.json"));
  EXPECT_EQ(json["loss"], "features");
  EXPECT_EQ(json["int8_nodes"], read_json_file(path("quantize.json"))["int8_nodes"]);
  EXPECT_EQ(json["training"]["images"], 4);
  EXPECT_EQ(json["training"]["steps"], 2);
  EXPECT_GT(json["training"]["initial_loss"].get<double>(), 0);

  r = partq(fmt::format("inspect {} --quant --json {}", path("y.qat.qdq.onnx"), path("qat_inspect.json")));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(read_json_file(path("qat_inspect.json"))["quantization"]["from_qdq"].get<bool>());
}

TEST_F(PtqCliTest, QatBadInputsAreOneErrorLine) {
  ASSERT_EQ(quantize_.exit_code, 0) << quantize_.err;
  const std::string out = path("bad.qat.onnx");
  expect_one_error_line(partq(fmt::format("qat {} --images {} -o {}", kYolox, kTrain, out)), "--from");
  expect_one_error_line(partq(fmt::format("qat {} --from {} --calib {} --images {} -o {}", kYolox,
                                          path("y.qdq.onnx"), path("y.calib.json"), kTrain, out)),
                        "exactly one");
  expect_one_error_line(partq(fmt::format("qat {} --from {} --images {} -o {}", path("y.qdq.onnx"),
                                          path("y.qdq.onnx"), kTrain, out)),
                        "already quantized");
  expect_one_error_line(partq(fmt::format("qat {} --from {} --images {} -o {}", kYolox, kYolox, kTrain, out)),
                        "has no QuantizeLinear");
  expect_one_error_line(
      partq(fmt::format("qat {} --from {} --images {} -o {}", kYolov5, path("y.qdq.onnx"), kTrain, out)),
      "y.qdq.onnx");
  expect_one_error_line(partq(fmt::format("qat {} --from {} --images {} -o {} --loss boxes", kYolox,
                                          path("y.qdq.onnx"), kTrain, out)),
                        "boxes");
  EXPECT_FALSE(fs::exists(out));
}

}  // namespace
}  // namespace partq
