// Small ONNX models written in a test, run in ONNX Runtime through tools/ort/ort.js, and compared with
// partq's outputs element by element.
#pragma once

#include <gtest/gtest.h>
#include <partq/ir.hpp>
#include <partq/util/npy.hpp>

#include <fmt/format.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace partq::test {

// A fresh directory under the temp dir, removed with the object.
class ScratchDir {
 public:
  explicit ScratchDir(const std::string& prefix)
      : path_(std::filesystem::temp_directory_path() / fmt::format("{}_{}", prefix, ::getpid())) {
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() { std::filesystem::remove_all(path_); }
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  // Writes `bytes` (a serialized ModelProto) to `name` and returns its path.
  std::string write(const std::string& name, const std::string& bytes) const {
    std::ofstream(file(name), std::ios::binary) << bytes;
    return file(name);
  }

 private:
  std::filesystem::path path_;
};

// ONNX Runtime's outputs of `model` on `inputs` (bound to the model's inputs in order), `count` of them; an
// empty vector, with a test failure, when ONNX Runtime is not installed or fails.
inline std::vector<Tensor> onnx_runtime_outputs(const ScratchDir& dir, const std::string& model,
                                                const std::vector<Tensor>& inputs, size_t count) {
  if (!std::filesystem::exists(fmt::format("{}/tools/ort/node_modules/onnxruntime-node", PARTQ_SOURCE_DIR))) {
    ADD_FAILURE() << "onnxruntime-node is not installed: run scripts/install-deps.sh";
    return {};
  }
  std::string input_flags;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const std::string file = dir.file(fmt::format("x{}.npy", i));
    write_npy(file, inputs[i]);
    input_flags += fmt::format(" --input \"{}\"", file);
  }
  const std::string command =
      fmt::format("\"{}\" \"{}/tools/ort/ort.js\" run \"{}\"{} --output \"{}\" --threads 1", PARTQ_NODE,
                  PARTQ_SOURCE_DIR, model, input_flags, dir.file("ort"));
  if (std::system(command.c_str()) != 0) {
    ADD_FAILURE() << command;
    return {};
  }
  std::vector<Tensor> out;
  for (size_t k = 0; k < count; ++k)
    out.push_back(read_npy(dir.file(fmt::format("ort.{}.npy", k))));
  return out;
}

// The same for a model whose one input is `input`.
inline std::vector<Tensor> onnx_runtime_outputs(const ScratchDir& dir, const std::string& model,
                                                const Tensor& input, size_t count) {
  return onnx_runtime_outputs(dir, model, std::vector<Tensor>{input}, count);
}

// Every element of every output within `tol` + `tol`·|theirs|.
inline void expect_outputs_near(const std::vector<Tensor>& ours, const std::vector<Tensor>& theirs,
                                double tol) {
  ASSERT_EQ(ours.size(), theirs.size());
  for (size_t k = 0; k < ours.size(); ++k) {
    ASSERT_EQ(ours[k].shape, theirs[k].shape) << "output " << k;
    auto a = ours[k].as<float>();
    auto b = theirs[k].as<float>();
    for (size_t i = 0; i < a.size(); ++i)
      ASSERT_LE(std::fabs(a[i] - b[i]), tol + tol * std::fabs(b[i])) << "output " << k << " element " << i;
  }
}

}  // namespace partq::test
