// The partq command as a user runs it: real models and images, and every kind of bad input the issue lists.
// Each bad input must give exit code 1 and one "partq: error: ..." line naming the culprit, never a crash.
#include <gtest/gtest.h>
#include <partq/detect.hpp>
#include <partq/ir.hpp>
#include <partq/onnx_io.hpp>
#include <partq/util/atomic_file.hpp>
#include <partq/util/json_file.hpp>
#include <partq/util/npy.hpp>

#include <fmt/format.h>
#include <onnx/onnx_pb.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <utility>
#include <vector>

namespace partq {
namespace {

namespace fs = std::filesystem;

struct CommandResult {
  int exit_code = -1;
  std::string out, err;
};

class CliTest : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           fmt::format("partq_cli_{}_{}", ::getpid(),
                       testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  CommandResult partq(const std::string& args) const {
    const std::string out = (dir_ / "stdout.txt").string(), err = (dir_ / "stderr.txt").string();
    const std::string command = fmt::format("\"{}\" {} >\"{}\" 2>\"{}\"", PARTQ_EXE, args, out, err);
    const int status = std::system(command.c_str());
    CommandResult result;
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    result.out = read_file(out);
    result.err = read_file(err);
    return result;
  }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  static std::string shared(const std::string& rel) { return fmt::format("{}/{}", PARTQ_SHARED_DIR, rel); }

  fs::path dir_;
};

const std::string kYolov5 = fmt::format("{}/models/yolov5n.onnx", PARTQ_SHARED_DIR);
const std::string kVal = fmt::format("{}/data/coco/images/val2017", PARTQ_SHARED_DIR);
const std::string kValJson =
    fmt::format("{}/data/coco/annotations/instances_val2017_subset.json", PARTQ_SHARED_DIR);

TEST_F(CliTest, EvalOnAFewImagesWritesTheCocoTableAndJson) {
  auto r = partq(fmt::format("eval {} --images {} --annotations {} --limit 8 --batch 2 --quiet --json {}",
                             kYolov5, kVal, kValJson, path("eval.json")));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ]"),
            std::string::npos);
  auto json = read_json_file(path("eval.json"));
  EXPECT_EQ(json["images"], 8);
  EXPECT_EQ(json["stats"].size(), 12u);
  // yolov5n reaches ~0.28 mAP on COCO; a broken preprocessing or decoder gives ~0 on any 8 images.
  EXPECT_GT(json["mAP50_95"].get<double>(), 0.1);
}

TEST_F(CliTest, ConvertInputSizeFixesOnlyDynamicImageDims) {
  // yolov5n is fixed at 640x640: asking for its own size is a no-op, another size is refused.
  auto same = partq(fmt::format("convert {} --input-size 640 -o {} --quiet", kYolov5, path("same.onnx")));
  EXPECT_EQ(same.exit_code, 0) << same.err;
  auto other = partq(fmt::format("convert {} --input-size 320x320 -o {}", kYolov5, path("other.onnx")));
  EXPECT_EQ(other.exit_code, 1);
  EXPECT_NE(other.err.find("fixed at 640x640"), std::string::npos) << other.err;
  EXPECT_FALSE(fs::exists(path("other.onnx")));
  auto bad = partq(fmt::format("convert {} --input-size 64a -o {}", kYolov5, path("bad.onnx")));
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("--input-size '64a'"), std::string::npos) << bad.err;
}

TEST_F(CliTest, MissingModelIsOneClearError) {
  auto r = partq(fmt::format("inspect {}", path("nope.onnx")));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("partq: error:"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("nope.onnx"), std::string::npos) << r.err;
}

