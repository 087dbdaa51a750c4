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

// `partq auto` on yolox_nano shrunk to 4 calibration / selection images, in a fresh folder under /tmp
// (`name`): OUTDIR is dir/out, the summary dir/auto.json; `flags` (the budget among them) are added to the
// command.
struct AutoRun {
  fs::path dir, out;
  int code = -1;
  AutoRun(const std::string& name, const std::string& flags)
      : dir(fs::temp_directory_path() / fmt::format("{}_{}", name, ::getpid())), out(dir / "out") {
    fs::create_directories(dir);
    code = run(fmt::format("auto {0}/models/yolox_nano.onnx --images {0}/data/coco/images/val2017 "
                           "--annotations {0}/data/coco/annotations/instances_val2017_subset.json "
                           "--calib-images {0}/data/coco/images/train2017 --num-calib-images 4 "
                           "--selection-images 4 --sensitivity-images 2 --bench-runs 1 --batch 2 "
                           "--quiet -o {1} --json {2} {3}",
                           PARTQ_SHARED_DIR, out.string(), (dir / "auto.json").string(), flags),
               dir);
  }
  ~AutoRun() { fs::remove_all(dir); }
  std::string stderr_text() const { return read_file((dir / "stderr.txt").string()); }
  nlohmann::json summary() const { return read_json_file((dir / "auto.json").string()); }
};

TEST(AutoCliTest, WritesEveryArtefactAndAConsistentSummary) {
  // A budget of 3 points: on 4 selection images one detection more or less moves mAP by about a point, and
  // the s8 kernels of a VNNI CPU and the f32 simulation of other CPUs land that far apart (symmetric with
  // Conv_44 float: 1.4 points below float on one, within 0.3 on the other). This test is about the files
  // and the order of the searches, so the budget is one that symmetric activations meet on every CPU.
  const AutoRun a("partq_auto", "--eval-limit 4 --max-drop 3");
  const fs::path& out = a.out;
  ASSERT_EQ(a.code, 0) << a.stderr_text();
  for (const char* name :
       {"yolox_nano.calib.json", "yolox_nano.sensitivity.json", "yolox_nano.sensitivity.csv",
        "yolox_nano.int8.qdq.onnx", "yolox_nano.partial.qdq.onnx", "yolox_nano.partial.cache",
        "yolox_nano.partial.json", "eval-fp32.json", "eval-int8.json", "eval-partial.json",
        "bench-fp32-b1.json", "bench-partial-b8.json", "report.html", "auto.json"})
    EXPECT_TRUE(fs::exists(out / name)) << name;
  const nlohmann::json summary = a.summary();
  EXPECT_EQ(summary.at("format"), "partq.auto");
  ASSERT_EQ(summary.at("variants").size(), 3u);
  for (const auto& v : summary.at("variants")) {
    const nlohmann::json eval =
        read_json_file((out / ("eval-" + v.at("label").get<std::string>() + ".json")).string());
    EXPECT_DOUBLE_EQ(v.at("mAP50_95").get<double>(), eval.at("mAP50_95").get<double>());
  }
  // Default --activations auto: symmetric met the budget, so it alone was searched.
  const nlohmann::json& searches = summary.at("activation_searches");
  ASSERT_EQ(searches.size(), 1u) << searches.dump();
  EXPECT_EQ(searches[0].at("activations"), "symmetric");
  EXPECT_TRUE(searches[0].at("budget_met").get<bool>());
  EXPECT_EQ(summary.at("activations"), "symmetric");
  EXPECT_FALSE(fs::exists(out / "asymmetric"));
  // Full INT8 is about 10 points below float on these images, so some layer stays float and the report
  // check below has names to look for.
  ASSERT_FALSE(summary.at("float_layers").empty());
  const std::string html = read_file((out / "report.html").string());
  for (const auto& layer : summary.at("float_layers"))
    EXPECT_NE(html.find(layer.get<std::string>()), std::string::npos) << layer;
  EXPECT_NE(html.find("<svg"), std::string::npos);
}

// No layer may stay float (--max-float-layers 0), so symmetric full INT8 misses the budget and the
// asymmetric search runs too: OUTDIR holds the files of the mode chosen (within budget, else the higher
// selection score), OUTDIR/<other mode> the other's.
TEST(AutoCliTest, SearchesAsymmetricActivationsTooWhenSymmetricMissesTheBudget) {
  const AutoRun a("partq_auto_modes",
                  "--eval-limit 2 --max-drop 0.3 --max-float-layers 0 --no-bias-correction");
  const fs::path& out = a.out;
  ASSERT_EQ(a.code, 0) << a.stderr_text();
  const nlohmann::json summary = a.summary();
  const nlohmann::json& searches = summary.at("activation_searches");
  ASSERT_EQ(searches.size(), 2u) << searches.dump();
  EXPECT_EQ(searches[0].at("activations"), "symmetric");
  EXPECT_FALSE(searches[0].at("budget_met").get<bool>());
  EXPECT_EQ(searches[1].at("activations"), "asymmetric");
  const std::string chosen = summary.at("activations").get<std::string>();
  const nlohmann::json& winner = searches[chosen == "symmetric" ? 0 : 1];
  const nlohmann::json& other = searches[chosen == "symmetric" ? 1 : 0];
  if (winner.at("budget_met") == other.at("budget_met"))
    EXPECT_GE(winner.at("selection_map").get<double>(), other.at("selection_map").get<double>());
  else
    EXPECT_TRUE(winner.at("budget_met").get<bool>());
  const std::string other_mode = other.at("activations").get<std::string>();
  EXPECT_EQ(read_json_file((out / "yolox_nano.partial.json").string()).at("activations"), chosen);
  EXPECT_EQ(read_json_file((out / other_mode / "yolox_nano.partial.json").string()).at("activations"),
            other_mode);
  for (const char* name : {"yolox_nano.sensitivity.json", "yolox_nano.partial.qdq.onnx"}) {
    EXPECT_TRUE(fs::exists(out / name)) << name;
    EXPECT_TRUE(fs::exists(out / other_mode / name)) << name;
  }
  EXPECT_FALSE(fs::exists(out / chosen));
}

}  // namespace
}  // namespace partq
