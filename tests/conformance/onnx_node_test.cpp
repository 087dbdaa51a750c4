// ONNX's own operator conformance tests (Debian libonnx-testdata), one ctest per test directory listed in
// onnx_node_tests.txt. Each test loads model.onnx, feeds test_data_set_0/input_*.pb, and compares the
// engine's outputs with output_*.pb.
//
// Tolerance: rtol 1e-3, atol 1e-4 for floats. The references are computed by numpy in float32/float64 with
// exact libm functions, while oneDNN uses vectorised approximations (exp, tanh, logistic to a few ulp) and
// reorders sums in convolutions and matmuls; 1e-3 relative covers those, 1e-4 absolute covers values near 0.
// Integer outputs must match exactly.
//
// The engine specialises shapes at compile time, so inputs that are shape arguments (Reshape's shape, Slice's
// starts/ends, Resize's scales/sizes, Clip's bounds, Pad's pads, ...) are turned into initializers before
// compiling; that is how they appear in exported detectors.
#include <gtest/gtest.h>
#include <partq/engine.hpp>
#include <partq/error.hpp>
#include <partq/onnx_io.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

namespace partq {
namespace {

namespace fs = std::filesystem;

struct NodeTestCase {
  std::string dir;
  std::string skip_reason;  // non-empty: registered, but skipped with this reason
};

void PrintTo(const NodeTestCase& c, std::ostream* os) {
  *os << c.dir;
}

std::vector<NodeTestCase> read_list() {
  std::vector<NodeTestCase> out;
  std::ifstream in(std::string(PARTQ_SOURCE_DIR) + "/tests/conformance/onnx_node_tests.txt");
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    NodeTestCase c;
    auto skip = line.find(" skip:");
    c.dir = line.substr(0, line.find_first_of(" \t"));
    if (skip != std::string::npos) c.skip_reason = line.substr(skip + 6);
    out.push_back(c);
  }
  return out;
}

// (op type, input index) pairs whose values the engine needs at compile time.
bool is_compile_time_input(const std::string& op, size_t index) {
  static const std::map<std::string, std::set<size_t>> kArgs = {
      {"Reshape", {1}},
      {"Slice", {1, 2, 3, 4}},
      {"Split", {1}},
      {"Squeeze", {1}},
      {"Unsqueeze", {1}},
      {"Resize", {1, 2, 3}},
      {"Upsample", {1}},
      {"Clip", {1, 2}},
      {"Pad", {1, 2, 3}},
      {"Expand", {1}},
      {"Tile", {1}},
      {"TopK", {1}},
      {"ConstantOfShape", {0}},
      {"ReduceSum", {1}},
      {"ReduceMean", {1}},
      {"ReduceMax", {1}},
      {"ReduceMin", {1}},
      {"ReduceSumSquare", {1}},
      {"Dropout", {1, 2}},
      {"Gemm", {2}},
      // weights: initializers in every exported model
      {"Conv", {1, 2}},
      {"ConvTranspose", {1, 2}},
      {"BatchNormalization", {1, 2, 3, 4}}};
  auto it = kArgs.find(op);
  return it != kArgs.end() && it->second.count(index);
}

std::vector<fs::path> data_files(const fs::path& set, const std::string& prefix) {
  std::vector<fs::path> files;
  for (size_t i = 0;; ++i) {
    fs::path p = set / (prefix + std::to_string(i) + ".pb");
    if (!fs::exists(p)) break;
    files.push_back(p);
  }
  return files;
}

void expect_close(const Tensor& got, const Tensor& want, const std::string& what) {
  ASSERT_EQ(shape_numel(got.shape), shape_numel(want.shape)) << what;
  EXPECT_EQ(got.shape, want.shape) << what;
  if (want.dtype == DType::kFloat32 || want.dtype == DType::kFloat64) {
    std::vector<float> g = got.to_float(), w = want.to_float();
    size_t bad = 0, first = 0;
    for (size_t i = 0; i < w.size(); ++i) {
      bool ok = std::fabs(g[i] - w[i]) <= 1e-4f + 1e-3f * std::fabs(w[i]) ||
                (std::isnan(g[i]) && std::isnan(w[i])) || (std::isinf(w[i]) && g[i] == w[i]);
      if (!ok && bad++ == 0) first = i;
    }
    EXPECT_EQ(bad, 0u) << what << ": first mismatch at " << first << ": got " << g[first] << ", want "
                       << w[first];
  } else {
    EXPECT_EQ(got.to_int64(), want.to_int64()) << what;
  }
}

class OnnxNodeTest : public ::testing::TestWithParam<NodeTestCase> {};

TEST_P(OnnxNodeTest, MatchesReference) {
  const NodeTestCase& c = GetParam();
  if (!c.skip_reason.empty()) GTEST_SKIP() << c.skip_reason;
  const fs::path dir = fs::path(PARTQ_ONNX_TESTDATA_DIR) / c.dir;
  if (!fs::exists(dir / "model.onnx")) GTEST_SKIP() << "not in this libonnx-testdata: " << dir;
  auto graph = load_onnx((dir / "model.onnx").string());
  const fs::path set = dir / "test_data_set_0";
  std::vector<fs::path> in_files = data_files(set, "input_"), out_files = data_files(set, "output_");
  ASSERT_EQ(in_files.size(), graph->inputs.size());

  std::vector<Tensor> feeds;
  std::vector<Value*> runtime_inputs;
  for (size_t i = 0; i < in_files.size(); ++i) {
    Value* v = graph->inputs[i];
    Tensor t = load_tensor_pb(in_files[i].string());
    bool compile_time = false;
    for (Node* user : v->consumers)
      for (size_t k = 0; k < user->inputs.size(); ++k)
        compile_time = compile_time || (user->inputs[k] == v && is_compile_time_input(user->op_type, k));
    if (compile_time) {
      v->initializer = std::make_shared<Tensor>(std::move(t));
    } else {
      runtime_inputs.push_back(v);
      feeds.push_back(std::move(t));
    }
  }
  graph->inputs = runtime_inputs;

  std::unique_ptr<Engine> engine = Engine::create(*graph);
  std::vector<Tensor> outputs = engine->run(feeds);
  ASSERT_EQ(outputs.size(), out_files.size());
  for (size_t i = 0; i < outputs.size(); ++i)
    expect_close(outputs[i], load_tensor_pb(out_files[i].string()), c.dir + " output " + std::to_string(i));
}

INSTANTIATE_TEST_SUITE_P(Onnx, OnnxNodeTest, ::testing::ValuesIn(read_list()),
                         [](const ::testing::TestParamInfo<NodeTestCase>& info) { return info.param.dir; });

}  // namespace
}  // namespace partq