// auto evaluates on --images only at its very end: a wrong path there, or wrong selection labels, must stop
// it before it calibrates (no output directory, no calibration file), not after minutes of work.
TEST_F(CliTest, AutoChecksItsLabelledImagesBeforeAnyWork) {
  const std::string calib = shared("data/coco/images/train2017");
  struct Case {
    std::string flags, named;
  } cases[] = {
      {fmt::format("--images {} --annotations {} --calib-images {}", path("no-such-dir"), kValJson, calib),
       "no-such-dir"},
      {fmt::format("--images {} --annotations {} --calib-images {}", kVal, path("no-such.json"), calib),
       "no-such.json"},
      {fmt::format("--images {} --annotations {} --calib-images {} --calib-annotations {}", kVal, kValJson,
                   calib, kValJson),
       "none of the 206 images"},
  };
  std::vector<Case> all(std::begin(cases), std::end(cases));
  // The options of the later stages (sensitivity, partial quantization) are checked up front too.
  const std::string sets =
      fmt::format("--images {} --annotations {} --calib-images {}", kVal, kValJson, calib);
  for (const auto& [flag, named] :
       {std::pair<std::string, std::string>{"--mode bogus", "unknown mode 'bogus'"},
        {"--metric bogus", "unknown metric 'bogus'"},
        {"--objective bogus", "unknown objective 'bogus'"},
        {"--max-drop -1", "--max-drop must be"},
        {"--max-float-fraction 2", "--max-float-fraction must be"},
        {"--bench-rounds 0", "--bench-rounds must be at least 1"}})
    all.push_back({sets + " " + flag, named});
  for (const Case& c : all) {
    const std::string out = path("auto-out");
    auto r = partq(fmt::format("auto {} {} --num-calib-images 8 -o {} --quiet", kYolov5, c.flags, out));
    EXPECT_EQ(r.exit_code, 1) << c.flags;
    EXPECT_NE(r.err.find("partq: error:"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(c.named), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(out)) << c.flags << ": work started before the check";
  }
}

// A destination that cannot be written fails the command at once with one line naming it: nothing is computed
// or printed first (eval used to print its table and then fail on --json; sensitivity to sweep, then fail).
TEST_F(CliTest, UnwritableOutputsFailBeforeTheWork) {
  write_file_atomic(path("a-file"), "x");
  fs::create_directories(path("a-dir"));
  const std::string nodir = path("no-such-dir"), image = shared("models/images/bus.jpg");
  struct Case {
    std::string args, named;
  } cases[] = {
      {fmt::format("calibrate {} --images {} --num-images 2 -o {}/m.calib.json", kYolov5, kVal, nodir),
       nodir},
      {fmt::format("calibrate {} --images {} --num-images 2 -o {} --trt-cache {}/m.cache", kYolov5, kVal,
                   path("c.json"), nodir),
       nodir},
      {fmt::format("eval {} --images {} --annotations {} --limit 2 --json {}/e.json", kYolov5, kVal, kValJson,
                   nodir),
       nodir},
      {fmt::format("sensitivity {} --calib {} --images {} --limit 2 -o {} --csv {}/s.csv", kYolov5,
                   path("c.json"), kVal, path("s.json"), nodir),
       nodir},
      {fmt::format("quantize {} --calib {} -o {}", kYolov5, path("c.json"), path("a-dir")), "a-dir"},
      {fmt::format("auto {} --images {} --annotations {} --calib-images {} -o {}/out", kYolov5, kVal,
                   kValJson, kVal, path("a-file")),
       "a-file"},
      {fmt::format("detect {} {} -o {}/out", kYolov5, image, path("a-file")), "a-file"},
  };
  for (const Case& c : cases) {
    auto r = partq(c.args);
    EXPECT_EQ(r.exit_code, 1) << c.args;
    EXPECT_EQ(r.err.rfind("partq: error: ", 0), 0u) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_NE(r.err.find(c.named), std::string::npos) << r.err;
    EXPECT_EQ(r.out, "") << c.args;
  }
  EXPECT_FALSE(fs::exists(path("c.json"))) << "calibrate wrote its file before checking --trt-cache";
}

// QAT's training options are checked before the model, the calibration and the images are read: one line
// (no "load images" progress line before it), whatever the other inputs hold.
TEST_F(CliTest, QatRefusesBadTrainingOptionsBeforeLoadingAnything) {
  for (const auto& [flags, named] :
       {std::pair<std::string, std::string>{"--optimizer bogus", "unknown optimizer 'bogus'"},
        {"--learn-scales --scale-lr 0", "--scale-lr must be positive"},
        {"--epochs 0", "--epochs must be at least 1"},
        {"--loss bogus", "unknown --loss 'bogus'"}}) {
    auto r = partq(fmt::format("qat {} --calib {} --images {} -o {} {}", kYolov5, path("not-read.calib.json"),
                               kVal, path("q.onnx"), flags));
    EXPECT_EQ(r.exit_code, 1) << flags;
    EXPECT_EQ(r.err.rfind("partq: error: ", 0), 0u) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_NE(r.err.find(named), std::string::npos) << r.err;
  }
}

// detect takes directories as well as files, and checks every input before it draws any.
TEST_F(CliTest, DetectTakesADirectoryAndChecksEveryImageFirst) {
  fs::create_directories(path("in"));
  fs::copy_file(shared("models/images/bus.jpg"), path("in/bus.jpg"));
  fs::copy_file(shared("models/images/dog.jpg"), path("in/dog.jpg"));
  auto r = partq(fmt::format("detect {} {} -o {} --quiet", kYolov5, path("in"), path("out")));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(fs::exists(path("out/bus.jpg")));
  EXPECT_TRUE(fs::exists(path("out/dog.jpg")));

  auto missing = partq(
      fmt::format("detect {} {} {} -o {}", kYolov5, path("in/bus.jpg"), path("in/nope.jpg"), path("out2")));
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("nope.jpg: no such image file"), std::string::npos) << missing.err;
  EXPECT_FALSE(fs::exists(path("out2"))) << "bus.jpg was drawn before the missing image was found";

  // The same file name twice (here: a file and the directory holding it) would draw over one drawing.
  auto twice = partq(fmt::format("detect {} {} {} -o {}", kYolov5, shared("models/images/bus.jpg"),
                                 path("in"), path("out3")));
  EXPECT_EQ(twice.exit_code, 1);
  EXPECT_NE(twice.err.find("would both be drawn to bus.jpg"), std::string::npos) << twice.err;
  EXPECT_FALSE(fs::exists(path("out3")));
}

