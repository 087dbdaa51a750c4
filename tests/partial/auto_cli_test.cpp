// `partq auto` end to end as a user runs it, shrunk to a few images so it fits in CI: every promised file is
// written, the report names the chosen layers, and the summary's figures come from the eval files.
#include <partq/util/atomic_file.hpp>
#include <partq/util/json_file.hpp>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

namespace partq {
namespace {

namespace fs = std::filesystem;

int run(const std::string& args, const fs::path& dir) {
  const std::string command = fmt::format("\"{}\" {} >\"{}\" 2>\"{}\"", PARTQ_EXE, args,
                                          (dir / "stdout.txt").string(), (dir / "stderr.txt").string());
  const int status = std::system(command.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

TEST(AutoCliTest, WritesEveryArtefactAndAConsistentSummary) {
  const fs::path dir = fs::temp_directory_path() / fmt::format("partq_auto_{}", ::getpid());
  fs::create_directories(dir);
  const fs::path out = dir / "out";
  const int code =
      run(fmt::format("auto {0}/models/yolox_nano.onnx --images {0}/data/coco/images/val2017 --annotations "
                      "{0}/data/coco/annotations/instances_val2017_subset.json --calib-images "
                      "{0}/data/coco/images/train2017 --num-calib-images 4 --selection-images 4 "
                      "--sensitivity-images 2 --eval-limit 4 --bench-runs 1 --batch 2 --max-drop 0.3 --quiet "
                      "-o {1} --json {2}",
                      PARTQ_SHARED_DIR, out.string(), (dir / "auto.json").string()),
          dir);
  ASSERT_EQ(code, 0) << read_file((dir / "stderr.txt").string());
  for (const char* name :
       {"yolox_nano.calib.json", "yolox_nano.sensitivity.json", "yolox_nano.sensitivity.csv",
        "yolox_nano.int8.qdq.onnx", "yolox_nano.partial.qdq.onnx", "yolox_nano.partial.cache",
        "yolox_nano.partial.json", "eval-fp32.json", "eval-int8.json", "eval-partial.json",
        "bench-fp32-b1.json", "bench-partial-b8.json", "report.html", "auto.json"})
    EXPECT_TRUE(fs::exists(out / name)) << name;
  const nlohmann::json summary = read_json_file((dir / "auto.json").string());
  EXPECT_EQ(summary.at("format"), "partq.auto");
  ASSERT_EQ(summary.at("variants").size(), 3u);
  for (const auto& v : summary.at("variants")) {
    const nlohmann::json eval =
        read_json_file((out / ("eval-" + v.at("label").get<std::string>() + ".json")).string());
    EXPECT_DOUBLE_EQ(v.at("mAP50_95").get<double>(), eval.at("mAP50_95").get<double>());
  }
  const std::string html = read_file((out / "report.html").string());
  for (const auto& layer : summary.at("float_layers"))
    EXPECT_NE(html.find(layer.get<std::string>()), std::string::npos) << layer;
  EXPECT_NE(html.find("<svg"), std::string::npos);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace partq