// Every command that takes --preset lists every preset partq knows in its help.
TEST_F(CliTest, PresetHelpListsEveryPreset) {
  for (const char* command : {"eval", "detect", "calibrate", "sensitivity", "quantize", "qat", "auto"}) {
    const auto r = partq(fmt::format("{} --help", command));
    ASSERT_EQ(r.exit_code, 0) << command << ": " << r.err;
    const size_t at = r.out.find("--preset");
    ASSERT_NE(at, std::string::npos) << command;
    const std::string line = r.out.substr(at, r.out.find('\n', at) - at);
    for (const std::string& name : preset_names())
      EXPECT_TRUE(line.find(" " + name + ",") != std::string::npos ||
                  line.find(" " + name + " (") != std::string::npos)
          << command << " --help does not list " << name << ": " << line;
  }
}

TEST_F(CliTest, TruncatedModelIsOneClearError) {
  const std::string bytes = read_file(kYolov5);
  write_file_atomic(path("cut.onnx"), std::string_view(bytes).substr(0, bytes.size() / 3));
  auto r = partq(fmt::format("bench {} --runs 1 --warmup 0", path("cut.onnx")));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("cut.onnx"), std::string::npos) << r.err;
}

TEST_F(CliTest, UnsupportedOpNamesTheOpAndNode) {
  // ONNX's own node test for Det: a valid model whose op the engine does not implement.
  const std::string model = fmt::format("{}/test_det_2d/model.onnx", PARTQ_ONNX_TESTDATA_DIR);
  ASSERT_TRUE(fs::exists(model));
  auto r = partq(fmt::format("bench {} --runs 1 --warmup 0", model));
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("Det"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("partq: error:"), std::string::npos) << r.err;
  // inspect says so up front, and that a detector it can run has nothing missing.
  auto i = partq(fmt::format("inspect {} --json {}", model, path("det.json")));
  EXPECT_EQ(i.exit_code, 0) << i.err;
  EXPECT_NE(i.out.find("engine    cannot run Det (1 node)"), std::string::npos) << i.out;
  EXPECT_EQ(read_json_file(path("det.json"))["unsupported_ops"]["Det"].size(), 1u);
  auto y = partq(fmt::format("inspect {}", kYolov5));
  EXPECT_NE(y.out.find("engine    runs every op"), std::string::npos) << y.out;
}

TEST_F(CliTest, UnreadableImageIsSkippedWithAWarningAndCounted) {
  fs::create_directories(path("images"));
  fs::copy_file(fmt::format("{}/000000000139.jpg", kVal), path("images/000000000139.jpg"));
  write_file_atomic(path("images/000000000802.jpg"), "this is not a jpeg");  // listed second
  auto r = partq(fmt::format("eval {} --images {} --annotations {} --limit 2 --quiet --json {}", kYolov5,
                             path("images"), kValJson, path("eval.json")));
  // The annotations list 206 images: the 204 not in the directory are counted (not warned about one by one,
  // and not scored as misses), and of the two that are, the unreadable one is skipped with a warning.
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("warning: skipping"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("no such image file"), std::string::npos) << r.err;
  auto json = read_json_file(path("eval.json"));
  EXPECT_EQ(json["skipped_images"].get<int>(), 1);
  EXPECT_EQ(json["missing_images"].get<int>(), 204);
  EXPECT_EQ(json["images"].get<int>(), 1);
}

TEST_F(CliTest, AnnotationsThatDoNotParseAreOneClearError) {
  write_file_atomic(path("bad.json"), "{\"images\": [ {\"id\": 1, ");
  auto r =
      partq(fmt::format("eval {} --images {} --annotations {} --limit 1", kYolov5, kVal, path("bad.json")));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("bad.json"), std::string::npos) << r.err;
}

TEST_F(CliTest, OutputThatMatchesNoDecoderIsOneClearError) {
  // A valid image model whose output is a feature map, not detections.
  Graph g;
  g.opset = 13;
  Value* x = g.add_value("images", DType::kFloat32, {1, 3, 32, 32}, true);
  g.inputs.push_back(x);
  Tensor w(DType::kFloat32, {4, 3, 1, 1});
  Value* weight = g.add_initializer("w", w);
  Value* y = g.add_value("features", DType::kFloat32, {1, 4, 32, 32}, true);
  g.add_node("Conv", {x, weight}, {y}, "conv");
  g.outputs.push_back(y);
  save_onnx(g, path("features.onnx"));
  auto r = partq(fmt::format("eval {} --images {} --annotations {} --limit 1 --preset yolov5",
                             path("features.onnx"), kVal, kValJson));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("[1,4,32,32]"), std::string::npos) << r.err;
}

TEST_F(CliTest, RunWritesNpyOutputsAndRejectsWrongShapes) {
  write_npy(path("image.npy"), Tensor(DType::kFloat32, {1, 3, 640, 640}));
  auto ok = partq(fmt::format("run {} --input {} --output {}", kYolov5, path("image.npy"), path("out")));
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_EQ(read_npy(path("out.0.npy")).shape, (Shape{1, 25200, 85}));

  write_npy(path("small.npy"), Tensor(DType::kFloat32, {1, 3, 64, 64}));
  auto wrong = partq(fmt::format("run {} --input {} --output {}", kYolov5, path("small.npy"), path("bad")));
  EXPECT_EQ(wrong.exit_code, 1);
  EXPECT_NE(wrong.err.find("small.npy"), std::string::npos) << wrong.err;
  EXPECT_FALSE(fs::exists(path("bad.0.npy")));

  auto missing = partq(fmt::format("run {} --input {}", kYolov5, path("missing.npy")));
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("missing.npy"), std::string::npos) << missing.err;
}

TEST_F(CliTest, InspectListsQuantizableLayers) {
  auto r = partq(fmt::format("inspect {} --json {}", kYolov5, path("inspect.json")));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto json = read_json_file(path("inspect.json"));
  EXPECT_EQ(json["op_counts"]["Conv"], 60);
  EXPECT_EQ(json["quantizable_layers"].size(), 60u);
  EXPECT_EQ(json["params"], 1867405);
  // 4.5 GFLOPs per 640x640 image (ONEDNN-NOTES: 4.47 GFLOP for the 60 convs).
  EXPECT_NEAR(json["gflops"].get<double>(), 4.47, 0.05);
}

// A current exporter writes opset 18+ and IR 9+: inspect reads such a file and says which opset it was read
// as, and convert writes it at opset 17.
TEST_F(CliTest, ANewerOpsetIsInspectedAndConvertedToOpset17) {
  onnx::ModelProto model;
  ASSERT_TRUE(model.ParseFromString(read_file(kYolov5)));
  for (auto& imp : *model.mutable_opset_import())
    if (imp.domain().empty()) imp.set_version(20);
  model.set_ir_version(10);
  write_file_atomic(path("opset20.onnx"), model.SerializeAsString());
  auto r = partq(fmt::format("inspect {} --json {}", path("opset20.onnx"), path("inspect.json")));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("opset     20 (read through its opset-17 forms)"), std::string::npos) << r.out;
  auto json = read_json_file(path("inspect.json"));
  EXPECT_EQ(json["opset"], 20);
  EXPECT_EQ(json["read_as_opset"], 17);
  EXPECT_EQ(json["op_counts"]["Conv"], 60);

  // convert writes it in its opset-17 forms, for runtimes that stop there.
  auto converted = partq(fmt::format("convert {} -o {} --quiet", path("opset20.onnx"), path("opset17.onnx")));
  ASSERT_EQ(converted.exit_code, 0) << converted.err;
  auto c = partq(fmt::format("inspect {} --json {}", path("opset17.onnx"), path("converted.json")));
  ASSERT_EQ(c.exit_code, 0) << c.err;
  EXPECT_EQ(read_json_file(path("converted.json"))["opset"], 17);
  EXPECT_EQ(read_json_file(path("converted.json"))["op_counts"]["Conv"], 60);

  auto plain = partq(fmt::format("inspect {} --json {}", kYolov5, path("plain.json")));
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  EXPECT_TRUE(read_json_file(path("plain.json"))["read_as_opset"].is_null());
}

// An Ultralytics export with dynamic height and width records its export size (imgsz): inspect shows the
// model at that size, recognised, and eval runs it.
TEST_F(CliTest, DynamicSizeExportRunsAtTheSizeItRecords) {
  auto g = load_onnx(kYolov5);
  g->inputs[0]->shape = {1, 3, -1, -1};
  g->metadata["imgsz"] = "[640, 640]";
  save_onnx(*g, path("dynamic.onnx"));
  auto r = partq(fmt::format("inspect {} --json {}", path("dynamic.onnx"), path("inspect.json")));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto json = read_json_file(path("inspect.json"));
  EXPECT_EQ(json["inputs"][0]["shape"], nlohmann::json::array({1, 3, 640, 640}));
  EXPECT_EQ(json["preset"], "yolov5");
  auto e = partq(fmt::format("eval {} --images {} --annotations {} --limit 2 --quiet", path("dynamic.onnx"),
                             kVal, kValJson));
  EXPECT_EQ(e.exit_code, 0) << e.err;
}

}  // namespace
}  // namespace partq
